"""ASHA as a stateless stopping rule: rungs, the top-1/eta cut, min_runs, same-rung comparison."""

from __future__ import annotations

import math
from typing import Any

import pytest

from opensweep.core.model import RunState
from opensweep.errors import ConfigError
from opensweep.schedulers import asha
from opensweep.schedulers.registry import get_scheduler


def _stopped(spec: Any, trials: list[Any]) -> list[str]:
    return sorted(d.run_id for d in asha.decide(spec, trials))


def test_registry_resolves_asha() -> None:
    assert get_scheduler("asha") is asha.decide


def test_rungs_follow_eta_below_max_iter() -> None:
    assert asha.asha_rungs(1, 3, 27) == [1, 3, 9]
    assert asha.asha_rungs(2, 3, 81) == [2, 6, 18, 54]
    assert asha.asha_rungs(1, 2, 9) == [1, 2, 4, 8]
    assert asha.asha_rungs(4, 4, 4 + 1) == [4]
    assert asha.asha_rungs(1, 3, None, limit=100) == [1, 3, 9, 27, 81]


def test_top_third_of_a_full_rung_goes_on(spec_of: Any, trial_of: Any) -> None:
    spec = spec_of("asha", {"min_iter": 1, "max_iter": 27, "eta": 3, "min_runs": 3})
    trials = [trial_of(f"r{v}", [float(v)]) for v in range(9)]  # r0 best ... r8 worst
    assert _stopped(spec, trials) == [f"r{v}" for v in range(3, 9)]


def test_ties_at_the_cut_survive(spec_of: Any, trial_of: Any) -> None:
    spec = spec_of("asha", {"min_iter": 1, "max_iter": 27, "eta": 3, "min_runs": 3})
    trials = [trial_of("a", [1.0]), trial_of("b", [2.0]), trial_of("c", [2.0])]
    assert _stopped(spec, trials) == ["b", "c"]  # keep 1 of 3
    # two share the best value: both go on
    trials = [trial_of("a", [2.0]), trial_of("b", [2.0]), trial_of("c", [3.0])]
    assert _stopped(spec, trials) == ["c"]


def test_no_cut_until_min_runs_reached_the_rung(spec_of: Any, trial_of: Any) -> None:
    spec = spec_of("asha", {"min_iter": 1, "max_iter": 27, "eta": 3, "min_runs": 4})
    trials = [trial_of("a", [1.0]), trial_of("b", [5.0]), trial_of("c", [9.0])]
    assert _stopped(spec, trials) == []
    trials.append(trial_of("d", [2.0], RunState.FINISHED))
    assert _stopped(spec, trials) == ["b", "c"]


def test_runs_are_compared_at_the_same_rung_only(spec_of: Any, trial_of: Any) -> None:
    # "early" finished long ago with a great value at iteration 9, but at rung 3 it was mediocre;
    # "late" (at rung 3) is compared with the others' best by iteration 3, not their later values.
    spec = spec_of("asha", {"min_iter": 3, "max_iter": 27, "eta": 3, "min_runs": 3})
    trials = [
        trial_of("early", [5.0, 5.0, 5.0, 1.0, 1.0, 1.0, 0.1, 0.1, 0.1], RunState.FINISHED),
        trial_of("other", [6.0, 6.0, 6.0], RunState.FINISHED),
        trial_of("late", [4.0, 4.0, 4.0]),
    ]
    assert _stopped(spec, trials) == []


def test_a_run_is_judged_at_its_highest_rung(spec_of: Any, trial_of: Any) -> None:
    spec = spec_of("asha", {"min_iter": 1, "max_iter": 27, "eta": 3, "min_runs": 3})
    others = [trial_of(f"o{i}", [1.0, 1.0, 1.0], RunState.FINISHED) for i in range(3)]
    # bad at rung 1, but at rung 3 it is the best by iteration 3: goes on
    comeback = trial_of("comeback", [9.0, 9.0, 0.5])
    assert _stopped(spec, [*others, comeback]) == []
    # while below rung 3 it is judged at rung 1 and cut
    assert _stopped(spec, [*others, trial_of("comeback", [9.0, 9.0])]) == ["comeback"]


