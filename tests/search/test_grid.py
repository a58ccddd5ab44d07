"""Grid search against W&B's recorded sequences (grid.json), plus what W&B gets wrong."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opensweep.config import parse
from opensweep.config.spec import SweepSpec
from opensweep.core.history import Trial
from opensweep.core.model import RunState
from opensweep.core.space import Param, Space, value_key
from opensweep.errors import ConfigError
from opensweep.search.grid import grid_size, suggest

_DATA = json.loads(
    (Path(__file__).parents[1] / "data" / "wandb-reference" / "grid.json").read_text()
)


def _decode(value: Any) -> Any:
    """Reference markers -> Python values (tuples, non-finite floats)."""
    if isinstance(value, dict):
        if set(value) == {"__tuple__"}:
            return tuple(_decode(v) for v in value["__tuple__"])
        if set(value) == {"__float__"}:
            return float(value["__float__"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _plain(wire: dict[str, Any]) -> dict[str, Any]:
    """W&B's wire form {name: {value: v}} -> our run config {name: v}."""
    return {k: _decode(v["value"]) for k, v in wire.items()}


def _trials(configs: list[dict[str, Any]], state: RunState = RunState.FINISHED) -> list[Trial]:
    return [
        Trial(run_id=f"r{i}", params=c, state=state, created_index=i) for i, c in enumerate(configs)
    ]


def _spec(config: dict[str, Any]) -> SweepSpec:
    return parse(_decode(config))


def _same(a: Any, b: Any) -> bool:
    """Equal with types (1 != True, list != tuple, 3.0 vs 3 kept apart)."""
    return value_key(a) == value_key(b) and type(a) is type(b)


def _run_out(
    spec: SweepSpec, prior: list[dict[str, Any]], rng: np.random.Generator
) -> list[dict[str, Any]]:
    """Suggest one at a time, recording each as a run, until the grid is exhausted."""
    history = _trials(prior)
    out: list[dict[str, Any]] = []
    for _ in range(1000):
        batch = suggest(spec, history, 1, rng)
        if not batch:
            return out
        assert len(batch) == 1
        out.append(dict(batch[0].params))
        history = [*history, *_trials([dict(batch[0].params)])]
    raise AssertionError("grid never exhausted")


@pytest.mark.parametrize("case", _DATA["cases"], ids=lambda c: c["id"])
def test_sequence_matches_wandb(case: dict[str, Any]) -> None:
    spec = _spec(case["config"])
    prior = [_plain(c) for c in case["prior_run_configs"]]
    expected = [_plain(c) for c in case["expected_sequence"]]
    got = _run_out(spec, prior, np.random.default_rng(0))
    assert len(got) == case["count"] == len(expected)
    for ours, theirs in zip(got, expected, strict=True):
        assert list(ours) == sorted(ours)  # keys in W&B's (sorted) order
        assert ours.keys() == theirs.keys()
        for key in theirs:
            assert _same(ours[key], theirs[key]), (key, ours[key], theirs[key])
    # asking for many at once gives the same sequence
    batch = suggest(spec, _trials(prior), 10_000, np.random.default_rng(0))
    assert [dict(s.params) for s in batch] == got


@pytest.mark.parametrize(
    "case", _DATA["disallowed_param_types"]["cases"], ids=lambda c: json.dumps(c["param"])
)
def test_disallowed_types_are_config_errors_naming_the_parameter(case: dict[str, Any]) -> None:
    config = {"method": "grid", "parameters": {"a": case["param"]}}
    with pytest.raises(ConfigError) as info:
        parse(config)
    assert [p for p, _ in info.value.violations] == ["parameters.a"]
    # the same refusal if a spec of another method is asked for grid points
    spec = parse({**config, "method": "random"})
    with pytest.raises(ConfigError) as info:
        suggest(spec, [], 1, np.random.default_rng(0))
    assert [p for p, _ in info.value.violations] == ["parameters.a"]
    with pytest.raises(ConfigError):
        grid_size(spec.space)


def test_any_run_state_uses_a_point() -> None:
    spec = parse({"method": "grid", "parameters": {"a": {"values": [1, 2, 3]}}})
    for state in RunState:
        got = suggest(spec, _trials([{"a": 1}], state), 5, np.random.default_rng(0))
        assert [s.params["a"] for s in got] == [2, 3]


