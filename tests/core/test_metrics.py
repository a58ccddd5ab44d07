"""core.metrics against W&B's recorded reading of run metrics (run_metrics.json)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from opensweep.core.encoding import decode_value
from opensweep.core.metrics import (
    MetricUnavailable,
    as_finite,
    best_or_none,
    best_value,
    extremum,
    filter_invalid,
    history_floats,
    metric_series,
    summary_value,
)

_DATA = json.loads(
    (Path(__file__).parents[1] / "data" / "wandb-reference" / "run_metrics.json").read_text()
)
_CASES = [decode_value(c) for c in _DATA["cases"]]


@pytest.mark.parametrize("case", _CASES, ids=lambda c: c["id"])
def test_series_and_filtering_match_wandb(case: dict[str, Any]) -> None:
    series = metric_series(case["history"], case["metric"])
    assert len(series) == len(case["metric_history"])
    for ours, theirs in zip(series, case["metric_history"], strict=True):
        assert ours == theirs or (ours != ours and theirs != theirs)  # NaN == NaN here
        assert type(ours) is type(theirs)
    assert filter_invalid(series) == case["metric_history_filtered"]


@pytest.mark.parametrize("case", _CASES, ids=lambda c: c["id"])
def test_extremum_matches_wandb(case: dict[str, Any]) -> None:
    summary = case["summary"].get(case["metric"]) if case["metric"] in case["summary"] else None
    series = metric_series(case["history"], case["metric"])
    for kind, key, goal in (("min", "minimum", "minimize"), ("max", "maximum", "maximize")):
        expected = case[key]
        if isinstance(expected, dict):  # W&B raises ValueError
            with pytest.raises(MetricUnavailable) as info:
                extremum(series, summary, case["metric"], kind)  # type: ignore[arg-type]
            assert isinstance(info.value, ValueError)
            assert case["metric"] in str(info.value)
            assert best_or_none(case["history"], case["summary"], case["metric"], goal) is None
        else:
            assert extremum(series, summary, case["metric"], kind) == expected  # type: ignore[arg-type]
            assert best_value(case["history"], case["summary"], case["metric"], goal) == expected


def test_errors_say_why() -> None:
    with pytest.raises(MetricUnavailable, match="never logged"):
        best_value([{"x": 1}], {}, "loss")
    with pytest.raises(MetricUnavailable, match="no finite value"):
        best_value([{"loss": "NaN"}], {"loss": None}, "loss")


def test_history_floats_keep_positions_for_trials() -> None:
    rows = [
        {"loss": 1},
        {"a": 2},
        {"loss": "NaN"},
        {"loss": True},
        {"loss": math.inf},
        {"loss": 0.5},
    ]
    values = history_floats(rows, "loss")
    assert len(values) == 5  # one per row with the key: W&B's iteration count
    assert values[0] == 1.0 and math.isnan(values[1]) and math.isnan(values[2])
    assert values[3] == math.inf and values[4] == 0.5


def test_scalar_helpers() -> None:
    import numpy as np

    assert as_finite(np.float32(1.5)) == 1.5
    assert as_finite(np.int64(3)) == 3.0
    assert as_finite(np.bool_(True)) is None
    assert as_finite(None) is None and as_finite(math.nan) is None and as_finite("1") is None
    assert summary_value({"loss": 0.25}, "loss") == 0.25
    assert summary_value({"loss": math.nan}, "loss") is None
    assert summary_value({}, "loss") is None