def test_best_so_far_by_default_strict_uses_the_value_at_the_rung(
    spec_of: Any, trial_of: Any
) -> None:
    options = {"min_iter": 3, "max_iter": 27, "eta": 3, "min_runs": 3}
    others = [trial_of(f"o{i}", [2.0, 2.0, 2.0], RunState.FINISHED) for i in range(3)]
    spiky = trial_of("spiky", [1.0, 1.0, 9.0])  # one bad epoch right at the rung
    assert _stopped(spec_of("asha", options), [*others, spiky]) == []
    strict = spec_of("asha", {**options, "strict": True})
    assert _stopped(strict, [*others, spiky]) == ["spiky"]


def test_nan_counts_as_the_worst_value(spec_of: Any, trial_of: Any) -> None:
    spec = spec_of("asha", {"min_iter": 2, "max_iter": 27, "eta": 3, "min_runs": 3})
    trials = [
        trial_of("a", [1.0, 1.0]),
        trial_of("b", [1.0, 1.0]),
        trial_of("diverged", [math.nan, math.nan]),
    ]
    assert _stopped(spec, trials) == ["diverged"]


def test_maximize_and_reason(spec_of: Any, trial_of: Any) -> None:
    spec = spec_of(
        "asha",
        {"min_iter": 1, "max_iter": 9, "eta": 3, "min_runs": 3},
        metric="acc",
        goal="maximize",
    )
    trials = [trial_of("a", [0.9]), trial_of("b", [0.5]), trial_of("c", [0.7])]
    decisions = asha.decide(spec, trials)
    assert sorted(d.run_id for d in decisions) == ["b", "c"]
    reason = {d.run_id: d.reason for d in decisions}["b"]
    assert reason.startswith("asha rung 1: 0.5 worse than threshold 0.9")
    assert "best 1 of 3 runs" in reason


def test_no_rung_at_or_after_max_iter(spec_of: Any, trial_of: Any) -> None:
    spec = spec_of("asha", {"min_iter": 3, "max_iter": 9, "eta": 3, "min_runs": 2})
    # at iteration 9 (= max_iter) there is no rung: judged at rung 3, where it was fine
    trials = [
        trial_of("a", [1.0] * 9, RunState.FINISHED),
        trial_of("b", [1.0, 1.0, 1.0] + [5.0] * 6),
    ]
    assert _stopped(spec, trials) == []


def test_only_running_runs_without_a_pending_stop(spec_of: Any, trial_of: Any) -> None:
    spec = spec_of("asha", {"min_iter": 1, "max_iter": 9, "eta": 3, "min_runs": 3})
    trials = [
        trial_of("best", [0.0], RunState.FINISHED),
        trial_of("good", [0.5], RunState.FINISHED),  # 5 runs: the best 2 go on
        trial_of("bad_failed", [9.0], RunState.FAILED),
        trial_of("bad_asked", [9.0], stop_requested=True),
        trial_of("bad_running", [9.0]),
    ]
    assert _stopped(spec, trials) == ["bad_running"]


@pytest.mark.parametrize(
    ("options", "bad_key"),
    [
        ({"min_iter": 0}, "early_terminate.min_iter"),
        ({"eta": 1}, "early_terminate.eta"),
        ({"min_runs": 0}, "early_terminate.min_runs"),
        ({"strict": 1}, "early_terminate.strict"),
        ({"min_iter": 9, "max_iter": 9}, "early_terminate.max_iter"),
    ],
)
def test_bad_options_name_the_key(
    options: dict[str, Any], bad_key: str, spec_of: Any, trial_of: Any
) -> None:
    with pytest.raises(ConfigError) as info:
        asha.decide(spec_of("asha", options), [trial_of("a", [1.0])])
    assert [path for path, _ in info.value.violations] == [bad_key]


def test_defaults_apply_without_options(spec_of: Any, trial_of: Any) -> None:
    spec = spec_of("asha", {})
    n = asha.DEFAULT_MIN_RUNS
    trials = [trial_of(f"r{i}", [float(i)]) for i in range(n)]
    keep = max(1, math.ceil(n / asha.DEFAULT_ETA))
    assert _stopped(spec, trials) == sorted(f"r{i}" for i in range(keep, n))
    assert _stopped(spec, trials[: n - 1]) == []


