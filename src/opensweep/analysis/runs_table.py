"""A sweep's runs as compact columns for the dashboard (and anyone who wants a table).

One JSON object per column instead of one per run: 10,000 runs × 6 parameters is a few
hundred kilobytes that a browser parses in milliseconds. Categorical parameters travel as
indices into a list of labels; numbers stay numbers; every string a user wrote (names,
category labels, summary text) is data, never markup — escaping is the renderer's job.

Pure: the caller reads the runs; nothing here touches I/O or the clock.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from opensweep.config.spec import MetricSpec, SweepSpec
from opensweep.core.encoding import as_metric, dumps
from opensweep.core.model import Run, RunState

MAX_SUMMARY_COLUMNS = 24
MAX_TEXT = 200  # characters of a non-numeric summary value shown in a cell
_HIDDEN_SUMMARY = frozenset({"_step", "_timestamp", "_wandb"})


@dataclass(frozen=True)
class ColumnSpec:
    """How one parameter is shown: numbers (maybe on a log axis) or labelled categories."""

    name: str
    path: tuple[str, ...]
    kind: Literal["numeric", "categorical", "constant"]
    log: bool = False
    categories: tuple[Any, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "log": self.log,
            "categories": [label(v) for v in self.categories],
        }


def label(value: Any) -> str:
    """How a value reads in a cell or on an axis: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return dumps(value)


def column_specs(spec: SweepSpec) -> list[ColumnSpec]:
    """One column per parameter of the sweep's space (constants included, flagged)."""
    out = []
    for p in spec.space.params:
        if p.kind == "categorical":
            out.append(ColumnSpec(p.name, p.path, "categorical", categories=tuple(p.values or ())))
        elif p.kind == "constant":
            out.append(ColumnSpec(p.name, p.path, "constant", categories=tuple(p.values or ())))
        else:
            out.append(ColumnSpec(p.name, p.path, "numeric", log=p.log))
    return out


def lookup(config: Mapping[str, Any], path: Sequence[str]) -> tuple[bool, Any]:
    node: Any = config
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return False, None
        node = node[key]
    return True, node


def finite(value: Any) -> float | None:
    number = as_metric(value)
    return number if number is not None and math.isfinite(number) else None


def cell(value: Any) -> float | str | None:
    """A summary value as a table cell: a finite number, a short text, or None."""
    if value is None:
        return None
    number = as_metric(value)
    if number is not None:
        return number if math.isfinite(number) else label(number)
    text = label(value)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def summary_keys(runs: Sequence[Run], metric: str | None) -> list[str]:
    """The most common summary keys (the metric first), at most ``MAX_SUMMARY_COLUMNS``."""
    counts: Counter[str] = Counter()
    for run in runs:
        counts.update(k for k in run.summary if k not in _HIDDEN_SUMMARY)
    keys = [k for k, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    if metric is not None and metric in keys:
        keys.remove(metric)
        keys.insert(0, metric)
    return keys[:MAX_SUMMARY_COLUMNS]


class CategoryIndex:
    """Stable category indices for one column; unseen values are appended (never reordered),
    so indices already sent to a browser stay valid while new runs arrive."""

    def __init__(self, declared: Sequence[Any]) -> None:
        self.values: list[Any] = []
        self._index: dict[str, int] = {}
        for v in declared:
            self.index(v)

    def index(self, value: Any) -> int:
        key = dumps(value)
        found = self._index.get(key)
        if found is None:
            found = self._index[key] = len(self.values)
            self.values.append(value)
        return found

    @property
    def labels(self) -> list[str]:
        return [label(v) for v in self.values]


def run_columns(
    runs: Sequence[Run],
    columns: Sequence[ColumnSpec],
    categories: Mapping[str, CategoryIndex],
    metric: MetricSpec | None,
    summary: Sequence[str],
    created_index: Mapping[str, int],
) -> dict[str, Any]:
    """The runs as columns. Categorical cells are indices into ``categories[name]`` (extended
    in place with values the space did not declare); -1 means the run has no such key."""
    out: dict[str, Any] = {
        "id": [r.id for r in runs],
        "name": [r.name for r in runs],
        "state": [r.state.value for r in runs],
        "index": [created_index.get(r.id, -1) for r in runs],
        "created": [round(r.created_at, 3) for r in runs],
        "finished": [None if r.finished_at is None else round(r.finished_at, 3) for r in runs],
        "stop_reason": [r.stop_reason for r in runs],
        "metric": [
            finite(r.summary.get(metric.name)) if metric is not None else None for r in runs
        ],
    }
    params: dict[str, list[Any]] = {}
    for col in columns:
        values: list[Any] = []
        for run in runs:
            present, value = lookup(run.config, col.path)
            if col.kind == "numeric":
                values.append(finite(value) if present else None)
            else:
                values.append(categories[col.name].index(value) if present else -1)
        params[col.name] = values
    out["params"] = params
    out["summary"] = {key: [cell(r.summary.get(key)) for r in runs] for key in summary}
    return out


def state_counts(runs: Sequence[Run]) -> dict[str, int]:
    counts = Counter(r.state.value for r in runs)
    return {s.value: counts[s.value] for s in RunState if counts[s.value]}


def best_run(runs: Sequence[Run], metric: MetricSpec | None) -> tuple[Run, float] | None:
    """The run with the best finite summary value of the metric (W&B's best run)."""
    if metric is None:
        return None
    best: tuple[Run, float] | None = None
    for run in runs:
        value = finite(run.summary.get(metric.name))
        if value is not None and (best is None or metric.better(value, best[1])):
            best = (run, value)
    return best


def grid_size(spec: SweepSpec) -> int | None:
    """How many runs a grid sweep has (capped by ``run_cap``), else None."""
    if spec.method != "grid":
        return None
    total = 1
    for p in spec.space.params:
        total *= len(p.grid_values())
    return min(total, spec.run_cap) if spec.run_cap is not None else total


__all__ = [
    "CategoryIndex",
    "ColumnSpec",
    "best_run",
    "column_specs",
    "grid_size",
    "label",
    "run_columns",
    "state_counts",
    "summary_keys",
]
