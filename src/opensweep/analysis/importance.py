"""Parameter importance and correlation: which parameters move the metric, and which way.

Importance is *held-out permutation importance of a random forest*, cross-fitted: the runs are
split into folds, a forest is fitted on the other folds, and each parameter's values are
shuffled among the held-out runs; the importance of a parameter is how much that shuffle
increases the held-out squared error, as a share of the total over parameters. Unlike the
impurity importance W&B shows, it is measured on runs the forest did not see, so it does not
inflate parameters with many distinct values (floats) or many categories, and a parameter with
no effect gets about zero.

Categorical parameters are one-hot encoded for the forest and permuted as a block, so each
parameter gets one importance. A single Pearson correlation is meaningless for an unordered
categorical; we report the correlation of each category's indicator with the metric instead.
Log-scale parameters (``log_uniform_values`` and friends) enter the forest and the
correlation as ``log10(value)``. Missing values (conditional parameters) are NaN for numeric
parameters (scikit-learn forests route them) and an all-zero one-hot block for categoricals.

Pure: no I/O, no clock; randomness only from the ``rng`` argument.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from opensweep.core.encoding import as_metric, dumps, encode_value
from opensweep.core.space import Space
from opensweep.errors import InvalidRequest

ParamType = Literal["numeric", "categorical", "constant"]

MIN_RUNS_FOR_IMPORTANCE = 8
MIN_RUNS_FOR_CORRELATION = 3
_MISSING = object()


@dataclass(frozen=True)
class ParamInfo:
    """How one parameter enters the analysis."""

    name: str
    path: tuple[str, ...]
    kind: Literal["numeric", "categorical"]
    log: bool = False
    categories: tuple[Any, ...] | None = None  # declared order for categorical parameters


@dataclass(frozen=True)
class CategoryCorrelation:
    value: Any
    count: int
    correlation: float | None  # Pearson of the indicator "value == this" with the metric
    mean_metric: float | None


@dataclass(frozen=True)
class ParamImportance:
    name: str
    type: ParamType
    log: bool
    importance: float | None  # share of the total importance, in [0, 1]; None when not computed
    importance_std: float | None  # spread over folds and repeats, same units
    correlation: float | None
    correlation_note: str | None  # why ``correlation`` is None, when it is
    categories: tuple[CategoryCorrelation, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "log": self.log,
            "importance": _finite_or_none(self.importance),
            "importance_std": _finite_or_none(self.importance_std),
            "correlation": _finite_or_none(self.correlation),
            "correlation_note": self.correlation_note,
            "categories": [
                {
                    "value": encode_value(c.value),
                    "count": c.count,
                    "correlation": _finite_or_none(c.correlation),
                    "mean_metric": _finite_or_none(c.mean_metric),
                }
                for c in self.categories
            ],
        }


@dataclass(frozen=True)
class ImportanceReport:
    n_runs: int  # runs with a finite metric, the ones analysed
    params: tuple[ParamImportance, ...]  # most important first
    model_r2: float | None = None  # held-out R² of the forest: how much the parameters explain
    note: str | None = None  # why importance is missing, or what was subsampled
    metric: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "n_runs": self.n_runs,
            "model_r2": _finite_or_none(self.model_r2),
            "note": self.note,
            "notes": list(self.notes),
            "params": [p.to_dict() for p in self.params],
        }


def _finite_or_none(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


# ---------------------------------------------------------------------------- parameters


def params_from_space(space: Space) -> list[ParamInfo]:
    """One :class:`ParamInfo` per searched parameter of ``space`` (constants are skipped)."""
    infos = []
    for p in space.params:
        if p.kind == "constant":
            continue
        if p.kind == "categorical":
            infos.append(ParamInfo(p.name, p.path, "categorical", categories=p.values))
        else:
            infos.append(ParamInfo(p.name, p.path, "numeric", log=p.log))
    return infos


def _flatten(config: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    out: dict[tuple[str, ...], Any] = {}
    for key, value in config.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping) and value:
            out.update(_flatten(value, path))
        else:
            out[path] = value
    return out


def _is_number(value: Any) -> bool:
    return as_metric(value) is not None


def infer_params(configs: Sequence[Mapping[str, Any]]) -> list[ParamInfo]:
    """Parameters guessed from the configs alone (no sweep config at hand).

    Nested dicts are flattened to dotted names. A key whose values are all numbers is numeric
    (on a log scale when its values look log-uniformly drawn), anything else is
    categorical; keys with a single value throughout are left out.
    """
    columns: dict[tuple[str, ...], list[Any]] = {}
    for config in configs:
        for path, value in _flatten(config).items():
            columns.setdefault(path, []).append(value)
    infos = []
    for path in sorted(columns):
        values = columns[path]
        if len({dumps(v) for v in values}) < 2 and len(values) == len(configs):
            continue
        name = ".".join(path)
        if all(_is_number(v) for v in values):
            nums = np.array([as_metric(v) for v in values], dtype=float)
            finite = nums[np.isfinite(nums)]
            log = _looks_log_scaled(finite)
            infos.append(ParamInfo(name, path, "numeric", log=log))
        else:
            cats = tuple(dict((dumps(v), v) for v in values).values())
            infos.append(ParamInfo(name, path, "categorical", categories=cats))
    return infos


def _looks_log_scaled(x: np.ndarray) -> bool:
    """Positive values spanning two decades whose median sits nearer the geometric middle
    than the arithmetic one (a log-uniform draw), e.g. learning rates."""
    if x.size < 3 or x.min() <= 0 or x.max() / x.min() < 100.0:
        return False
    lo, hi, med = math.log(x.min()), math.log(x.max()), math.log(float(np.median(x)))
    return abs(med - (lo + hi) / 2) < abs(med - math.log((x.min() + x.max()) / 2))


def _as_float(value: Any) -> float:
    number = None if value is _MISSING else as_metric(value)
    return math.nan if number is None else number


def _lookup(config: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = config
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return _MISSING
        node = node[key]
    return node


@dataclass
class _Column:
    info: ParamInfo
    block: np.ndarray  # (n, width) columns this parameter contributes to the forest
    numeric: np.ndarray | None  # (n,) the value on the analysed scale, numeric params only
    category_index: np.ndarray | None  # (n,) index into ``cats`` or -1 (missing)
    cats: list[Any]
    note: str | None = None


def _column(info: ParamInfo, configs: Sequence[Mapping[str, Any]]) -> _Column:
    raw = [_lookup(c, info.path) for c in configs]
    if info.kind == "numeric":
        x = np.array([_as_float(v) for v in raw], dtype=float)
        note = None
        if info.log:
            if np.any(x[np.isfinite(x)] <= 0):
                note = f"{info.name}: values <= 0 on a log parameter; analysed on a linear scale"
                info = ParamInfo(info.name, info.path, "numeric", log=False)
            else:
                with np.errstate(divide="ignore", invalid="ignore"):
                    x = np.log10(x)
        return _Column(info, x[:, None], x, None, [], note)
    keys: dict[str, int] = {}
    cats: list[Any] = []
    for v in info.categories or ():
        k = dumps(v)
        if k not in keys:
            keys[k] = len(cats)
            cats.append(v)
    index = np.full(len(raw), -1, dtype=int)
    for i, v in enumerate(raw):
        if v is _MISSING:
            continue
        k = dumps(v)
        if k not in keys:  # a value the space did not declare: still a category
            keys[k] = len(cats)
            cats.append(v)
        index[i] = keys[k]
    block = np.zeros((len(raw), max(len(cats), 1)), dtype=float)
    present = index >= 0
    block[np.flatnonzero(present), index[present]] = 1.0
    return _Column(info, block, None, index, cats)


# ---------------------------------------------------------------------------- correlation


def _pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < MIN_RUNS_FOR_CORRELATION:
        return None
    xs, ys = x[ok], y[ok]
    sx, sy = xs.std(), ys.std()
    if sx == 0 or sy == 0:
        return None
    return float(np.clip(np.mean((xs - xs.mean()) * (ys - ys.mean())) / (sx * sy), -1.0, 1.0))


def _correlations(
    col: _Column, y: np.ndarray
) -> tuple[float | None, str | None, tuple[CategoryCorrelation, ...]]:
    if col.numeric is not None:
        x = col.numeric
        present = np.isfinite(x)
        if present.sum() < MIN_RUNS_FOR_CORRELATION:
            return None, f"fewer than {MIN_RUNS_FOR_CORRELATION} runs with this parameter", ()
        if np.ptp(x[present]) == 0:
            return None, "constant in the analysed runs", ()
        r = _pearson(x, y)
        return r, None if r is not None else "metric is constant", ()
    assert col.category_index is not None  # categorical columns always carry an index
    cats = []
    for j, value in enumerate(col.cats):
        indicator = (col.category_index == j).astype(float)
        count = int(indicator.sum())
        mean = float(y[indicator == 1].mean()) if count else None
        cats.append(CategoryCorrelation(value, count, _pearson(indicator, y), mean))
    return None, "categorical: one correlation per category", tuple(cats)


# ---------------------------------------------------------------------------- importance


def _permutation_importance(
    x: np.ndarray,
    y: np.ndarray,
    groups: list[np.ndarray],
    rng: np.random.Generator,
    *,
    n_trees: int,
    folds: int,
    repeats: int,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Per group: mean and std of the held-out MSE increase when the group is shuffled,
    both divided by var(y); plus the held-out R² of the cross-fitted forest."""
    from sklearn.ensemble import RandomForestRegressor

    n = len(y)
    order = rng.permutation(n)
    fold_of = np.empty(n, dtype=int)
    fold_of[order] = np.arange(n) % folds
    var_y = float(np.var(y))
    increases: list[list[float]] = [[] for _ in groups]
    sq_err = np.empty(n)
    for k in range(folds):
        train, test = fold_of != k, fold_of == k
        forest = RandomForestRegressor(
            n_estimators=n_trees,
            min_samples_leaf=2,
            max_features=1.0,
            random_state=int(rng.integers(2**31 - 1)),
            n_jobs=1,
        )
        forest.fit(x[train], y[train])
        x_test, y_test = x[test], y[test]
        base_err = (forest.predict(x_test) - y_test) ** 2
        sq_err[test] = base_err
        base = float(base_err.mean())
        m = len(y_test)
        # One big predict per fold: stack every (group, repeat) shuffled copy of the test set.
        copies = []
        for cols in groups:
            for _ in range(repeats):
                shuffled = x_test.copy()
                shuffled[:, cols] = x_test[rng.permutation(m)][:, cols]
                copies.append(shuffled)
        pred = forest.predict(np.vstack(copies)).reshape(len(groups), repeats, m)
        mse = ((pred - y_test) ** 2).mean(axis=2)
        for g in range(len(groups)):
            increases[g].extend(float(v - base) / var_y for v in mse[g])
    means = np.array([np.mean(v) for v in increases])
    stds = np.array([np.std(v) for v in increases])
    r2 = 1.0 - float(sq_err.mean()) / var_y
    return means, stds, r2


