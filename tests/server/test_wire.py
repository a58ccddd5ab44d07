"""The wire codec: records round-trip exactly (NaN/inf included); bad JSON is named by path."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from opensweep.core.model import MetricRow, Run, RunState, Sweep, SweepState
from opensweep.errors import InvalidRequest
from opensweep.testing.records import FULL_RUN, FULL_SWEEP
from opensweep.wire import codec
from opensweep.wire.models import CreateSweepRequest, FinishRunRequest, LogRequest


def _same(a: object, b: object) -> bool:
    """Equality where NaN equals NaN (for nested values)."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def test_sweep_round_trips_with_non_finite_values() -> None:
    sweep = Sweep(
        id="s1",
        name="näme 漢",
        config={"method": "grid", "parameters": {"x": {"values": [math.inf, -math.inf, 3e6]}}},
        state=SweepState.PAUSED,
        seed=2**40,
        created_at=1.5,
        updated_at=2.25,
        project="p",
        entity=None,
    )
    wire = codec.sweep_to_wire(sweep)
    assert wire["config"]["parameters"]["x"]["values"][0] == {"__float__": "inf"}
    back = codec.sweep_from_wire(wire)
    assert back.state is SweepState.PAUSED
    assert _same(dict(back.config), dict(sweep.config))
    assert (back.id, back.name, back.seed, back.project, back.entity) == (
        sweep.id,
        sweep.name,
        sweep.seed,
        sweep.project,
        sweep.entity,
    )


def test_run_round_trips_every_field() -> None:
    run = FULL_RUN
    back = codec.run_from_wire(codec.run_to_wire(run))
    assert math.isnan(back.summary["loss"])
    for name in run.__slots__:
        assert _same(getattr(back, name), getattr(run, name)), name


def test_int_and_float_stay_distinct() -> None:
    row = MetricRow(step=3, values={"a": 3000000, "b": 3e6, "c": True}, time=1.0)
    back = codec.row_from_wire(codec.row_to_wire(row))
    assert type(back.values["a"]) is int and type(back.values["b"]) is float
    assert back.values["c"] is True


def test_log_request_decodes_tags_and_checks_values() -> None:
    body = codec.log_request_to_wire(
        4, [MetricRow(1, {"loss": math.nan, "x": [math.inf]}, None)], {"best": -math.inf}
    )
    request = LogRequest.model_validate(body)
    rows = codec.rows_from_request(request)
    assert math.isnan(rows[0].values["loss"]) and rows[0].values["x"] == [math.inf]
    assert codec.check_object(request.summary, "summary") == {"best": -math.inf}


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"a": {"b": "x\x00y"}}, "v.a.b"),
        ({"a": ["ok", "\ud800"]}, "v.a[1]"),
        ({"k\x00": 1}, "v"),
        ({"a": 2**70}, "v.a"),
    ],
)
def test_check_json_names_the_offending_path(value: object, path: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        codec.check_json(value, "v")
    assert err.value.message.startswith(path)


def test_check_json_refuses_deep_nesting() -> None:
    value: object = 1
    for _ in range(codec.MAX_JSON_DEPTH + 1):
        value = [value]
    with pytest.raises(InvalidRequest, match="nested deeper"):
        codec.check_json(value, "v")


def test_requests_are_strict() -> None:
    with pytest.raises(ValidationError):
        LogRequest.model_validate({"seq": "1", "rows": []})
    with pytest.raises(ValidationError):
        LogRequest.model_validate({"seq": 1, "rows": [{"step": True, "values": {}}]})
    with pytest.raises(ValidationError):
        LogRequest.model_validate({"seq": -1, "rows": []})
    with pytest.raises(ValidationError):
        CreateSweepRequest.model_validate({"config": {}, "unknown": 1})
    with pytest.raises(ValidationError):
        FinishRunRequest.model_validate({"state": "running"})
    assert CreateSweepRequest.model_validate({"config": {}, "name": "名前 ✓"}).name == "名前 ✓"


def test_log_request_json_takes_plain_rows_as_they_are_and_encodes_the_rest() -> None:
    import json

    import numpy as np

    plain = codec.log_request_json(3, [MetricRow(0, {"loss": 0.5, "n": 2, "s": "ok"}, 1.0)], None)
    assert json.loads(plain) == {
        "seq": 3,
        "rows": [{"step": 0, "values": {"loss": 0.5, "n": 2, "s": "ok"}, "time": 1.0}],
        "summary": None,
    }
    odd = MetricRow(1, {"loss": math.nan, "f32": np.float32(0.25), "i": np.int64(7)}, math.inf)
    text = codec.log_request_json(4, [odd], {"best": np.float64(-math.inf)})
    body = json.loads(text)  # strict JSON: no NaN literal
    request = LogRequest.model_validate(body)
    (row,) = codec.rows_from_request(request)
    assert math.isnan(row.values["loss"]) and row.values["f32"] == 0.25
    assert row.values["i"] == 7 and type(row.values["i"]) is int and row.time is None
    assert codec.check_object(request.summary, "summary") == {"best": -math.inf}


def test_records_go_on_the_wire_as_exactly_this_json() -> None:
    import json

    run, sweep = FULL_RUN, FULL_SWEEP

    def text(value: object) -> str:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)

    assert text(codec.run_to_wire(run)) == (
        '{"id":"r1","name":"run","created_at":10.0,"sweep_id":"s1","updated_at":11.5,'
        '"project":"p","entity":"e","agent_id":"a","heartbeat_at":10.5,"finished_at":12.0,'
        '"exit_code":-9,"stop_reason":"hyperband","error":"tb","notes":"grid","last_seq":7,'
        '"seed":123,"state":"stopped","config":{"lr":0.1,"n":3,"x":[{"__float__":"inf"}]},'
        '"summary":{"loss":{"__float__":"nan"},"acc":0.5}}'
    )
    assert text(codec.sweep_to_wire(sweep)) == (
        '{"id":"s1","name":"sw","config":{"method":"grid","v":{"__float__":"-inf"}},'
        '"state":"paused","seed":42,"created_at":1.5,"updated_at":2.25,"project":"p",'
        '"entity":null}'
    )


def test_a_run_read_from_the_wire_gets_the_defaults_of_what_is_left_out() -> None:
    minimal = {"id": "r", "name": "n", "config": {}, "state": "running", "created_at": 1}
    run = codec.run_from_wire(minimal)
    assert run == Run(id="r", name="n", config={}, state=RunState.RUNNING, created_at=1.0)
    assert type(run.created_at) is float
    assert codec.run_from_wire({**minimal, "summary": None}).summary == {}
    assert codec.run_from_wire({**minimal, "exit_code": "3", "id": 5}).exit_code == 3
    for junk in ({"state": "sleeping"}, {"heartbeat_at": "soon"}, {"last_seq": None}):
        with pytest.raises((ValueError, TypeError)):
            codec.run_from_wire({**minimal, **junk})
    with pytest.raises(KeyError):
        codec.run_from_wire({"id": "r", "name": "n", "config": {}, "state": "running"})
    sweep = {"id": "s", "name": "n", "config": {}, "state": "paused", "seed": 1}
    with pytest.raises(KeyError):
        codec.sweep_from_wire({**sweep, "created_at": 1})
    back = codec.sweep_from_wire({**sweep, "created_at": 1, "updated_at": 2})
    assert back.project is None and back.updated_at == 2.0
