"""Sweep, Run and MetricRow <-> JSON-safe dicts, and the checks free-form JSON must pass.

Both sides use these functions: the server to answer, the HTTP client to read the answer back
into the same frozen records. Non-finite floats are tagged by :mod:`opensweep.core.encoding`.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

from opensweep.core import fields
from opensweep.core.encoding import decode_value, encode_value
from opensweep.core.fields import Convert, Field, Kind, Layout
from opensweep.core.model import LogBatch, MetricRow, Run, Sweep
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


# --- records <-> wire (the HTTP client reads answers; raises KeyError/ValueError on junk) -----


_opt_float = fields.optional(float)


def _json_object(value: Any) -> Any:
    return decode_value(value if value is not None else {})


_state_value = operator.attrgetter("value")
_READ: Mapping[Kind, Convert] = {
    Kind.TEXT: str,
    Kind.OPT_TEXT: fields.optional(str),
    Kind.FLOAT: float,
    Kind.OPT_FLOAT: _opt_float,
    Kind.INT: int,
    Kind.OPT_INT: fields.optional(int),
    Kind.JSON: _json_object,  # a summary left out (None) reads as {}
}


def _wire_writer(field: Field) -> Convert | None:
    """How a field is written to JSON: states as their value, JSON objects with tags."""
    if field.kind is Kind.STATE:
        return _state_value
    return encode_value if field.kind is Kind.JSON else None


def _wire_reader(field: Field) -> Convert:
    """How a field is read back, checking its type (a missing optional one has its default)."""
    return field.type if field.kind is Kind.STATE else _READ[field.kind]


# A run's JSON has always listed its state, config and summary last (a sweep's: field order).
_RUN_LAST = ("state", "config", "summary")
_RUN_KEYS = (*(f.name for f in fields.RUN if f.name not in _RUN_LAST), *_RUN_LAST)
_SWEEP_WIRE = Layout(Sweep, fields.SWEEP, _wire_writer, _wire_reader)
_RUN_WIRE = Layout(Run, fields.RUN, _wire_writer, _wire_reader, order=_RUN_KEYS)

# Records -> JSON-safe dicts, and back.
sweep_to_wire = _SWEEP_WIRE.encode
run_to_wire = _RUN_WIRE.encode
sweep_from_wire = _SWEEP_WIRE.decode_dict
run_from_wire = _RUN_WIRE.decode_dict


def row_to_wire(row: MetricRow) -> dict[str, Any]:
    time = row.time if row.time is None or math.isfinite(row.time) else None
    return {"step": row.step, "values": encode_value(row.values), "time": time}


def row_from_wire(data: Mapping[str, Any]) -> MetricRow:
    return MetricRow(
        step=int(data["step"]),
        values=decode_value(data["values"]),
        time=_opt_float(data.get("time")),
    )


# --- requests -> records ----------------------------------------------------------------------


def row_from_request(row: MetricRowIn, where: str) -> MetricRow:
    values = row.values if _plain_flat(row.values) else check_json(row.values, f"{where}.values")
    return MetricRow(step=row.step, values=values, time=row.time)


def rows_from_request(request: LogRequest, where: str = "") -> list[MetricRow]:
    return [row_from_request(row, f"{where}rows[{i}]") for i, row in enumerate(request.rows)]


def batch_from_request(request: LogRequest, where: str = "") -> LogBatch:
    """A log request (or a finish request's ``log``, ``where="log."``) as a checked batch."""
    summary = check_object(request.summary, f"{where}summary")
    return LogBatch(seq=request.seq, rows=rows_from_request(request, where), summary=summary)


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
    return _json_text(
        lambda: _plain_log(seq, rows, summary), lambda: log_request_to_wire(seq, rows, summary)
    )


def end_request_json(end: Mapping[str, Any], last_log: LogBatch | None) -> str:
    """A finish (or finish-and-next) request as JSON text: ``end`` (plain JSON values) and the
    run's last log batch under ``"log"``, encoded as :func:`log_request_json` encodes it."""
    if last_log is None:
        return json.dumps(end, separators=(",", ":"), allow_nan=False)
    seq, rows, summary = last_log.seq, list(last_log.rows), last_log.summary
    return _json_text(
        lambda: {**end, "log": _plain_log(seq, rows, summary)},
        lambda: {**end, "log": log_request_to_wire(seq, rows, summary)},
    )


def _plain_log(
    seq: int, rows: list[MetricRow] | tuple[MetricRow, ...], summary: Mapping[str, Any] | None
) -> dict[str, Any]:
    return {
        "seq": seq,
        "rows": [{"step": r.step, "values": r.values, "time": r.time} for r in rows],
        "summary": summary,
    }


def _json_text(plain: Callable[[], Any], encoded: Callable[[], Any]) -> str:
    try:
        return json.dumps(plain(), separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return json.dumps(encoded(), separators=(",", ":"), allow_nan=False)
