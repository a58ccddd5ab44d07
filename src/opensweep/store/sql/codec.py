"""Rows <-> records: how Sweep, Run and history values are laid out in SQL columns."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any

from opensweep.core import encoding
from opensweep.core.model import Run, RunState, Sweep, SweepState

RUN_FIELDS = frozenset(f.name for f in fields(Run))
_JSON_RUN_FIELDS = frozenset({"config", "summary"})


def sweep_to_row(sweep: Sweep) -> dict[str, Any]:
    return {
        "id": sweep.id,
        "name": sweep.name,
        "project": sweep.project,
        "entity": sweep.entity,
        "config": encoding.dumps(sweep.config),
        "state": SweepState(sweep.state).value,
        "seed": int(sweep.seed),
        "created_at": float(sweep.created_at),
        "updated_at": float(sweep.updated_at),
    }


# Columns of a sweep read, in the order sweep_from_row unpacks them.
SWEEP_READ_COLUMNS = (
    "id",
    "name",
    "project",
    "entity",
    "config",
    "state",
    "seed",
    "created_at",
    "updated_at",
)


def sweep_from_row(row: Sequence[Any]) -> Sweep:
    """A sweep from a row of :data:`SWEEP_READ_COLUMNS`."""
    sweep_id, name, project, entity, config, state, seed, created_at, updated_at = row[:9]
    return Sweep(
        id=sweep_id,
        name=name,
        config=loads(config),
        state=SweepState(state),
        seed=int(seed),
        created_at=float(created_at),
        updated_at=float(updated_at),
        project=project,
        entity=entity,
    )


def run_column(name: str, value: Any) -> Any:
    """One Run field as its column value."""
    if name in _JSON_RUN_FIELDS:
        return encoding.dumps(value if value is not None else {})
    if name == "state":
        return RunState(value).value
    return value


def run_to_row(run: Run) -> dict[str, Any]:
    row = {name: run_column(name, getattr(run, name)) for name in RUN_FIELDS}
    row["version"] = 0
    return row


# Columns of a full run read, in the order run_from_row unpacks them (positional access is
# several times faster than attribute access on SQLAlchemy rows, and claim_next reads every run).
RUN_READ_COLUMNS = (
    "id",
    "name",
    "config",
    "state",
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
    "summary",
    "last_seq",
    "seed",
)


def run_from_row(row: Sequence[Any]) -> Run:
    """A run from a row of :data:`RUN_READ_COLUMNS` (further columns are ignored)."""
    (
        run_id,
        name,
        config,
        state,
        created_at,
        sweep_id,
        updated_at,
        project,
        entity,
        agent_id,
        heartbeat_at,
        finished_at,
        exit_code,
        stop_reason,
        error,
        notes,
        summary,
        last_seq,
        seed,
    ) = row[:19]
    return Run(
        id=run_id,
        name=name,
        config=loads(config),
        state=RunState(state),
        created_at=float(created_at),
        sweep_id=sweep_id,
        updated_at=_time(updated_at),
        project=project,
        entity=entity,
        agent_id=agent_id,
        heartbeat_at=_time(heartbeat_at),
        finished_at=_time(finished_at),
        exit_code=exit_code,
        stop_reason=stop_reason,
        error=error,
        notes=notes,
        summary=loads(summary),
        last_seq=int(last_seq),
        seed=int(seed),
    )


def _time(value: float | None) -> float | None:
    # SQLite's RETURNING hands back a whole REAL as an integer (5.0 -> 5): times are floats.
    return None if value is None else float(value)


def loads(text: str) -> Any:
    """:func:`encoding.loads`, skipping the tree walk when no non-finite float was encoded."""
    if "__float__" not in text:
        return json.loads(text)
    return encoding.loads(text)


def encode_metric(value: Any) -> tuple[float | None, str | None]:
    """A logged value as ``(num, value)`` columns.

    A finite float is stored only in ``num`` (a double holds it exactly; -0.0 aside, whose sign
    SQLite drops). Everything else keeps
    its exact JSON in ``value``; ``num`` also holds ints as floats so SQL can compare them.
    """
    plain = encoding.encode_value(value)  # numpy scalars -> Python, non-finite -> tagged dict
    if type(plain) is float:
        if plain == 0.0 and math.copysign(1.0, plain) < 0:
            return 0.0, "-0.0"  # SQLite stores a REAL -0.0 as 0: keep the sign in the JSON
        return plain, None
    text = json.dumps(plain, separators=(",", ":"), allow_nan=False)
    if type(plain) is int:
        as_float = float(plain) if abs(plain) < 2**1023 else None
        return (as_float if as_float is not None and math.isfinite(as_float) else None), text
    return None, text


def decode_metric(num: float | None, value: str | None) -> Any:
    if value is None:
        return num
    return loads(value)


def merged_summary(old: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """W&B summary semantics: each top-level key keeps its last value."""
    merged = dict(old)
    merged.update({str(k): v for k, v in update.items()})
    return merged