def test_identity_rules() -> None:
    spec = parse(
        {
            "method": "grid",
            "parameters": {
                "a": {"values": [1, True, 3000000, math.nan, [1, 2], (1, 2), {"x": 1, "y": 2}, "1"]}
            },
        }
    )
    assert grid_size(spec.space) == 8
    prior = [
        {"a": True},
        {"a": 3000000.0},
        {"a": float("nan")},
        {"a": (1, 2)},
        {"a": {"y": 2, "x": 1}},
    ]
    left = [s.params["a"] for s in suggest(spec, _trials(prior), 10, np.random.default_rng(0))]
    assert left == [1, [1, 2], "1"]
    assert type(left[0]) is int


def test_nested_parameters_are_recognised_in_prior_runs_unlike_wandb() -> None:
    """W&B looks nested points up under a flattened name and so repeats them."""
    spec = parse(
        {
            "method": "grid",
            "parameters": {
                "opt": {"parameters": {"lr": {"values": [0.1, 0.01]}, "name": {"value": "adam"}}},
                "depth": {"values": [2, 4]},
            },
        }
    )
    assert spec.space.names == ["depth", "opt.lr", "opt.name"]
    first = [dict(s.params) for s in suggest(spec, [], 10, np.random.default_rng(0))]
    assert first == [
        {"depth": 2, "opt": {"lr": 0.1, "name": "adam"}},
        {"depth": 2, "opt": {"lr": 0.01, "name": "adam"}},
        {"depth": 4, "opt": {"lr": 0.1, "name": "adam"}},
        {"depth": 4, "opt": {"lr": 0.01, "name": "adam"}},
    ]
    prior = [{"depth": 2, "opt": {"lr": 0.01, "name": "sgd"}}]  # constants are not identity
    rest = suggest(spec, _trials(prior), 10, np.random.default_rng(0))
    assert [dict(s.params) for s in rest] == [first[0], first[2], first[3]]


def test_batches_never_repeat_and_end_empty() -> None:
    spec = parse(
        {"method": "grid", "parameters": {"a": {"min": 1, "max": 3}, "b": {"values": ["x", "y"]}}}
    )
    assert grid_size(spec.space) == 6
    rng = np.random.default_rng(0)
    first = suggest(spec, [], 4, rng)
    rest = suggest(spec, _trials([dict(s.params) for s in first]), 4, rng)
    assert len(first) == 4 and len(rest) == 2
    done = _trials([dict(s.params) for s in [*first, *rest]])
    assert suggest(spec, done, 1, rng) == []
    assert suggest(spec, [], 0, rng) == []
    keys = {tuple(sorted(s.params.items())) for s in [*first, *rest]}
    assert len(keys) == 6


def test_q_uniform_with_int_q_gives_ints_and_excludes_max() -> None:
    spec = parse(
        {
            "method": "grid",
            "parameters": {"a": {"distribution": "q_uniform", "min": 0, "max": 30, "q": 10}},
        }
    )
    values = [s.params["a"] for s in suggest(spec, [], 10, np.random.default_rng(0))]
    assert values == [0, 10, 20] and all(type(v) is int for v in values)


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=4),
    done=st.data(),
)
def test_grid_never_repeats_and_covers_everything(sizes: list[int], done: st.DataObject) -> None:
    params = tuple(
        Param(
            path=(f"p{i}",),
            distribution="categorical",
            spec={"values": list(range(k)), "distribution": "categorical"},
        )
        for i, k in enumerate(sizes)
    )
    spec = SweepSpec(method="grid", space=Space(params))
    total = math.prod(sizes)
    assert grid_size(spec.space) == total
    everything = [dict(s.params) for s in suggest(spec, [], total + 5, np.random.default_rng(0))]
    assert len(everything) == total
    assert len({tuple(c.values()) for c in everything}) == total
    used = done.draw(st.lists(st.sampled_from(everything), max_size=total))
    rest = [dict(s.params) for s in suggest(spec, _trials(used), total, np.random.default_rng(0))]
    used_keys = {tuple(c.values()) for c in used}
    assert {tuple(c.values()) for c in rest} == {tuple(c.values()) for c in everything} - used_keys
    assert rest == [c for c in everything if tuple(c.values()) not in used_keys]  # order kept
