"""core.space: params, unit-cube mapping of nested configs, value identity."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opensweep.config import parse
from opensweep.core.space import Param, Space, get_path, set_path, value_key
from opensweep.errors import ConfigError


def _space(**params: Any) -> Space:
    return parse({"method": "random", "parameters": params}).space


def _param(spec: dict[str, Any]) -> Param:
    return _space(p=spec).params[0]


def test_value_identity_rules() -> None:
    assert value_key(3000000.0) == value_key(3000000)
    assert value_key(True) != value_key(1)
    assert value_key(math.nan) == value_key(float("nan"))
    assert value_key({"a": 1, "b": 2}) == value_key({"b": 2, "a": 1})
    assert value_key([2, 3]) != value_key((2, 3))
    assert value_key("1") != value_key(1)
    assert value_key(None) != value_key("None")
    assert value_key(np.int64(3)) == value_key(3) and value_key(np.float64(2.5)) == value_key(2.5)
    assert value_key({"a": 1, "injected": 2}, frozenset({"a"})) == value_key({"a": 1})
    assert value_key(2.5) != value_key(2)


def test_param_properties() -> None:
    space = _space(
        c={"value": 1},
        cat={"values": ["a", "b"]},
        i={"min": 1, "max": 5},
        lr={"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
        q={"distribution": "q_uniform", "min": 0, "max": 10, "q": 2},
        qf={"distribution": "q_uniform", "min": 0, "max": 1},
        old={"distribution": "log_uniform", "min": -2, "max": 0},
        inv={"distribution": "inv_log_uniform", "min": 0, "max": 2},
        n={"distribution": "normal"},
        b={"distribution": "beta"},
    )
    by = {p.name: p for p in space.params}
    assert space.names == sorted(by)
    assert [by[k].kind for k in ("c", "cat", "i", "lr", "q", "qf", "n")] == [
        "constant",
        "categorical",
        "int",
        "float",
        "int",
        "float",
        "float",
    ]
    assert by["lr"].log and by["old"].log and by["inv"].log and not by["i"].log
    assert by["cat"].values == ("a", "b") and by["c"].values == (1,) and by["i"].values is None
    assert by["i"].bounds == (1, 5) and by["lr"].bounds == (1e-4, 1e-1)
    assert by["old"].bounds == pytest.approx((math.exp(-2), 1.0))
    assert by["inv"].bounds == pytest.approx((math.exp(-2), 1.0))
    assert by["n"].bounds is None and by["b"].bounds == (0.0, 1.0)
    assert (
        by["q"].step == 2 and by["qf"].step == 1.0 and by["i"].step == 1 and by["lr"].step is None
    )
    assert by["cat"].probabilities == (0.5, 0.5)
    assert [p.name for p in space.searchable] == [n for n in space.names if n != "c"]
    assert space.param("lr") is by["lr"]
    with pytest.raises(KeyError):
        space.param("nope")


def test_grid_values() -> None:
    assert _param({"values": [1, 1.0, "a", 1]}).grid_values() == [1, "a"]
    assert _param({"min": -1, "max": 1}).grid_values() == [-1, 0, 1]
    assert _param({"distribution": "q_uniform", "min": 0, "max": 1, "q": 0.25}).grid_values() == [
        0.0,
        0.25,
        0.5,
        0.75,
    ]
    assert _param({"value": {"k": 1}}).grid_values() == [{"k": 1}]
    with pytest.raises(ConfigError) as info:
        _space(g={"parameters": {"lr": {"min": 0.0, "max": 1.0}}}).params[0].grid_values()
    assert info.value.violations[0][0] == "parameters.g.parameters.lr"


def test_to_unit_and_back_on_nested_configs() -> None:
    space = _space(
        opt={
            "parameters": {
                "lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1.0},
                "name": {"values": ["adam", "sgd", "rms", "ada"]},
            }
        },
        depth={"min": 1, "max": 4},
        tag={"value": "x"},
    )
    config = {"depth": 2, "opt": {"lr": 1e-2, "name": "rms"}, "tag": "x"}
    u = space.to_unit(config)
    assert u.tolist() == pytest.approx([0.5, 0.5, 0.75, 0.0])
    back = space.from_unit(u)
    assert back["opt"]["name"] == "rms" and back["depth"] == 2 and back["tag"] == "x"
    assert back["opt"]["lr"] == pytest.approx(1e-2)
    missing = space.to_unit({"depth": 2, "opt": {"name": "unknown"}})
    assert missing[0] == 0.5 and np.isnan(missing[1]) and np.isnan(missing[2])


def test_from_unit_keeps_unbounded_values_finite_and_checks_shape() -> None:
    space = _space(n={"distribution": "normal"}, q={"distribution": "q_log_normal", "q": 1})
    config = space.from_unit([0.0, 1.0])
    assert math.isfinite(config["n"]) and config["n"] < -5
    assert isinstance(config["q"], int) and config["q"] > 1000
    assert space.from_unit([-3.0, 7.0]) == config  # clipped into [0, 1]
    with pytest.raises(ValueError):
        space.from_unit([0.5])
    with pytest.raises(ValueError):
        space.from_unit([0.5, math.nan])


def test_ppf_outside_unit_interval_is_an_error() -> None:
    with pytest.raises(ValueError):
        _param({"min": 0.0, "max": 1.0}).ppf(1.5)


def test_cdf_of_foreign_values_is_nan() -> None:
    assert math.isnan(_param({"values": [1, 2]}).cdf(3))
    assert math.isnan(_param({"min": 0.0, "max": 1.0}).cdf("x"))
    assert math.isnan(_param({"min": 0.0, "max": 1.0}).cdf(True))
    assert _param({"distribution": "log_uniform_values", "min": 1, "max": 10}).cdf(-1) == 0.0
    assert _param({"value": 3}).cdf(3) == 0.0  # W&B: a constant's cdf is 0


def test_values_are_plain_python_and_clipped_to_bounds() -> None:
    p = _param({"distribution": "log_uniform_values", "min": 1, "max": 100})
    assert p.ppf(1.0) == 100.0 and type(p.ppf(1.0)) is float  # exp(log(100)) overshoots
    assert p.ppf(0.0) == 1.0
    assert type(_param({"min": 1, "max": 3}).ppf(0.5)) is int
    assert type(_param({"distribution": "beta"}).ppf(0.5)) is float


def test_helpers_for_nested_paths() -> None:
    config: dict[str, Any] = {}
    set_path(config, ("a", "b"), 1)
    set_path(config, ("a", "c"), 2)
    set_path(config, ("d",), 3)
    assert config == {"a": {"b": 1, "c": 2}, "d": 3}
    assert get_path(config, ("a", "c")) == 2 and get_path(config, ("x",), None) is None
    with pytest.raises(KeyError):
        get_path(config, ("a", "b", "c"))
    space = _space(a={"parameters": {"b": {"values": [1]}, "c": {"value": 5}}})
    assert space.build({("a", "b"): 1}) == {"a": {"b": 1, "c": 5}}
    assert space.key({"a": {"b": 1, "c": 5.0}}) == space.key({"a": {"c": 5, "b": 1}})
    assert space.key({"a": {"b": 1}}) is None


_CONTINUOUS = [
    {"min": -2.0, "max": 5.0},
    {"distribution": "log_uniform_values", "min": 1e-5, "max": 1.0},
    {"distribution": "log_uniform", "min": -3, "max": 2},
    {"distribution": "inv_log_uniform_values", "min": 0.5, "max": 0.999},
    {"distribution": "inv_log_uniform", "min": -1, "max": 3},
    {"distribution": "normal", "mu": 1, "sigma": 3},
    {"distribution": "log_normal", "mu": -1, "sigma": 0.5},
    {"distribution": "beta", "a": 2, "b": 5},
]


@settings(max_examples=200, deadline=None)
@given(spec=st.sampled_from(_CONTINUOUS), u=st.floats(1e-6, 1 - 1e-6))
def test_cdf_inverts_ppf_for_continuous_distributions(spec: dict[str, Any], u: float) -> None:
    p = _param(spec)
    assert p.cdf(p.ppf(u)) == pytest.approx(u, abs=1e-7)


@settings(max_examples=100, deadline=None)
@given(u=st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3))
def test_ppf_is_monotone_and_to_unit_inverts_from_unit(u: list[float]) -> None:
    space = _space(**{f"p{i}": s for i, s in enumerate(_CONTINUOUS[:3])})
    config = space.from_unit(u)
    assert space.to_unit(config) == pytest.approx(u, abs=1e-9)
    p = space.params[0]
    us = sorted(u)
    assert [p.ppf(x) for x in us] == sorted(p.ppf(x) for x in us)


def test_adding_a_constant_does_not_change_the_values_drawn() -> None:
    plain = _space(a={"min": 0.0, "max": 1.0}, b={"values": [1, 2, 3]})
    more = _space(a={"min": 0.0, "max": 1.0}, aa={"value": 7}, b={"values": [1, 2, 3]})
    x = plain.sample(np.random.default_rng(5))
    y = more.sample(np.random.default_rng(5))
    assert y == {**x, "aa": 7}
