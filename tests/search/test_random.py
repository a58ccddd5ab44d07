"""Random search: seeded, in the space, respects probabilities, no needless repeats."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opensweep.config import parse
from opensweep.core.history import Trial
from opensweep.core.model import RunState
from opensweep.core.space import get_path, value_key
from opensweep.search.random import suggest

# --- strategies: valid W&B parameter specs of every distribution ---------------------------
_small = st.integers(min_value=-50, max_value=50)
_pos = st.floats(min_value=1e-4, max_value=1e3, allow_nan=False, allow_infinity=False)
_real = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)
_q = st.one_of(st.integers(min_value=1, max_value=10), st.sampled_from([0.1, 0.25, 0.5, 2.5]))
_value = st.one_of(
    st.integers(-5, 5),
    st.booleans(),
    st.text(max_size=3),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)


@st.composite
def _range(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> tuple[Any, Any]:
    a, b = draw(values), draw(values)
    if a == b:
        b = a + 1
    return (min(a, b), max(a, b))


@st.composite
def parameter_spec(draw: st.DrawFn) -> dict[str, Any]:
    """A valid W&B parameter spec of any distribution."""
    kind = draw(
        st.sampled_from(
            [
                "constant",
                "categorical",
                "categorical_w_probabilities",
                "int_uniform",
                "uniform",
                "q_uniform",
                "log_uniform",
                "log_uniform_values",
                "q_log_uniform",
                "q_log_uniform_values",
                "inv_log_uniform",
                "inv_log_uniform_values",
                "normal",
                "q_normal",
                "log_normal",
                "q_log_normal",
                "beta",
                "q_beta",
            ]
        )
    )
    if kind == "constant":
        return {"value": draw(_value)}
    if kind == "categorical":
        return {"values": draw(st.lists(_value, min_size=1, max_size=5))}
    if kind == "categorical_w_probabilities":
        values = draw(st.lists(_value, min_size=1, max_size=5))
        weights = draw(st.lists(st.integers(0, 5), min_size=len(values), max_size=len(values)))
        if sum(weights) == 0:
            weights[0] = 1
        return {"values": values, "probabilities": [w / sum(weights) for w in weights]}
    if kind == "int_uniform":
        lo, hi = draw(_range(_small))
        return {"min": lo, "max": hi}
    if kind in ("uniform", "q_uniform"):
        lo, hi = draw(_range(_real))
        spec = {"distribution": kind, "min": lo, "max": hi}
    elif kind in ("log_uniform", "q_log_uniform", "inv_log_uniform"):
        lo, hi = draw(_range(st.floats(min_value=-10, max_value=10)))
        spec = {"distribution": kind, "min": lo, "max": hi}
    elif kind.endswith("_values"):
        lo, hi = draw(_range(_pos))
        spec = {"distribution": kind, "min": lo, "max": hi}
    elif kind in ("normal", "q_normal", "log_normal", "q_log_normal"):
        spec = {
            "distribution": kind,
            "mu": draw(st.floats(-3, 3)),
            "sigma": draw(st.floats(0.1, 2)),
        }
    else:
        spec = {"distribution": kind, "a": draw(st.floats(0.5, 5)), "b": draw(st.floats(0.5, 5))}
    if kind.startswith("q_"):
        spec["q"] = draw(_q)
    return spec


@st.composite
def sweep_parameters(draw: st.DrawFn, max_size: int = 4) -> dict[str, Any]:
    """A `parameters` section, sometimes nested."""
    names = draw(
        st.lists(
            st.sampled_from(["a", "b", "c", "lr", "x_1", "y-2"]),
            min_size=1,
            max_size=max_size,
            unique=True,
        )
    )
    params: dict[str, Any] = {}
    for name in names:
        if draw(st.integers(0, 4)) == 0:
            params[name] = {
                "parameters": {"inner": draw(parameter_spec()), "z": draw(parameter_spec())}
            }
        else:
            params[name] = draw(parameter_spec())
    return params


def _trials(configs: list[Any]) -> list[Trial]:
    return [Trial(run_id=f"r{i}", params=c, state=RunState.FAILED) for i, c in enumerate(configs)]


def _key(config: Any) -> Any:
    return value_key(config)


@settings(max_examples=150, deadline=None)
@given(params=sweep_parameters(), seed=st.integers(0, 2**32 - 1), n=st.integers(1, 6))
def test_every_suggestion_lies_in_the_space(params: dict[str, Any], seed: int, n: int) -> None:
    spec = parse({"method": "random", "parameters": params})
    suggestions = suggest(spec, [], n, np.random.default_rng(seed))
    assert len(suggestions) == n
    for s in suggestions:
        flat_count = 0
        for p in spec.space.params:
            value = get_path(s.params, p.path)
            assert p.contains(value), (p.name, p.distribution, dict(p.spec), value)
            if p.kind == "int":
                assert type(value) is int
            elif p.kind == "float":
                assert type(value) is float
            flat_count += 1
        assert flat_count == len(spec.space)


@settings(max_examples=60, deadline=None)
@given(params=sweep_parameters(), seed=st.integers(0, 2**32 - 1))
def test_same_seed_same_suggestions(params: dict[str, Any], seed: int) -> None:
    spec = parse({"method": "random", "parameters": params})
    a = suggest(spec, [], 5, np.random.default_rng(seed))
    b = suggest(spec, [], 5, np.random.default_rng(seed))
    assert [_key(s.params) for s in a] == [_key(s.params) for s in b]


@settings(max_examples=100, deadline=None)
@given(spec=parameter_spec(), u=st.floats(0.0, 1.0))
def test_ppf_lies_in_the_space_for_every_quantile(spec: dict[str, Any], u: float) -> None:
    param = parse({"method": "random", "parameters": {"p": spec}}).space.params[0]
    if param.distribution in ("normal", "q_normal", "log_normal", "q_log_normal"):
        u = min(max(u, 1e-12), 1 - 1e-12)  # ±inf at the ends
    assert param.contains(param.ppf(u))


@pytest.mark.parametrize("u", [5e-324, 1e-310, 1 - 1e-16])
def test_beta_ppf_at_the_extreme_quantiles(u: float) -> None:
    """scipy's betaincinv returns NaN for a subnormal quantile (found by the property above)."""
    spec = {"distribution": "beta", "a": 2.0, "b": 2.0}
    param = parse({"method": "random", "parameters": {"p": spec}})
    value = param.space.params[0].ppf(u)
    assert param.space.params[0].contains(value) and (value < 1e-100 if u < 0.5 else value > 0.9)


