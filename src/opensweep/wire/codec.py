"""Sweep, Run and MetricRow <-> JSON-safe dicts, and the checks free-form JSON must pass.

Both sides use these functions: the server to answer, the HTTP client to read the answer back
into the same frozen records. Non-finite floats are tagged by :mod:`opensweep.core.encoding`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from opensweep.core.encoding import decode_value, encode_value
from opensweep.core.model import MetricRow, Run, RunState, Sweep, SweepState
from opensweep.errors import InvalidRequest
from opensweep.wire.models import MAX_INT64, LogRequest, MetricRowIn

MAX_JSON_DEPTH = 64


class _BadValue(Exception):
    """Raised inside the walk; collects the path while unwinding."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.path: list[str] = []


def _check_str(text: str) -> None:
    if "\x00" in text:
        raise _BadValue("text must not contain NUL characters")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise _BadValue("text must be valid unicode (no lone surrogates)") from None


def _walk(value: Any, depth: int) -> Any:
    """Check one JSON value and return it decoded (tagged non-finite floats -> floats)."""
    if isinstance(value, str):
        _check_str(value)
        return value
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        if not -MAX_INT64 - 1 <= value <= MAX_INT64:
            raise _BadValue("integers must fit in 64 bits")
        return value
    if depth >= MAX_JSON_DEPTH:
        raise _BadValue(f"nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, dict):
        if len(value) == 1 and "__float__" in value:
            return decode_value(value)
        out: dict[str, Any] = {}
        for key, item in value.items():
            try:
                _check_str(key)
                out[key] = _walk(item, depth + 1)
            except _BadValue as bad:
                bad.path.append(str(key))
                raise
        return out
    if isinstance(value, list):
        items: list[Any] = []
        for index, item in enumerate(value):
            try:
                items.append(_walk(item, depth + 1))
            except _BadValue as bad:
                bad.path.append(f"[{index}]")
                raise
        return items
    raise _BadValue(f"unsupported JSON value of type {type(value).__name__}")


def _join(where: str, parts: list[str]) -> str:
    path = where
    for part in reversed(parts):
        path += part if part.startswith("[") else f".{part}"
    return path


def _plain_flat(values: dict[str, Any]) -> bool:
    """True for the common logged row: a flat dict of numbers and short clean strings.

    Such a dict needs no decoding (no nested tags) and passes every check, so the full walk is
    skipped; anything else (nesting, odd text, huge ints) takes the careful path.
    """
    for key, value in values.items():
        kind = type(value)
        if kind is float or kind is bool or value is None:
            pass
        elif kind is int:
            if not -MAX_INT64 - 1 <= value <= MAX_INT64:
                return False
        elif kind is str:
            if "\x00" in value or not value.isascii():
                return False
        else:
            return False
        if type(key) is not str or "\x00" in key or not key.isascii():
            return False
    return True


def check_json(value: Any, where: str) -> Any:
    """Validate free-form JSON from a request and return it decoded.

    Raises :class:`InvalidRequest` naming the offending path, e.g. ``rows[3].values.loss``.
    """
    try:
        return _walk(value, 0)
    except _BadValue as bad:
        path = _join(where, bad.path)
        raise InvalidRequest(f"{path}: {bad.problem}", details={"field": path}) from None


def check_object(value: Mapping[str, Any] | None, where: str) -> dict[str, Any] | None:
    if value is None:
        return None
    checked: dict[str, Any] = check_json(dict(value), where)  # a dict in, a dict out
    return checked


# --- records -> wire --------------------------------------------------------------------------


def sweep_to_wire(sweep: Sweep) -> dict[str, Any]:
    return {
        "id": sweep.id,
        "name": sweep.name,
        "config": encode_value(sweep.config),
        "state": sweep.state.value,
        "seed": sweep.seed,
        "created_at": sweep.created_at,
        "updated_at": sweep.updated_at,
        "project": sweep.project,
        "entity": sweep.entity,
    }


_RUN_PLAIN_FIELDS = (
    "id",
    "name",
    "created_at",
    "sweep_id",
    "updated_at",
    "project",
    "entity",
    "agent_id",
    "heartbeat_at",
    "finished_at",
    "exit_code",
    "stop_reason",
    "error",
    "notes",
    "last_seq",
    "seed",
)


def run_to_wire(run: Run) -> dict[str, Any]:
    out: dict[str, Any] = {name: getattr(run, name) for name in _RUN_PLAIN_FIELDS}
    out["state"] = run.state.value
    out["config"] = encode_value(run.config)
    out["summary"] = encode_value(run.summary)
    return out


def row_to_wire(row: MetricRow) -> dict[str, Any]:
    time = row.time if row.time is None or math.isfinite(row.time) else None
    return {"step": row.step, "values": encode_value(row.values), "time": time}


# --- wire -> records (the HTTP client reads answers; raises KeyError/ValueError on junk) ------


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def sweep_from_wire(data: Mapping[str, Any]) -> Sweep:
    return Sweep(
        id=str(data["id"]),
        name=str(data["name"]),
        config=decode_value(data["config"]),
        state=SweepState(data["state"]),
        seed=int(data["seed"]),
        created_at=float(data["created_at"]),
        updated_at=float(data["updated_at"]),
        project=_opt_str(data.get("project")),
        entity=_opt_str(data.get("entity")),
    )


def run_from_wire(data: Mapping[str, Any]) -> Run:
    exit_code = data.get("exit_code")
    return Run(
        id=str(data["id"]),
        name=str(data["name"]),
        config=decode_value(data["config"]),
        state=RunState(data["state"]),
        created_at=float(data["created_at"]),
        sweep_id=_opt_str(data.get("sweep_id")),
        updated_at=_opt_float(data.get("updated_at")),
        project=_opt_str(data.get("project")),
        entity=_opt_str(data.get("entity")),
        agent_id=_opt_str(data.get("agent_id")),
        heartbeat_at=_opt_float(data.get("heartbeat_at")),
        finished_at=_opt_float(data.get("finished_at")),
        exit_code=None if exit_code is None else int(exit_code),
        stop_reason=_opt_str(data.get("stop_reason")),
        error=_opt_str(data.get("error")),
        notes=_opt_str(data.get("notes")),
        summary=decode_value(data.get("summary") or {}),
        last_seq=int(data.get("last_seq", -1)),
        seed=int(data.get("seed", 0)),
    )


def row_from_wire(data: Mapping[str, Any]) -> MetricRow:
    return MetricRow(
        step=int(data["step"]),
        values=decode_value(data["values"]),
        time=_opt_float(data.get("time")),
    )


# --- requests -> records ----------------------------------------------------------------------


def row_from_request(row: MetricRowIn, index: int) -> MetricRow:
    values = (
        row.values if _plain_flat(row.values) else check_json(row.values, f"rows[{index}].values")
    )
    return MetricRow(step=row.step, values=values, time=row.time)


def rows_from_request(request: LogRequest) -> list[MetricRow]:
    return [row_from_request(row, i) for i, row in enumerate(request.rows)]


def log_request_to_wire(
    seq: int, rows: list[MetricRow] | tuple[MetricRow, ...], summary: Mapping[str, Any] | None
) -> dict[str, Any]:
    return {
        "seq": seq,
        "rows": [row_to_wire(r) for r in rows],
        "summary": None if summary is None else encode_value(summary),
    }


def log_request_json(
    seq: int, rows: list[MetricRow] | tuple[MetricRow, ...], summary: Mapping[str, Any] | None
) -> str:
    """The log request as JSON text. Logged rows are almost always plain numbers, which JSON
    takes as they are; only when that fails (NaN, numpy scalars, ...) is every value encoded."""
    plain = {
        "seq": seq,
        "rows": [{"step": r.step, "values": r.values, "time": r.time} for r in rows],
        "summary": summary,
    }
    try:
        return json.dumps(plain, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        encoded = log_request_to_wire(seq, rows, summary)
        return json.dumps(encoded, separators=(",", ":"), allow_nan=False)
