"""The many-agent simulator (fake time) driving asha and hyperband step by step."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pytest

from opensweep.config.spec import SweepSpec
from opensweep.core.history import Trial
from opensweep.core.model import RunState
from opensweep.schedulers import asha, hyperband
from opensweep.schedulers.base import StopDecision
from opensweep.testing.simulator import CurveConfig, SchedulerContractError, simulate


def _constant(values: Sequence[float], epochs: int) -> list[CurveConfig]:
    return [CurveConfig(curve=(float(v),) * epochs) for v in values]


def _outcome(result: Any) -> dict[str, tuple[str, int]]:
    return {t.run_id: (t.state.value, t.iterations) for t in result.trials}


def test_asha_promotions_with_three_agents(spec_of: Any) -> None:
    # rungs 1 and 3 (max_iter 9); a rung cuts once 3 runs reached it; keep the best third.
    spec = spec_of("asha", {"min_iter": 1, "max_iter": 9, "eta": 3, "min_runs": 3})
    configs = _constant([5, 3, 4, 1, 6, 2], epochs=9)
    result = simulate(spec, configs, asha.decide, agents=3)
    assert _outcome(result) == {
        # t=1: run-2 makes rung 1 full (5, 3, 4): run-2 stops at once, run-0 at its next log
        "run-0000": ("stopped", 2),
        # t=2: run-3 logs 1 at rung 1: of (5, 3, 4, 1) the best 2 go on (a run is stopped once
        # n/eta = 4/3 runs did better), so run-1 (3) is promoted; at rung 3 (t=6: 3, 1, 2) only
        # 1 of 3 goes on, and constant curves never go on by progress
        "run-0001": ("stopped", 6),
        "run-0002": ("stopped", 1),
        # the best run is promoted through rung 3 and finishes
        "run-0003": ("finished", 9),
        # t=3: 6 at rung 1 is not among the best 2 of (5, 3, 4, 1, 6)
        "run-0004": ("stopped", 1),
        # t=4: 2 is second of 6 at rung 1 (keep 2): promoted; at rung 3 (t=6) only 1 of 3 goes on
        "run-0005": ("stopped", 3),
    }
    assert result.epochs == 2 + 6 + 1 + 9 + 1 + 3
    assert result.end_time == 10.0  # run-3 started at t=1 and trained 9 epochs
    reasons = result.stop_reasons()
    assert reasons["run-0005"].startswith("asha rung 3: 2 worse than threshold 1")
    assert reasons["run-0005"].endswith("; no improvement since rung 1")
    assert reasons["run-0004"].startswith("asha rung 1: 6 worse than threshold 3")
    assert "best 2 of 5 runs" in reasons["run-0004"]


def test_asha_lets_every_run_reach_a_rung_before_min_runs(spec_of: Any) -> None:
    spec = spec_of("asha", {"min_iter": 1, "max_iter": 9, "eta": 3, "min_runs": 100})
    result = simulate(spec, _constant(range(10), epochs=9), asha.decide, agents=4)
    assert all(t.state is RunState.FINISHED and t.iterations == 9 for t in result.trials)


def test_simulation_is_deterministic(spec_of: Any) -> None:
    spec = spec_of("asha", {"min_iter": 1, "max_iter": 27, "eta": 3, "min_runs": 3})
    configs = [
        CurveConfig(curve=tuple(1.0 / (1 + i * e) for e in range(1, 28)), epoch_time=1 + i % 3)
        for i in range(30)
    ]
    first = simulate(spec, configs, asha.decide, agents=5)
    second = simulate(spec, configs, asha.decide, agents=5)
    assert first == second
    assert first.scheduler_calls == first.epochs


def test_ordered_curves_the_best_is_never_stopped_and_few_go_far(spec_of: Any) -> None:
    # curves that never cross: successive halving must keep the best and stop most others early
    spec = spec_of("asha", {"min_iter": 1, "max_iter": 27, "eta": 3, "min_runs": 3})
    order = [7, 3, 11, 0, 14, 5, 9, 1, 12, 6, 2, 13, 8, 4, 10] * 2
    configs = [CurveConfig(curve=tuple(q + 1.0 / e for e in range(1, 28))) for q in order]
    result = simulate(spec, configs, asha.decide, agents=3)
    best = [t for t, q in zip(result.trials, order, strict=True) if q == 0]
    assert all(t.state is RunState.FINISHED for t in best)
    assert result.epochs < 0.35 * 27 * len(configs)


def test_hyperband_in_the_simulator_matches_its_rule(spec_of: Any) -> None:
    spec = spec_of("hyperband", {"min_iter": 2, "eta": 2})
    result = simulate(spec, _constant([1, 2, 3, 4], epochs=4), hyperband.decide, agents=4)
    # band 2: values (1, 2, 3, 4), threshold index 2 -> 3; run-3 (4) stops after its 2nd value
    assert _outcome(result)["run-0003"] == ("stopped", 2)
    # band 4: the survivors (1, 2, 3) -> threshold index 2 of [1, 2, 3] is 3: ties survive
    assert _outcome(result)["run-0000"] == ("finished", 4)


def test_budget_and_max_runs_limit_new_runs(spec_of: Any) -> None:
    spec = spec_of("asha", {"min_iter": 1, "max_iter": 9})
    configs = _constant(range(50), epochs=9)
    assert len(simulate(spec, configs, None, agents=2, max_runs=7).trials) == 7
    budgeted = simulate(spec, configs, None, agents=2, epoch_budget=30)
    # runs start while fewer than 30 epochs were logged; started runs go to the end
    assert len(budgeted.trials) == 4
    assert budgeted.epochs == 36


def _rogue_stopping(run_state: RunState | None) -> Any:
    def scheduler(spec: SweepSpec, history: Sequence[Trial]) -> list[StopDecision]:
        for t in history:
            if run_state is None and t.stop_requested:
                return [StopDecision(t.run_id, "again")]
            if run_state is not None and t.state is run_state:
                return [StopDecision(t.run_id, "not running")]
        return [StopDecision(history[0].run_id, "first")] if run_state is None else []

    return scheduler


@pytest.mark.parametrize("state", [RunState.FINISHED, None])
def test_a_scheduler_breaking_the_contract_is_caught(spec_of: Any, state: Any) -> None:
    spec = spec_of("asha", {"min_iter": 1})
    with pytest.raises(SchedulerContractError):
        simulate(spec, _constant([1, 2, 3], epochs=2), _rogue_stopping(state), agents=3)


def test_asha_keeps_a_slow_starter_that_improves_fast(spec_of: Any) -> None:
    def stalling(level: float, slope: float) -> CurveConfig:
        return CurveConfig(curve=tuple(level * (1 - slope * t) for t in range(1, 28)))

    # the last run learns slowly (third of 7 at rung 1, third of 4 at rung 3), then is the best
    slow = CurveConfig(curve=tuple(0.1 + math.exp(-(t - 1) / 3) for t in range(1, 28)))
    configs = [
        *(stalling(level, 0.001) for level in (2.0, 2.1, 2.2)),
        stalling(0.5, 0.005),
        stalling(0.52, 0.004),
        stalling(2.3, 0.001),
        slow,
    ]
    options = {"min_iter": 1, "max_iter": 27, "eta": 3, "min_runs": 3}
    result = simulate(spec_of("asha", options), configs, asha.decide, agents=3)
    assert result.trial("run-0006").state is RunState.FINISHED
    reasons = result.stop_reasons()
    assert reasons["run-0000"].startswith("asha rung 3: 1.994 worse than threshold 0.4925")
    assert reasons["run-0000"].endswith("(the 1 most improved go on too)")
    # by level alone the slow starter is cut at rung 3
    level_only = spec_of("asha", {**options, "progress": False})
    cut = simulate(level_only, configs, asha.decide, agents=3)
    assert cut.trial("run-0006").state is RunState.STOPPED
    assert cut.stop_reasons()["run-0006"].startswith("asha rung 3: 0.613417 worse than threshold")