def test_different_seeds_differ() -> None:
    spec = parse({"method": "random", "parameters": {"lr": {"min": 0.0, "max": 1.0}}})
    a = suggest(spec, [], 3, np.random.default_rng(1))
    b = suggest(spec, [], 3, np.random.default_rng(2))
    assert [s.params for s in a] != [s.params for s in b]


def test_probabilities_are_respected() -> None:
    spec = parse(
        {
            "method": "random",
            "parameters": {
                "opt": {"values": ["adam", "sgd", "rmsprop"], "probabilities": [0.7, 0.3, 0.0]},
                "lr": {"min": 0.0, "max": 1.0},  # continuous: no repeat avoidance
            },
        }
    )
    counts = Counter(s.params["opt"] for s in suggest(spec, [], 4000, np.random.default_rng(0)))
    assert counts["rmsprop"] == 0
    assert abs(counts["adam"] / 4000 - 0.7) < 0.03


def test_uniform_categorical_is_uniform() -> None:
    spec = parse(
        {
            "method": "random",
            "parameters": {"a": {"values": [1, 2, 3, 4]}, "x": {"distribution": "normal"}},
        }
    )
    counts = Counter(s.params["a"] for s in suggest(spec, [], 4000, np.random.default_rng(3)))
    assert set(counts) == {1, 2, 3, 4}
    assert all(abs(c / 4000 - 0.25) < 0.03 for c in counts.values())


def test_discrete_configs_are_not_repeated_unlike_wandb() -> None:
    """W&B's random search draws every run independently, so a small discrete space repeats
    configs long before all have been tried; we only repeat once every one was tried."""
    spec = parse(
        {"method": "random", "parameters": {"a": {"values": [1, 2]}, "b": {"min": 0, "max": 2}}}
    )
    # W&B's behaviour: independent draws repeat within 6 draws of this 6-point space
    rng = np.random.default_rng(0)
    independent = [_key(spec.space.sample(rng)) for _ in range(6)]
    assert len(set(independent)) < 6
    ours = suggest(spec, [], 6, np.random.default_rng(0))
    assert len({_key(s.params) for s in ours}) == 6 and all(s.note is None for s in ours)
    # one at a time with history (any state counts), the same holds
    history: list[Any] = []
    for _ in range(6):
        (s,) = suggest(spec, _trials(history), 1, np.random.default_rng(len(history)))
        assert _key(s.params) not in {_key(h) for h in history}
        history.append(dict(s.params))
    # everything tried: random goes on (it never exhausts) and says it repeats
    (again,) = suggest(spec, _trials(history), 1, np.random.default_rng(0))
    assert _key(again.params) in {_key(h) for h in history}
    assert again.note is not None and "all 6 configurations" in again.note


def test_last_untried_config_is_found_even_when_improbable() -> None:
    spec = parse(
        {
            "method": "random",
            "parameters": {
                "a": {"values": list(range(50)), "probabilities": [0.98] + [0.02 / 49] * 49}
            },
        }
    )
    history = [{"a": i} for i in range(49)]  # untried: 49, drawn with p = 0.0004
    (s,) = suggest(spec, _trials(history), 1, np.random.default_rng(0))
    assert s.params == {"a": 49} and s.note is None
    zero_prob = parse(
        {"method": "random", "parameters": {"a": {"values": [1, 2], "probabilities": [1.0, 0.0]}}}
    )
    (t,) = suggest(zero_prob, _trials([{"a": 1}]), 1, np.random.default_rng(0))
    assert t.params == {"a": 1} and t.note is not None  # value 2 has probability 0: never


def test_nested_configs_and_constants() -> None:
    spec = parse(
        {
            "method": "random",
            "parameters": {
                "opt": {"parameters": {"lr": {"min": 0.1, "max": 0.2}, "name": {"value": "adam"}}}
            },
        }
    )
    (s,) = suggest(spec, [], 1, np.random.default_rng(0))
    assert set(s.params) == {"opt"} and s.params["opt"]["name"] == "adam"
    assert 0.1 <= s.params["opt"]["lr"] <= 0.2
    assert suggest(spec, [], 0, np.random.default_rng(0)) == []
