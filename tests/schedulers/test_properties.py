"""Invariants of every scheduler, checked with hypothesis."""

from __future__ import annotations

import copy
import itertools
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from opensweep.config.spec import EarlyTerminateSpec, MetricSpec, SweepSpec
from opensweep.core.history import Trial
from opensweep.core.model import RunState
from opensweep.core.space import Space
from opensweep.schedulers import asha, hyperband
from opensweep.testing.simulator import CurveConfig, simulate

values = st.one_of(
    st.floats(min_value=-10, max_value=10, allow_nan=False),
    st.sampled_from([math.nan, math.inf, -math.inf]),
)
trials = st.lists(
    st.builds(
        lambda i, state, history, asked: Trial(
            run_id=f"r{i}",
            params={"i": i},
            state=state,
            metric_history=tuple(history),
            stop_requested=asked,
            created_index=i,
        ),
        st.integers(0, 10**6),
        st.sampled_from(list(RunState)),
        st.lists(values, max_size=30),
        st.booleans(),
    ),
    max_size=25,
    unique_by=lambda t: t.run_id,
)
etas = st.sampled_from([1.5, 2, 2.5, 3, 4])
hyperband_options = st.one_of(
    st.fixed_dictionaries(
        {"min_iter": st.integers(1, 6), "eta": etas, "strict": st.booleans()},
    ),
    st.fixed_dictionaries({"max_iter": st.integers(9, 81), "s": st.integers(1, 4), "eta": etas}),
)
asha_options = st.fixed_dictionaries(
    {
        "min_iter": st.integers(1, 4),
        "eta": etas,
        "min_runs": st.integers(1, 8),
        "strict": st.booleans(),
    },
    optional={
        "max_iter": st.integers(10, 40),
        "progress": st.booleans(),
        "model": st.sampled_from(["level", "curve"]),
    },
)
schedulers = st.one_of(
    st.tuples(st.just("hyperband"), hyperband_options),
    st.tuples(st.just("asha"), asha_options),
)


def _spec(kind: str, options: dict[str, Any], goal: str) -> SweepSpec:
    return SweepSpec(
        method="random",
        space=Space(()),
        metric=MetricSpec(name="loss", goal=goal),  # type: ignore[arg-type]
        early_terminate=EarlyTerminateSpec(type=kind, options=options),
    )


DECIDE = {"hyperband": hyperband.decide, "asha": asha.decide}


@settings(max_examples=300, deadline=None)
@given(schedulers, trials, st.sampled_from(["minimize", "maximize"]))
def test_only_running_runs_not_yet_asked_are_stopped_and_inputs_are_untouched(
    scheduler: tuple[str, dict[str, Any]], history: list[Trial], goal: str
) -> None:
    kind, options = scheduler
    spec = _spec(kind, options, goal)
    history_before = copy.deepcopy(history)
    options_before = copy.deepcopy(options)
    decisions = DECIDE[kind](spec, history)
    stoppable = {t.run_id for t in history if t.is_running and not t.stop_requested}
    ids = [d.run_id for d in decisions]
    assert set(ids) <= stoppable
    assert len(ids) == len(set(ids))
    assert all(d.reason for d in decisions)
    # same objects, same contents (NaN compared by identity of repr)
    assert repr(history) == repr(history_before)
    assert dict(spec.early_terminate.options) == options_before  # type: ignore[union-attr]
    # pure: asking again gives the same answer
    assert DECIDE[kind](spec, history) == decisions


@given(st.integers(1, 20), st.integers(2, 5), st.integers(2, 2000))
def test_asha_rungs_follow_eta(min_iter: int, eta: int, max_iter: int) -> None:
    rungs = asha.asha_rungs(min_iter, eta, max_iter)
    expected = []
    k = 0
    while min_iter * eta**k < max_iter:
        expected.append(min_iter * eta**k)
        k += 1
    assert rungs == expected
    assert all(b == a * eta for a, b in itertools.pairwise(rungs))


@given(st.integers(1, 20), st.floats(1.1, 6.0), st.integers(2, 5000))
def test_asha_rungs_with_any_eta_increase_below_max_iter(
    min_iter: int, eta: float, max_iter: int
) -> None:
    rungs = asha.asha_rungs(min_iter, eta, max_iter)
    assert all(a < b for a, b in itertools.pairwise(rungs))
    assert all(r < max_iter for r in rungs)
    if min_iter < max_iter:
        assert rungs[0] == min_iter
    # the next rung would be at or past max_iter (or is a repeat)
    if rungs:
        k = 0
        while int(min_iter * eta**k) <= rungs[-1]:
            k += 1
        assert int(min_iter * eta**k) >= max_iter


@given(st.integers(1, 20), st.integers(2, 5))
def test_hyperband_min_iter_bands_follow_eta(min_iter: int, eta: int) -> None:
    settings_ = hyperband.HyperbandSettings(eta=eta, strict=True, min_iter=min_iter)
    bands = hyperband.hyperband_bands(settings_, limit=10**6)
    assert bands[0] == min_iter
    assert all(b == a * eta for a, b in itertools.pairwise(bands))
    assert bands[-1] <= 10**6 < bands[-1] * eta


@given(st.integers(1, 500), st.integers(2, 5), st.integers(1, 6))
def test_hyperband_max_iter_bands_follow_eta(max_iter: int, eta: int, s: int) -> None:
    settings_ = hyperband.HyperbandSettings(eta=eta, strict=True, max_iter=max_iter, s=s)
    bands = hyperband.hyperband_bands(settings_)
    expected = sorted({int(max_iter / eta**k) for k in range(1, s + 1) if max_iter / eta**k >= 1})
    assert bands == expected


@settings(max_examples=40, deadline=None)
@given(
    schedulers,
    st.lists(st.lists(st.floats(0, 5, allow_nan=False), min_size=1, max_size=12), max_size=15),
    st.integers(1, 4),
)
def test_simulated_sweeps_never_break_the_contract(
    scheduler: tuple[str, dict[str, Any]], curves: list[list[float]], agents: int
) -> None:
    kind, options = scheduler
    spec = _spec(kind, options, "minimize")
    configs = [CurveConfig(curve=tuple(c), epoch_time=1 + i % 2) for i, c in enumerate(curves)]
    result = simulate(spec, configs, DECIDE[kind], agents=agents)  # raises on a contract breach
    assert result.epochs == sum(t.iterations for t in result.trials)
    for t, config in zip(result.trials, configs, strict=True):
        assert t.state in (RunState.FINISHED, RunState.STOPPED)
        if t.state is RunState.FINISHED:
            assert t.iterations == len(config.curve)
