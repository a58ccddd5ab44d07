"""methods tpe, cmaes, qmc: Optuna's samplers replayed on our history."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import qmc

from opensweep.config.spec import MetricSpec, SweepSpec
from opensweep.core.history import Trial
from opensweep.core.model import RunState
from opensweep.core.space import Param, Space
from opensweep.search.optuna_adapter import suggest_cmaes, suggest_qmc, suggest_tpe
from opensweep.search.registry import get_method

SPACE = {
    "lr": ("log_uniform_values", {"min": 1e-5, "max": 1e-1}),
    "u": ("uniform", {"min": -1.0, "max": 2.0}),
    "depth": ("int_uniform", {"min": 1, "max": 9}),
    "q": ("q_uniform", {"min": 0.0, "max": 1.0, "q": 0.25}),
    "n": ("normal", {"mu": 0.0, "sigma": 1.0}),
    "c": ("categorical", {"values": [[1, 2], {"k": "v"}, None, True]}),
    "const": ("constant", {"value": 7}),
}


def make_spec(space: Mapping[str, tuple[str, dict[str, Any]]] = SPACE, **kw: Any) -> SweepSpec:
    params = sorted((Param(("opt", n), d, s) for n, (d, s) in space.items()), key=lambda p: p.path)
    return SweepSpec(method="tpe", space=Space(tuple(params)), metric=MetricSpec("loss"), **kw)


def trial(i: int, params: Mapping[str, Any], value: float | None, state: RunState) -> Trial:
    history = () if value is None else (value,)
    return Trial(f"r{i}", dict(params), state, history, value, created_index=i)


def in_space(config: Mapping[str, Any]) -> None:
    c = config["opt"]
    assert 1e-5 <= c["lr"] <= 1e-1
    assert -1.0 <= c["u"] <= 2.0
    assert type(c["depth"]) is int and 1 <= c["depth"] <= 9
    assert c["q"] in (0.0, 0.25, 0.5, 0.75, 1.0)
    assert math.isfinite(c["n"])
    assert any(c["c"] == v and type(c["c"]) is type(v) for v in SPACE["c"][1]["values"])
    assert c["const"] == 7


def objective(config: Mapping[str, Any]) -> float:
    c = config["opt"]
    return (math.log10(c["lr"]) + 3) ** 2 + (c["u"] - 0.5) ** 2 + 0.1 * c["depth"]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from([suggest_tpe, suggest_cmaes, suggest_qmc]),
    n_done=st.integers(0, 14),
    n_running=st.integers(0, 3),
    n_failed=st.integers(0, 2),
    seed=st.integers(0, 2**16),
)
def test_every_suggestion_lies_in_the_space(
    method: Any, n_done: int, n_running: int, n_failed: int, seed: int
) -> None:
    spec = make_spec()
    rng = np.random.default_rng(seed)
    history = []
    for i in range(n_done + n_running + n_failed):
        p = spec.space.sample(rng)
        if i < n_done:
            history.append(trial(i, p, objective(p), RunState.FINISHED))
        elif i < n_done + n_running:
            history.append(trial(i, p, None, RunState.RUNNING))
        else:
            history.append(trial(i, p, None, RunState.FAILED))
    for s in method(spec, history, 2, rng):
        in_space(s.params)


def test_tpe_is_reproducible_from_the_generator() -> None:
    spec = make_spec()
    rng = np.random.default_rng(0)
    history = []
    for i in range(15):
        p = spec.space.sample(rng)
        history.append(trial(i, p, objective(p), RunState.FINISHED))
    a = suggest_tpe(spec, history, 3, np.random.default_rng(5))
    b = suggest_tpe(spec, history, 3, np.random.default_rng(5))
    c = suggest_tpe(spec, history, 3, np.random.default_rng(6))
    assert [s.params for s in a] == [s.params for s in b]
    assert [s.params for s in a] != [s.params for s in c]
    assert all(s.note is None for s in a)


def test_tpe_startup_points_say_they_are_random() -> None:
    spec = make_spec()
    s = suggest_tpe(spec, [], 1, np.random.default_rng(0))[0]
    assert s.note is not None and "random startup" in s.note and "0 of 10" in s.note


def test_tpe_improves_on_a_simple_problem() -> None:
    spec = make_spec({"x": ("uniform", {"min": -5.0, "max": 5.0})})
    history: list[Trial] = []
    for i in range(40):
        s = suggest_tpe(spec, history, 1, np.random.default_rng([1, i]))[0]
        history.append(trial(i, s.params, (s.params["opt"]["x"] - 1.3) ** 2, RunState.FINISHED))
    assert min(t.summary_metric or 0.0 for t in history[20:]) < 0.01


def test_tpe_running_runs_keep_parallel_agents_apart() -> None:
    spec = make_spec({"x": ("uniform", {"min": 0.0, "max": 1.0})})
    rng = np.random.default_rng(2)
    history = [
        trial(i, {"opt": {"x": float(x)}}, (float(x) - 0.3) ** 2, RunState.FINISHED)
        for i, x in enumerate(rng.random(20))
    ]
    xs = []
    for i in range(4):  # four agents, each sees the others' runs as running
        s = suggest_tpe(spec, history, 1, np.random.default_rng([2, i]))[0]
        xs.append(s.params["opt"]["x"])
        history.append(trial(20 + i, s.params, None, RunState.RUNNING))
    assert len({round(x, 9) for x in xs}) == 4


def test_failed_runs_are_imputed_like_bayes() -> None:
    # impute=worst: a failed run counts as the worst value seen, so TPE treats its region as
    # bad; with impute=best it counts as its best logged value.
    from opensweep.search.optuna_adapter import _replay

    spec = make_spec({"x": ("uniform", {"min": 0.0, "max": 1.0})})
    history = [
        trial(0, {"opt": {"x": 0.1}}, 1.0, RunState.FINISHED),
        Trial("r1", {"opt": {"x": 0.9}}, RunState.FAILED, (0.5, 3.0), None),
        trial(2, {"opt": {"x": 0.5}}, None, RunState.RUNNING),
    ]
    import optuna

    for impute, expected in (("worst", 3.0), ("latest", 3.0), ("best", 0.5)):
        study, _ = _replay(spec.space, MetricSpec("loss", impute=impute), history, None)
        states = [t.state for t in study.trials]
        assert states[2] is optuna.trial.TrialState.RUNNING
        assert [t.value for t in study.trials[:2]] == [1.0, expected]


def test_qmc_walks_one_sobol_sequence_across_calls() -> None:
    unit = ("uniform", {"min": 0.0, "max": 1.0})
    spec = make_spec({"x": unit, "y": unit}, seed=11)
    rng = np.random.default_rng(0)
    history: list[Trial] = []
    got = []
    for i in range(8):
        s = suggest_qmc(spec, history, 1, rng)[0]
        got.append([s.params["opt"]["x"], s.params["opt"]["y"]])
        history.append(trial(i, s.params, 1.0, RunState.FINISHED))
    expected = qmc.Sobol(2, scramble=True, seed=11).random(8)
    assert np.allclose(got, expected)
    batch = suggest_qmc(spec, [], 8, rng)
    assert np.allclose([[s.params["opt"]["x"], s.params["opt"]["y"]] for s in batch], expected)


def test_cmaes_replay_rebuilds_its_generations_and_converges() -> None:
    # CMA-ES keeps its optimizer in trial attributes; a plain add_trial replay would leave it
    # at generation 0 forever, sampling the initial Gaussian (random search around the centre).
    import optuna

    from opensweep.search.optuna_adapter import _replay

    box = ("uniform", {"min": -5.0, "max": 5.0})
    spec = make_spec({"x": box, "y": box})
    history: list[Trial] = []
    for i in range(42):
        s = suggest_cmaes(spec, history, 1, np.random.default_rng([3, i]))[0]
        c = s.params["opt"]
        history.append(trial(i, s.params, (c["x"] - 1) ** 2 + (c["y"] + 2) ** 2, RunState.FINISHED))
    assert min(t.summary_metric or 0.0 for t in history[30:]) < 0.3
    sampler = optuna.samplers.CmaEsSampler(seed=0, warn_independent_sampling=False)
    study, _ = _replay(spec.space, MetricSpec("loss"), history, sampler, tell=True)
    generations = [t.system_attrs.get("cma:generation", -1) for t in study.trials]
    assert max(generations) >= 5  # popsize 6: ~6 generations in 42 runs


@pytest.mark.parametrize("name", ["tpe", "cmaes", "qmc"])
def test_registry_resolves_the_optuna_methods(name: str) -> None:
    fn = get_method(name)
    assert fn(make_spec(), [], 1, np.random.default_rng(0))[0].params["opt"]["const"] == 7
