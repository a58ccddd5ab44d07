"""The SQL codec: the columns a sweep and a run are stored as (pinned), and how rows read back."""

from __future__ import annotations

import math

from opensweep.core.model import RunState, SweepState
from opensweep.store.sql import codec
from opensweep.testing.records import FULL_RUN, FULL_SWEEP

RUN, SWEEP = FULL_RUN, FULL_SWEEP


def test_a_run_is_stored_as_these_columns() -> None:
    row = codec.run_to_row(RUN)
    assert row == {
        "id": "r1",
        "name": "run",
        "config": '{"lr":0.1,"n":3,"x":[{"__float__":"inf"}]}',
        "state": "stopped",
        "created_at": 10.0,
        "sweep_id": "s1",
        "updated_at": 11.5,
        "project": "p",
        "entity": "e",
        "agent_id": "a",
        "heartbeat_at": 10.5,
        "finished_at": 12.0,
        "exit_code": -9,
        "stop_reason": "hyperband",
        "error": "tb",
        "notes": "grid",
        "summary": '{"loss":{"__float__":"nan"},"acc":0.5}',
        "last_seq": 7,
        "seed": 123,
        "version": 0,
    }
    assert {type(v) for k, v in row.items() if k.endswith("_at")} == {float}
    assert set(row) == {*codec.RUN_FIELDS, "version"}


def test_a_sweep_is_stored_as_these_columns() -> None:
    assert codec.sweep_to_row(SWEEP) == {
        "id": "s1",
        "name": "sw",
        "project": "p",
        "entity": None,
        "config": '{"method":"grid","v":{"__float__":"-inf"}}',
        "state": "paused",
        "seed": 42,
        "created_at": 1.5,
        "updated_at": 2.25,
    }


def test_rows_read_back_whole_floats_as_floats_and_ignore_further_columns() -> None:
    row = codec.run_to_row(RUN)
    # SQLite's RETURNING hands back a whole REAL as an integer; a pk may follow the columns
    values = [int(row[c]) if c.endswith("_at") else row[c] for c in codec.RUN_READ_COLUMNS]
    back = codec.run_from_row([*values, 99])
    assert back.state is RunState.STOPPED and math.isnan(back.summary["loss"])
    assert type(back.created_at) is float and type(back.heartbeat_at) is float
    assert back.created_at == 10.0 and back.updated_at == 11.0
    sweep_row = codec.sweep_to_row(SWEEP)
    sweep = codec.sweep_from_row([sweep_row[c] for c in codec.SWEEP_READ_COLUMNS] + ["x"])
    assert sweep.state is SweepState.PAUSED and sweep.config["v"] == -math.inf
    assert (sweep.id, sweep.seed, sweep.created_at, sweep.project) == ("s1", 42, 1.5, "p")


def test_run_column_converts_only_what_needs_it() -> None:
    assert codec.run_column("summary", {"a": math.inf}) == '{"a":{"__float__":"inf"}}'
    assert codec.run_column("config", None) == "{}"
    assert codec.run_column("state", "killed") == "killed"
    assert codec.run_column("state", RunState.FAILED) == "failed"
    assert codec.run_column("updated_at", None) is None
    assert codec.run_column("error", "boom") == "boom"
    assert codec.run_column("last_seq", 4) == 4
