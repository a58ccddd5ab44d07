"""Rows <-> records: how Sweep, Run and history values are laid out in SQL columns."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
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


def sweep_from_row(row: Any) -> Sweep:
    return Sweep(
        id=row.id,
        name=row.name,
        config=encoding.loads(row.config),
        state=SweepState(row.state),
        seed=int(row.seed),
        created_at=row.created_at,
        updated_at=row.updated_at,
        project=row.project,
        entity=row.entity,
    )


def run_column(name: str, value: Any) -> Any:
    """One Run field as its column value."""
    if name in _JSON_RUN_FIELDS:
        return encoding.dumps(value if value is not None else {})
    if name == "state":
        return RunState(value).value
    return value


def run_to_row(run: Run) -> dict[str, Any]:
    return {name: run_column(name, getattr(run, name)) for name in RUN_FIELDS}


def run_from_row(row: Any) -> Run:
    return Run(
        id=row.id,
        name=row.name,
        config=encoding.loads(row.config),
        state=RunState(row.state),
        created_at=row.created_at,
        sweep_id=row.sweep_id,
        updated_at=row.updated_at,
        project=row.project,
        entity=row.entity,
        agent_id=row.agent_id,
        heartbeat_at=row.heartbeat_at,
        finished_at=row.finished_at,
        exit_code=row.exit_code,
        stop_reason=row.stop_reason,
        error=row.error,
        notes=row.notes,
        summary=encoding.loads(row.summary),
        last_seq=int(row.last_seq),
        seed=int(row.seed),
    )


def encode_metric(value: Any) -> tuple[float | None, str | None]:
    """A logged value as ``(num, value)`` columns.

    A finite float is stored only in ``num`` (a double holds it exactly). Everything else keeps
    its exact JSON in ``value``; ``num`` also holds ints as floats so SQL can compare them.
    """
    plain = encoding.encode_value(value)  # numpy scalars -> Python, non-finite -> tagged dict
    if type(plain) is float:
        return plain, None
    text = json.dumps(plain, separators=(",", ":"), allow_nan=False)
    if type(plain) is int:
        as_float = float(plain) if abs(plain) < 2**1023 else None
        return (as_float if as_float is not None and math.isfinite(as_float) else None), text
    return None, text


def decode_metric(num: float | None, value: str | None) -> Any:
    if value is None:
        return num
    return encoding.loads(value)


def merged_summary(old: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """W&B summary semantics: each top-level key keeps its last value."""
    merged = dict(old)
    merged.update({str(k): v for k, v in update.items()})
    return merged
