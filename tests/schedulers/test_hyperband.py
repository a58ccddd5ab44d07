"""W&B's hyperband rule: every case of the reference data, plus the rule's edges."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from opensweep.core.encoding import decode_value
from opensweep.core.model import RunState
from opensweep.errors import ConfigError
from opensweep.schedulers import hyperband
from opensweep.schedulers.registry import get_scheduler

REFERENCE_FILE = Path(__file__).parents[1] / "data" / "wandb-reference" / "hyperband.json"
CASES: list[dict[str, Any]] = decode_value(json.loads(REFERENCE_FILE.read_text()))["cases"]


def _case_inputs(case: dict[str, Any], spec_of: Any, wandb_trial: Any) -> tuple[Any, list[Any]]:
    config = case["config"]
    metric = config["metric"]
    spec = spec_of(
        "hyperband", config["early_terminate"], metric=metric["name"], goal=metric["goal"]
    )
    trials = [wandb_trial(run, metric["name"], i) for i, run in enumerate(case["runs"])]
    return spec, trials


def test_reference_file_has_the_cases_we_expect() -> None:
    assert len(CASES) >= 17
    assert len({c["id"] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_stopped_runs_match_wandb(case: dict[str, Any], spec_of: Any, wandb_trial: Any) -> None:
    spec, trials = _case_inputs(case, spec_of, wandb_trial)
    decisions = hyperband.decide(spec, trials)
    assert sorted(d.run_id for d in decisions) == sorted(case["expected_stopped"])
    # each decision names its band and is about a running run
    running = {t.run_id for t in trials if t.state is RunState.RUNNING}
    for d in decisions:
        assert d.run_id in running
        assert d.reason.startswith("hyperband band ")
        assert "worse than threshold" in d.reason


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bands_and_thresholds_match_wandb(
    case: dict[str, Any], spec_of: Any, wandb_trial: Any
) -> None:
    spec, trials = _case_inputs(case, spec_of, wandb_trial)
    expected_bands = case["expected_bands_first8"]
    expected_thresholds = case["expected_thresholds_first8_in_minimize_space"]
    settings = hyperband.settings_from_options(spec.early_terminate.options)
    assert hyperband.hyperband_bands(settings)[:8] == expected_bands
    # thresholds over every band W&B lists, even bands no run reached (+inf there)
    table = hyperband.hyperband_thresholds(spec, trials, limit=max(expected_bands))
    got = [th for band, th in table if band in expected_bands][: len(expected_thresholds)]
    assert len(got) == len(expected_thresholds)
    for mine, theirs in zip(got, expected_thresholds, strict=True):
        if math.isinf(theirs):
            assert mine == theirs
        else:
            assert mine == pytest.approx(theirs, rel=1e-9)


def test_registry_resolves_hyperband() -> None:
    assert get_scheduler("hyperband") is hyperband.decide


def test_reason_is_in_user_units_for_maximize(spec_of: Any, trial_of: Any) -> None:
    spec = spec_of("hyperband", {"min_iter": 1, "eta": 3}, metric="acc", goal="maximize")
    trials = [trial_of("good", [0.9]), trial_of("bad", [0.2])]
    [decision] = hyperband.decide(spec, trials)
    assert decision.run_id == "bad"
    assert decision.reason.startswith("hyperband band 1: 0.2 worse than threshold 0.9")


def test_ties_survive(spec_of: Any, trial_of: Any) -> None:
    spec = spec_of("hyperband", {"min_iter": 2, "eta": 2})
    trials = [trial_of(f"r{i}", [5.0, 3.0]) for i in range(4)]
    assert hyperband.decide(spec, trials) == []


def test_only_running_runs_without_a_pending_stop_are_returned(spec_of: Any, trial_of: Any) -> None:
    spec = spec_of("hyperband", {"min_iter": 1, "eta": 3})
    trials = [
        trial_of("best", [1.0], RunState.FINISHED),
        trial_of("best2", [1.0], RunState.FINISHED),
        trial_of("best3", [1.0], RunState.FINISHED),
        trial_of("best4", [1.0], RunState.FINISHED),
        trial_of("bad_finished", [9.0], RunState.FINISHED),
        trial_of("bad_failed", [9.0], RunState.FAILED),
        trial_of("bad_asked", [9.0], stop_requested=True),
        trial_of("bad_running", [9.0]),
    ]
    assert [d.run_id for d in hyperband.decide(spec, trials)] == ["bad_running"]


def test_runs_below_the_first_band_are_not_judged(spec_of: Any, trial_of: Any) -> None:
    spec = spec_of("hyperband", {"min_iter": 3, "eta": 3})
    trials = [trial_of("a", [1.0, 1.0, 1.0]), trial_of("b", [1.0, 1.0, 1.0]), trial_of("c", [9, 9])]
    assert hyperband.decide(spec, trials) == []


def test_non_finite_values_do_not_count_as_iterations(spec_of: Any, trial_of: Any) -> None:
    spec = spec_of("hyperband", {"min_iter": 2, "eta": 2})
    nan, inf = math.nan, math.inf
    trials = [
        trial_of("a", [1.0, 1.0]),
        trial_of("b", [1.0, 1.0]),
        trial_of("c", [9.0, nan, inf, -inf]),  # one valid value: below band 2
    ]
    assert hyperband.decide(spec, trials) == []
    trials[2] = trial_of("c", [9.0, nan, 9.0])
    assert [d.run_id for d in hyperband.decide(spec, trials)] == ["c"]


def test_a_run_is_judged_at_its_largest_band_only(spec_of: Any, trial_of: Any) -> None:
    # "late" was bad at band 1 but is best at band 2: strict judges band 2 only.
    spec = spec_of("hyperband", {"min_iter": 1, "eta": 2})
    trials = [
        trial_of("x", [1.0, 5.0], RunState.FINISHED),
        trial_of("y", [1.0, 6.0], RunState.FINISHED),
        trial_of("late", [9.0, 0.5]),
    ]
    assert hyperband.decide(spec, trials) == []


def test_no_early_terminate_means_no_decisions(trial_of: Any) -> None:
    from opensweep.config.spec import MetricSpec, SweepSpec
    from opensweep.core.space import Space

    spec = SweepSpec(method="random", space=Space(()), metric=MetricSpec(name="loss"))
    assert hyperband.decide(spec, [trial_of("a", [1.0]), trial_of("b", [9.0])]) == []


@pytest.mark.parametrize(
    ("options", "bad_key"),
    [
        ({"eta": 3}, "early_terminate.min_iter"),
        ({"max_iter": 27, "eta": 3}, "early_terminate.min_iter"),
        ({"min_iter": 0}, "early_terminate.min_iter"),
        ({"min_iter": 2.5}, "early_terminate.min_iter"),
        ({"min_iter": "3"}, "early_terminate.min_iter"),
        ({"min_iter": 3, "eta": 1}, "early_terminate.eta"),
        ({"min_iter": 3, "eta": True}, "early_terminate.eta"),
        ({"min_iter": 3, "strict": "yes"}, "early_terminate.strict"),
        ({"max_iter": 2, "s": 1, "eta": 3}, "early_terminate.s"),
    ],
)
def test_bad_options_raise_config_error_naming_the_key(
    options: dict[str, Any], bad_key: str, spec_of: Any, trial_of: Any
) -> None:
    spec = spec_of("hyperband", options)
    with pytest.raises(ConfigError) as info:
        hyperband.decide(spec, [trial_of("a", [1.0, 2.0, 3.0])])
    assert [path for path, _ in info.value.violations] == [bad_key]


def test_missing_metric_is_a_config_error(trial_of: Any) -> None:
    from opensweep.config.spec import EarlyTerminateSpec, SweepSpec
    from opensweep.core.space import Space

    spec = SweepSpec(
        method="random",
        space=Space(()),
        early_terminate=EarlyTerminateSpec("hyperband", {"min_iter": 1}),
    )
    with pytest.raises(ConfigError) as info:
        hyperband.decide(spec, [trial_of("a", [1.0])])
    assert info.value.violations[0][0] == "metric"


def test_max_iter_bands_are_wandb_arithmetic() -> None:
    settings = hyperband.HyperbandSettings(eta=3, strict=True, max_iter=100, s=3)
    assert hyperband.hyperband_bands(settings) == [3, 11, 33]  # 100/27, 100/9, 100/3 truncated
    settings = hyperband.HyperbandSettings(eta=2.5, strict=True, min_iter=1)
    assert hyperband.hyperband_bands(settings, limit=40) == [1, 2, 6, 15, 39]
