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
_ABSENT = object()
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
    if type(value) is float:  # the common case first: this runs for every cell of 10,000 rows
        return value if math.isfinite(value) else None
    number = as_metric(value)
    return number if number is not None and math.isfinite(number) else None


def cell(value: Any) -> float | str | None:
    """A summary value as a table cell: a finite number, a short text, or None."""
    if value is None:
        return None
    if type(value) is float and math.isfinite(value):
        return value
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


def _category_key(value: Any) -> Any:
    """Equal values share a category (16 and 16.0 too, True and 1 not); cheap for the usual
    strings and numbers, canonical JSON for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return ("const", value)
    if isinstance(value, int | float):
        return ("num", float(value)) if value == value else ("num", "nan")
    return ("json", dumps(value))


class CategoryIndex:
    """Stable category indices for one column; unseen values are appended (never reordered),
    so indices already sent to a browser stay valid while new runs arrive."""

    def __init__(self, declared: Sequence[Any]) -> None:
        self.values: list[Any] = []
        self._index: dict[Any, int] = {}
        for v in declared:
            self.index(v)

    def index(self, value: Any) -> int:
        key = _category_key(value)
        found = self._index.get(key)
        if found is None:
            found = self._index[key] = len(self.values)
            self.values.append(value)
        return found

    @property
    def labels(self) -> list[str]:
        return [label(v) for v in self.values]


_FIXED = ("id", "name", "state", "index", "created", "finished", "stop_reason", "metric")


def run_row(
    run: Run,
    columns: Sequence[ColumnSpec],
    categories: Mapping[str, CategoryIndex],
    metric: MetricSpec | None,
    summary: Sequence[str],
    index: int,
) -> tuple[Any, ...]:
    """One run's cells: the fixed fields, then one per parameter column, then one per summary
    key. Categorical cells are indices into ``categories[name]`` (extended in place with values
    the space did not declare); -1 means the run has no such key."""
    cells: list[Any] = [
        run.id,
        run.name,
        run.state.value,
        index,
        round(run.created_at, 3),
        None if run.finished_at is None else round(run.finished_at, 3),
        run.stop_reason,
        finite(run.summary.get(metric.name)) if metric is not None else None,
    ]
    config = run.config
    for col in columns:
        if len(col.path) == 1:  # a top-level key: skip the general walk
            value = config.get(col.path[0], _ABSENT)
            present = value is not _ABSENT
        else:
            present, value = lookup(config, col.path)
        if col.kind == "numeric":
            cells.append(finite(value) if present else None)
        else:
            cells.append(categories[col.name].index(value) if present else -1)
    cells.extend(cell(run.summary.get(key)) for key in summary)
    return tuple(cells)


def rows_to_columns(
    rows: Sequence[tuple[Any, ...]], columns: Sequence[ColumnSpec], summary: Sequence[str]
) -> dict[str, Any]:
    """Rows from :func:`run_row` as one list per column (what the dashboard sends)."""
    width = len(_FIXED) + len(columns) + len(summary)
    transposed = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]
    out: dict[str, Any] = dict(zip(_FIXED, transposed, strict=False))
    at = len(_FIXED)
    out["params"] = {c.name: transposed[at + i] for i, c in enumerate(columns)}
    at += len(columns)
    out["summary"] = {key: transposed[at + i] for i, key in enumerate(summary)}
    return out


def run_columns(
    runs: Sequence[Run],
    columns: Sequence[ColumnSpec],
    categories: Mapping[str, CategoryIndex],
    metric: MetricSpec | None,
    summary: Sequence[str],
    created_index: Mapping[str, int],
) -> dict[str, Any]:
    """The runs as columns (see :func:`run_row`)."""
    rows = [
        run_row(r, columns, categories, metric, summary, created_index.get(r.id, -1)) for r in runs
    ]
    return rows_to_columns(rows, columns, summary)


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
    "rows_to_columns",
    "run_columns",
    "run_row",
    "state_counts",
    "summary_keys",
]
