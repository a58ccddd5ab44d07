"""config.validate against W&B's recorded verdicts (config_validation.json).

Valid vs invalid must match W&B, except where we deliberately do better (DEVIATIONS, each
with its reason); every one of our violations names a key path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from opensweep.config import parse, validate

_DATA = json.loads(
    (Path(__file__).parents[1] / "data" / "wandb-reference" / "config_validation.json").read_text()
)
_CASES = _DATA["cases"]

# case id -> why our verdict differs from W&B's (verdict flips, the rest still must match)
DEVIATIONS: dict[str, str] = {
    "moo_custom_ok": "`method: custom` needs a W&B Launch scheduler; multi-objective `metrics` "
    "is not supported: both are reported instead of silently ignored",
    "scheduler_wandb_ok": "method bayes without `metric`: W&B accepts the config and fails at "
    "the first suggestion; we refuse it up front",
    "scheduler_and_cloud_controller": "method bayes without `metric` (as above)",
    "scheduler_search_space_no_parameters": "the search space lives in W&B Launch scheduler "
    "code that opensweep does not run, so `parameters` stays required",
    "deprecated_log_uniform": "W&B lists the deprecation as a violation but runs it anyway; "
    "we accept it and put the deprecation in SweepSpec.notes",
    "deprecated_q_log_uniform": "as deprecated_log_uniform",
    "deprecated_inv_log_uniform": "as deprecated_log_uniform",
}

# case id -> a path our violations must include (the offending key)
EXPECTED_PATHS: dict[str, str] = {
    "min_eq_max": "parameters.a.min",
    "negative_sigma": "parameters.v1.sigma",
    "missing_parameters": "parameters",
    "empty_parameters": "parameters",
    "prob_length_mismatch": "parameters.v1.probabilities",
    "prob_not_sum_1": "parameters.v1.probabilities",
    "moo_custom_ok": "method",
    "metric_and_metrics_exclusive": "metrics",
    "scheduler_optuna_unsupported": "scheduler.engine",
    "scheduler_ax_unsupported": "scheduler.engine",
    "scheduler_ax_custom_moo": "scheduler.engine",
    "scheduler_bad_engine": "scheduler.engine",
    "scheduler_and_local_controller": "controller",
    "scheduler_empty_search_space_needs_parameters": "parameters",
    "hyperband_type_only": "early_terminate",
    "hyperband_max_iter_without_s": "early_terminate",
    "hyperband_eta_1": "early_terminate.eta",
    "hyperband_string": "early_terminate",
    "controller_invalid": "controller.type",
    "goal_misspelled": "metric.goal",
    "int_uniform_with_float_bounds": "parameters.a.min",
    "log_uniform_values_min_gt_max": "parameters.a.min",
    "method_unknown": "method",
    "unknown_top_level_key": "unknown_key",
    "unknown_param_key": "parameters.a.extra",
    "bad_param_name": "parameters.bad name!",
    "impute_invalid": "metric.impute",
    "metric_extra_key": "metric.foo",
    "run_cap_-1": "run_cap",
    "run_cap_0": "run_cap",
    "run_cap_-0.3": "run_cap",
    "run_cap_5.1": "run_cap",
    "run_cap_1": "run_cap",
    "scheduler_wandb_ok": "metric",
    "scheduler_and_cloud_controller": "metric",
    "scheduler_search_space_no_parameters": "parameters",
}


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [f"{i}-{c['id']}" for i, c in enumerate(cases)]


@pytest.mark.parametrize("case", _CASES, ids=_ids(_CASES))
def test_valid_vs_invalid_matches_wandb(case: dict[str, Any]) -> None:
    ours = validate(case["config"])
    wandb_valid = not case["violations"]
    if case["id"] in DEVIATIONS:
        assert (not ours) is (not wandb_valid), f"deviation no longer needed: {case['id']}"
    else:
        assert (not ours) is wandb_valid, [str(v) for v in ours]
    for violation in ours:
        assert violation.path, f"violation without a key path: {violation}"
    if ours:
        assert EXPECTED_PATHS[case["id"]] in {v.path for v in ours}


@pytest.mark.parametrize(
    "case",
    [c for c in _CASES if c["sweepconfig"]["ok"] and c["id"] not in DEVIATIONS],
    ids=lambda c: c["id"],
)
def test_filled_parameters_match_wandb(case: dict[str, Any]) -> None:
    spec = parse(case["config"])
    filled = case["sweepconfig"]["filled"]
    for param in spec.space.params:
        assert dict(param.spec) == filled["parameters"][param.name]
    if "early_terminate" in filled:
        assert spec.early_terminate is not None
        expected = dict(filled["early_terminate"])
        assert spec.early_terminate.type == expected.pop("type")
        assert dict(spec.early_terminate.options) == expected
    if "metric" in filled:
        assert spec.metric is not None
        for key, value in filled["metric"].items():
            assert getattr(spec.metric, key) == value


def test_deprecated_distributions_are_notes_not_violations() -> None:
    spec = parse(
        {
            "method": "random",
            "parameters": {"a": {"min": 1, "max": 2, "distribution": "log_uniform"}},
        }
    )
    assert any(n.startswith("parameters.a: log_uniform is deprecated") for n in spec.notes)
    assert any("log_uniform_values" in n for n in spec.notes)


_LENIENT_METRIC = _DATA["lenient_metric_fill"]["cases"]


@pytest.mark.parametrize("case", _LENIENT_METRIC, ids=lambda c: json.dumps(c["metric_in"]))
def test_metric_defaults_match_wandb_fill(case: dict[str, Any]) -> None:
    """W&B fills goal/impute/impute_while_running defaults; where its lenient path silently
    replaces an invalid value (goal: minimise), we report it instead."""
    config = {"method": "random", "metric": case["metric_in"], "parameters": {"a": {"value": 1}}}
    violations = validate(config)
    invalid = [k for k, v in case["metric_in"].items() if case["metric_out"].get(k) != v]
    if invalid:
        assert {v.path for v in violations} == {f"metric.{k}" for k in invalid}
        return
    spec = parse(config)
    assert spec.metric is not None
    for key, value in case["metric_out"].items():
        assert getattr(spec.metric, key) == value


_LENIENT_HYPERBAND = _DATA["lenient_hyperband_fill"]["cases"]


@pytest.mark.parametrize(
    "case", _LENIENT_HYPERBAND, ids=lambda c: json.dumps(c["early_terminate_in"])
)
def test_hyperband_defaults_match_wandb_fill(case: dict[str, Any]) -> None:
    """Defaults eta=3, strict=true as W&B; W&B drops unknown keys silently, we report them."""
    config = {
        "method": "random",
        "metric": {"name": "l"},
        "early_terminate": case["early_terminate_in"],
        "parameters": {"a": {"value": 1}},
    }
    dropped = set(case["early_terminate_in"]) - set(case["early_terminate_out"])
    if dropped:
        assert {v.path for v in validate(config)} == {f"early_terminate.{k}" for k in dropped}
        return
    spec = parse(config)
    assert spec.early_terminate is not None
    expected = dict(case["early_terminate_out"])
    assert spec.early_terminate.type == expected.pop("type")
    assert dict(spec.early_terminate.options) == expected
