"""Reading a run's metric: its series over the logged rows, and its best value.

W&B's rules (``sweeps`` run.py): the series holds the metric's value for every row that
contains the key, in log order (so its length counts iterations, not ``_step``); invalid
values (NaN, ±inf, bools, strings such as "NaN", None, anything not a number) are dropped
before taking an extremum; the extremum covers the history *and* the summary.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from opensweep.core.encoding import as_metric

Goal = Literal["minimize", "maximize"]


class MetricUnavailable(ValueError):
    """A run has no usable value of the metric (none logged, or none finite)."""

    def __init__(self, metric: str, reason: str) -> None:
        super().__init__(f"metric {metric!r}: {reason}")
        self.metric = metric
        self.reason = reason


def metric_series(rows: Iterable[Mapping[str, Any]], metric: str) -> list[Any]:
    """The raw values of ``metric`` in every row that has the key, in order."""
    return [row[metric] for row in rows if metric in row]


def as_finite(value: Any) -> float | None:
    """``value`` as a finite float, or None when it is not a usable metric value."""
    number = as_metric(value)
    if number is None or not math.isfinite(number):
        return None
    return number


def filter_invalid(values: Iterable[Any]) -> list[float]:
    """The finite numbers among ``values`` (bools, strings, NaN and ±inf dropped)."""
    out = []
    for v in values:
        number = as_finite(v)
        if number is not None:
            out.append(number)
    return out


def history_floats(rows: Iterable[Mapping[str, Any]], metric: str) -> tuple[float, ...]:
    """The series as floats for :class:`~opensweep.core.history.Trial`: one entry per row with
    the key; values that are not numbers become NaN (±inf stay as they are)."""
    out = []
    for v in metric_series(rows, metric):
        number = as_metric(v)
        out.append(math.nan if number is None else number)
    return tuple(out)


def summary_value(summary: Mapping[str, Any], metric: str) -> float | None:
    """The summary's value of ``metric`` if it is a finite number."""
    return as_finite(summary.get(metric)) if metric in summary else None


def extremum(
    history: Sequence[Any], summary: Any, metric: str, kind: Literal["min", "max"]
) -> float:
    """W&B's ``metric_extremum``: min or max over the history and the summary value (pass
    ``None`` when the summary lacks the key). Raises :class:`MetricUnavailable` when nothing
    was logged, or nothing logged is a finite number."""
    raw = [*history, *([] if summary is None else [summary])]
    if not raw:
        raise MetricUnavailable(metric, "never logged by this run")
    values = filter_invalid(raw)
    if not values:
        raise MetricUnavailable(metric, "no finite value logged by this run")
    return min(values) if kind == "min" else max(values)


def best_value(
    rows: Iterable[Mapping[str, Any]],
    summary: Mapping[str, Any],
    metric: str,
    goal: Goal = "minimize",
) -> float:
    """The run's best value of ``metric`` under ``goal`` (history and summary);
    :class:`MetricUnavailable` when there is none."""
    history = metric_series(rows, metric)
    kind: Literal["min", "max"] = "min" if goal == "minimize" else "max"
    return extremum(history, summary.get(metric), metric, kind)


def best_or_none(
    rows: Iterable[Mapping[str, Any]],
    summary: Mapping[str, Any],
    metric: str,
    goal: Goal = "minimize",
) -> float | None:
    """:func:`best_value`, or None when the run has no usable value."""
    try:
        return best_value(rows, summary, metric, goal)
    except MetricUnavailable:
        return None