def compute_importance(
    configs: Sequence[Mapping[str, Any]],
    metric_values: Sequence[Any],
    *,
    rng: np.random.Generator,
    space: Space | None = None,
    params: Sequence[ParamInfo] | None = None,
    metric: str | None = None,
    n_trees: int = 50,
    folds: int = 5,
    repeats: int = 3,
    max_runs: int = 1000,
) -> ImportanceReport:
    """Importance and correlation of every parameter for the metric.

    ``configs[i]`` is run i's (nested) config and ``metric_values[i]`` its metric; runs whose
    metric is not a finite number are left out. Parameters come from ``params``, else from
    ``space``, else are inferred from the configs. Above ``max_runs`` runs a uniform subsample
    (drawn from ``rng``) is analysed, which keeps the dashboard responsive.
    """
    if len(configs) != len(metric_values):
        raise InvalidRequest(
            f"importance: {len(configs)} configs but {len(metric_values)} metric values"
        )
    for name, value in (("n_trees", n_trees), ("folds", folds), ("repeats", repeats)):
        if value < (2 if name == "folds" else 1):
            raise InvalidRequest(f"importance: {name}={value} is too small")
    y_all = np.array([_as_float(v) for v in metric_values], dtype=float)
    keep = np.flatnonzero(np.isfinite(y_all))
    notes: list[str] = []
    if len(keep) > max_runs:
        keep = np.sort(rng.choice(keep, size=max_runs, replace=False))
        notes.append(f"importance on a random subsample of {max_runs} runs")
    kept_configs = [configs[int(i)] for i in keep]
    y = y_all[keep]
    if params is None:
        params = params_from_space(space) if space is not None else infer_params(kept_configs)
    columns = [_column(p, kept_configs) for p in params]
    notes.extend(c.note for c in columns if c.note)

    correlations = [_correlations(c, y) for c in columns]
    n = len(y)
    note = None
    imp_mean: np.ndarray | None = None
    imp_std: np.ndarray | None = None
    r2 = None
    types: list[ParamType] = []
    for c in columns:
        varies = (
            np.ptp(c.numeric[np.isfinite(c.numeric)]) > 0
            if c.numeric is not None and np.isfinite(c.numeric).any()
            else c.category_index is not None and len(set(c.category_index.tolist())) > 1
        )
        types.append(c.info.kind if varies else "constant")
    active = [i for i, t in enumerate(types) if t != "constant"]
    if n < MIN_RUNS_FOR_IMPORTANCE:
        note = (
            f"importance needs at least {MIN_RUNS_FOR_IMPORTANCE} runs with a metric ({n} so far)"
        )
    elif not active:
        note = "no parameter varies across the runs"
    elif np.ptp(y) == 0:
        note = "the metric has the same value in every run"
    else:
        blocks = [columns[i].block for i in active]
        x = np.hstack(blocks)
        groups, start = [], 0
        for b in blocks:
            groups.append(np.arange(start, start + b.shape[1]))
            start += b.shape[1]
        raw, spread, r2 = _permutation_importance(
            x, y, groups, rng, n_trees=n_trees, folds=min(folds, n), repeats=repeats
        )
        positive = np.clip(raw, 0.0, None)
        total = float(positive.sum())
        scale = 1.0 / total if total > 0 else 0.0
        imp_mean = np.zeros(len(columns))
        imp_std = np.zeros(len(columns))
        imp_mean[active] = positive * scale
        imp_std[active] = spread * scale
        if total == 0:
            notes.append("no parameter improves held-out predictions: importances are all 0")

    results = []
    for i, (c, (r, why, cats)) in enumerate(zip(columns, correlations, strict=True)):
        results.append(
            ParamImportance(
                name=c.info.name,
                type=types[i],
                log=c.info.log,
                importance=None if imp_mean is None else float(imp_mean[i]),
                importance_std=None if imp_std is None else float(imp_std[i]),
                correlation=r,
                correlation_note=why,
                categories=cats,
            )
        )
    results.sort(key=lambda p: (-(p.importance or 0.0), -abs(p.correlation or 0.0), p.name))
    return ImportanceReport(
        n_runs=n, params=tuple(results), model_r2=r2, note=note, metric=metric, notes=tuple(notes)
    )


__all__ = [
    "CategoryCorrelation",
    "ImportanceReport",
    "ParamImportance",
    "ParamInfo",
    "compute_importance",
    "infer_params",
    "params_from_space",
]