def test_max_iter_and_s_give_wandb_bands_plus_a_cheap_first_rung() -> None:
    def rungs(options: dict[str, Any]) -> tuple[int, ...]:
        return asha.settings_from_options(options).rungs

    assert rungs({"min_iter": 1, "max_iter": 27, "s": 1}) == (1, 9)
    assert rungs({"max_iter": 27, "s": 2}) == (3, 9)
    assert rungs({"min_iter": 1, "max_iter": 27, "s": 2, "eta": 3}) == (1, 3, 9)
    assert rungs({"min_iter": 5, "max_iter": 27, "s": 2}) == (3, 9)  # not below the bands: unused
    assert rungs({"min_iter": 2, "max_iter": 27}) == (2, 6, 18)
    assert rungs({})[:4] == (1, 3, 9, 27)  # no max_iter: rungs go on


@pytest.mark.parametrize(
    ("options", "bad_key"),
    [({"s": 2}, "early_terminate.s"), ({"max_iter": 2, "s": 1}, "early_terminate.s")],
)
def test_s_needs_a_max_iter_with_room_for_a_band(
    options: dict[str, Any], bad_key: str, spec_of: Any
) -> None:
    with pytest.raises(ConfigError) as info:
        asha.decide(spec_of("asha", options), [])  # an empty history validates the options
    assert [path for path, _ in info.value.violations] == [bad_key]


# --- the level cut: a run is stopped once at least n/eta runs at its rung did better ---------


@pytest.mark.parametrize(("n", "kept"), [(3, 1), (4, 2), (6, 2), (7, 3), (9, 3), (10, 4)])
def test_the_best_ceil_n_over_eta_go_on(n: int, kept: int, spec_of: Any, trial_of: Any) -> None:
    spec = spec_of("asha", {"min_iter": 1, "max_iter": 27, "eta": 3, "min_runs": 3})
    trials = [trial_of(f"r{v}", [float(v)]) for v in range(n)]
    assert _stopped(spec, trials) == sorted(f"r{v}" for v in range(kept, n))


# --- progress: slow starters that improve fast go on -----------------------------------------

# Six runs reached rung 3 (rungs 1, 3, 9): the best 2 by level go on, and the 2 that improved
# most since rung 1 (floor(6 * 1/3)) go on too.
_FAST = [[0.50, 0.45, 0.40], [0.52, 0.50, 0.45]]  # the level leaders, small improvement


def _rung3(trial_of: Any, **runs: list[float]) -> list[Any]:
    leaders = [trial_of(f"fast{i}", v, RunState.FINISHED) for i, v in enumerate(_FAST)]
    return [*leaders, *(trial_of(name, values) for name, values in runs.items())]


def test_a_slow_starter_that_improves_fast_goes_on(spec_of: Any, trial_of: Any) -> None:
    spec = spec_of("asha", {"min_iter": 1, "max_iter": 27, "eta": 3, "min_runs": 3})
    trials = _rung3(
        trial_of,
        slow_starter=[2.0, 1.2, 0.8],  # 60% better than at rung 1: the most improved
        flat=[0.85, 0.82, 0.80],  # same level, 6% better: stopped
        steady=[1.0, 0.9, 0.7],  # 30%: the second most improved
        poor=[1.5, 1.4, 1.3],  # 13%
    )
    assert _stopped(spec, trials) == ["flat", "poor"]
    # without progress only the level counts: the slow starter is stopped too
    level_only = spec_of("asha", {"min_iter": 1, "max_iter": 27, "eta": 3, "progress": False})
    assert _stopped(level_only, trials) == ["flat", "poor", "slow_starter", "steady"]


def test_a_run_clearly_out_of_the_pack_is_still_stopped(spec_of: Any, trial_of: Any) -> None:
    spec = spec_of("asha", {"min_iter": 1, "max_iter": 27, "eta": 3, "min_runs": 3})
    trials = _rung3(
        trial_of,
        a=[2.0, 1.0, 0.9],  # 55%
        b=[2.0, 1.2, 1.0],  # 50%
        hopeless=[3.0, 2.5, 2.0],  # worst level, 33%: not among the 2 most improved
        flat=[0.9, 0.9, 0.9],  # no improvement at all
    )
    decisions = {d.run_id: d.reason for d in asha.decide(spec, trials)}
    assert sorted(decisions) == ["flat", "hopeless"]
    assert decisions["hopeless"] == (
        "asha rung 3: 2 worse than threshold 0.45 (best loss by iteration 3; only the best 2 of "
        "6 runs at this rung go on); improvement since rung 1 33.3% below threshold 50% (the 2 "
        "most improved go on too)"
    )
    assert decisions["flat"].endswith("; no improvement since rung 1")


