"""The records' fields, read once for both codecs, and the layouts built from them."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opensweep.core import fields
from opensweep.core.fields import Kind, Layout
from opensweep.core.model import Run, RunState, Sweep, SweepState
from opensweep.store.sql import codec as sql
from opensweep.wire import codec as wire


def test_fields_are_the_dataclass_fields_in_order() -> None:
    for record, spec in ((Sweep, fields.SWEEP), (Run, fields.RUN)):
        assert [f.name for f in spec] == [f.name for f in dataclasses.fields(record)]
    kinds = {f.name: f.kind for f in fields.RUN}
    assert kinds["config"] is kinds["summary"] is Kind.JSON
    assert kinds["state"] is Kind.STATE and fields.RUN[3].type is RunState
    assert kinds["created_at"] is Kind.FLOAT and kinds["finished_at"] is Kind.OPT_FLOAT
    assert kinds["exit_code"] is Kind.OPT_INT and kinds["seed"] is Kind.INT
    assert kinds["id"] is Kind.TEXT and kinds["sweep_id"] is Kind.OPT_TEXT
    by_name = {f.name: f for f in fields.RUN}
    assert by_name["created_at"].required and not by_name["summary"].required
    assert (by_name["last_seq"].default, by_name["summary"].default) == (-1, None)


def test_a_field_of_an_unknown_kind_fails_at_import() -> None:
    @dataclasses.dataclass
    class Odd:
        tags: list[str]

    with pytest.raises(TypeError, match=r"Odd\.tags"):
        fields.fields_of(Odd)


def test_a_layout_names_every_field_once() -> None:
    with pytest.raises(ValueError, match="not its fields"):
        Layout(Sweep, fields.SWEEP, lambda f: None, lambda f: None, order=["id", "name"])


def test_a_layout_converts_by_kind_and_keeps_the_key_order() -> None:
    def mark(f: fields.Field) -> Any:
        return (lambda v: ("json", v)) if f.kind is Kind.JSON else None

    order = [f.name for f in reversed(fields.SWEEP)]
    layout = Layout(Sweep, fields.SWEEP, mark, lambda f: None, order=order)
    sweep = Sweep("s", "n", {"a": 1}, SweepState.RUNNING, 3, 1.0, 2.0)
    encoded = layout.encode(sweep)
    assert list(encoded) == order and encoded["config"] == ("json", {"a": 1})
    assert layout.decode([*dataclasses.astuple(sweep), "ignored"]) == sweep
    minimal = {k: v for k, v in dataclasses.asdict(sweep).items() if k not in ("project",)}
    assert layout.decode_dict(minimal) == sweep
    with pytest.raises(KeyError):
        layout.decode_dict({"id": "s"})


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=8)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats() | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)
_objects = st.dictionaries(_text, _json, max_size=4)
_times = st.floats(allow_nan=False, allow_infinity=False)
_runs = st.builds(
    Run,
    id=_text,
    name=_text,
    config=_objects,
    state=st.sampled_from(RunState),
    created_at=_times,
    sweep_id=st.none() | _text,
    updated_at=st.none() | _times,
    project=st.none() | _text,
    entity=st.none() | _text,
    agent_id=st.none() | _text,
    heartbeat_at=st.none() | _times,
    finished_at=st.none() | _times,
    exit_code=st.none() | st.integers(-255, 255),
    stop_reason=st.none() | _text,
    error=st.none() | _text,
    notes=st.none() | _text,
    summary=_objects,
    last_seq=st.integers(-1, 2**31),
    seed=st.integers(0, 2**63 - 1),
)
_sweeps = st.builds(
    Sweep,
    id=_text,
    name=_text,
    config=_objects,
    state=st.sampled_from(SweepState),
    seed=st.integers(0, 2**63 - 1),
    created_at=_times,
    updated_at=_times,
    project=st.none() | _text,
    entity=st.none() | _text,
)


def _wire_trip(encoded: dict[str, Any]) -> Any:
    return json.loads(json.dumps(encoded, allow_nan=False))


# Per record: its fields, its SQL codec (to row, from row, the columns read) and its wire codec.
_CODECS: dict[type, tuple[Any, ...]] = {
    Run: (
        fields.RUN,
        sql.run_to_row,
        sql.run_from_row,
        sql.RUN_READ_COLUMNS,
        wire.run_to_wire,
        wire.run_from_wire,
    ),
    Sweep: (
        fields.SWEEP,
        sql.sweep_to_row,
        sql.sweep_from_row,
        sql.SWEEP_READ_COLUMNS,
        wire.sweep_to_wire,
        wire.sweep_from_wire,
    ),
}


def _assert_round_trips(record: Run | Sweep) -> None:
    record_fields, to_row, from_row, columns, to_wire, from_wire = _CODECS[type(record)]
    row = to_row(record)
    from_sql = from_row([row[c] for c in columns])
    from_json = from_wire(_wire_trip(to_wire(record)))
    for back in (from_sql, from_json):
        for f in record_fields:
            assert _same(getattr(back, f.name), getattr(record, f.name)), f.name


@given(_runs)
def test_a_run_round_trips_through_both_codecs(run: Run) -> None:
    _assert_round_trips(run)


@given(_sweeps)
def test_a_sweep_round_trips_through_both_codecs(sweep: Sweep) -> None:
    _assert_round_trips(sweep)