def test_progress_counts_relative_improvement_when_maximizing(spec_of: Any, trial_of: Any) -> None:
    spec = spec_of(
        "asha",
        {"min_iter": 1, "max_iter": 27, "eta": 3, "min_runs": 3},
        metric="acc",
        goal="maximize",
    )
    trials = [
        trial_of("lead0", [0.90, 0.92, 0.95], RunState.FINISHED),
        trial_of("lead1", [0.90, 0.91, 0.94], RunState.FINISHED),
        trial_of("riser", [0.30, 0.60, 0.80]),  # 167% better: goes on
        trial_of("creeper", [0.79, 0.80, 0.80]),
        trial_of("a", [0.50, 0.55, 0.60]),
        trial_of("b", [0.40, 0.50, 0.55]),
    ]
    assert _stopped(spec, trials) == ["a", "creeper"]


def test_a_run_that_was_nan_at_the_previous_rung_never_goes_on_by_progress(
    spec_of: Any, trial_of: Any
) -> None:
    spec = spec_of("asha", {"min_iter": 1, "max_iter": 27, "eta": 3, "min_runs": 3})
    trials = _rung3(
        trial_of,
        a=[1.0, 0.9, 0.85],
        b=[1.0, 0.95, 0.9],
        diverged_then_fine=[math.nan, 0.9, 0.6],  # looks infinitely improved: it is not
        c=[1.0, 1.0, 0.95],
    )
    assert "diverged_then_fine" in _stopped(spec, trials)


def test_no_progress_promotion_where_floor_n_over_eta_k_is_zero(
    spec_of: Any, trial_of: Any
) -> None:
    # rung 9 is the second rung above the first: floor(n / 9) is 0 with 4 runs there
    spec = spec_of("asha", {"min_iter": 1, "max_iter": 27, "eta": 3, "min_runs": 3})
    done = [trial_of(f"d{i}", [0.5] * 9, RunState.FINISHED) for i in range(3)]
    riser = trial_of("riser", [2.0, 2.0, 2.0, 1.5, 1.2, 1.0, 0.9, 0.8, 0.7])
    decisions = asha.decide(spec, [*done, riser])
    assert [d.run_id for d in decisions] == ["riser"]
    assert "improvement" not in decisions[0].reason


def test_progress_with_strict_uses_the_values_at_the_rungs(spec_of: Any, trial_of: Any) -> None:
    options = {"min_iter": 1, "max_iter": 27, "eta": 3, "min_runs": 3, "strict": True}
    trials = _rung3(
        trial_of,
        riser=[2.0, 1.5, 0.8],  # 60% better at iteration 3 than at iteration 1: goes on
        relapse=[0.6, 0.3, 0.9],  # worse at iteration 3 than at 1: no improvement
        a=[1.0, 0.9, 0.85],
        b=[1.0, 0.95, 0.9],
    )
    decisions = {d.run_id: d.reason for d in asha.decide(spec_of("asha", options), trials)}
    assert sorted(decisions) == ["a", "b", "relapse"]
    assert decisions["relapse"].startswith("asha rung 3: 0.9 worse than threshold 0.45 (loss at")
    assert decisions["relapse"].endswith("; no improvement since rung 1")
    # not strict: the relapse's best by iteration 3 (0.3) leads by level
    assert "relapse" not in _stopped(spec_of("asha", {**options, "strict": False}), trials)


def test_progress_must_be_a_bool(spec_of: Any, trial_of: Any) -> None:
    with pytest.raises(ConfigError) as info:
        asha.decide(spec_of("asha", {"progress": "yes"}), [trial_of("a", [1.0])])
    assert [path for path, _ in info.value.violations] == ["early_terminate.progress"]


def test_restarted_decisions_are_the_same(spec_of: Any, trial_of: Any) -> None:
    # the decision is a function of the history only: a copy of it decides the same
    spec = spec_of("asha", {"min_iter": 1, "max_iter": 27, "eta": 3})
    trials = _rung3(trial_of, s=[2.0, 1.2, 0.8], f=[0.85, 0.82, 0.8], p=[1.5, 1.4, 1.3])
    first = asha.decide(spec, trials)
    again = asha.decide(spec, [trial_of(t.run_id, t.metric_history, t.state) for t in trials])
    assert first == again and first
