"""Run configurations <-> GP coordinates.

Numeric parameters use their quantile ``Param.cdf`` (so log parameters live in log space and
normal ones in probability space); integers and ``q_*`` parameters are optimised continuously
and snapped with ``cdf(ppf(u))`` afterwards. Categorical parameters hold their value's index and
get a Hamming distance in the kernel: no false order between choices. Constants are not
dimensions at all. Nested parameters are already flattened to paths by the space.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from opensweep.core.space import Param, Space

# Unbounded distributions (normal, log_normal...) have ppf(0) = -inf: keep 3.7 sigma inside.
_UNBOUNDED_EPS = 1e-4
# Integers with at most this many values are searched exhaustively after the local polish.
MAX_EXHAUSTIVE = 32

_MISSING = object()


def get_path(config: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = config
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return _MISSING
        node = node[key]
    return node


def set_path(config: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = config
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


def same_value(a: Any, b: Any) -> bool:
    """Equality that keeps True apart from 1 and treats NaN as equal to NaN."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    try:
        return bool(a == b)
    except Exception:  # exotic values that refuse comparison are simply different
        return False


@dataclass(frozen=True)
class Dim:
    param: Param
    categorical: bool
    discrete: bool  # numeric with a finite set of values (int, q_*)
    lo: float
    hi: float
    n_choices: int  # categorical only

    def choices(self) -> np.ndarray | None:
        """Coordinates of every value for small discrete dims (exhaustive search), else None."""
        if self.categorical:
            return np.arange(self.n_choices, dtype=float)
        bounds = self.param.bounds
        if self.param.kind == "int" and bounds is not None:
            low, high = int(math.ceil(bounds[0])), int(math.floor(bounds[1]))
            if 0 < high - low + 1 <= MAX_EXHAUSTIVE:
                return np.unique([float(self.param.cdf(k)) for k in range(low, high + 1)])
        return None


class Encoder:
    def __init__(self, space: Space) -> None:
        self.space = space
        self.constants = [p for p in space.params if p.kind == "constant"]
        dims: list[Dim] = []
        for p in space.params:
            if p.kind == "constant":
                continue
            if p.kind == "categorical":
                n = len(p.values or ())
                dims.append(Dim(p, True, False, 0.0, float(max(n - 1, 0)), n))
                continue
            eps = _UNBOUNDED_EPS if p.bounds is None else 0.0
            discrete = p.kind == "int" or p.distribution.startswith("q_")
            dims.append(Dim(p, False, discrete, eps, 1.0 - eps, 0))
        self.dims = dims
        self.d = len(dims)
        self.is_cat = np.array([dim.categorical for dim in dims], dtype=bool)
        self.lo = np.array([dim.lo for dim in dims], dtype=float)
        self.hi = np.array([dim.hi for dim in dims], dtype=float)
        self.cont = np.flatnonzero(~self.is_cat)
        self.discrete_numeric = np.flatnonzero([d.discrete for d in dims])
        self.exhaustive = [(j, c) for j, dim in enumerate(dims) if (c := dim.choices()) is not None]

    def encode(self, config: Mapping[str, Any]) -> np.ndarray:
        """A run config -> coordinates; NaN where a value is missing or not in the space."""
        out = np.full(self.d, np.nan)
        for j, dim in enumerate(self.dims):
            value = get_path(config, dim.param.path)
            if value is _MISSING:
                continue
            if dim.categorical:
                for i, choice in enumerate(dim.param.values or ()):
                    if same_value(value, choice):
                        out[j] = float(i)
                        break
                continue
            try:
                u = float(dim.param.cdf(value))
            except (TypeError, ValueError):
                continue
            if math.isfinite(u):
                out[j] = min(max(u, dim.lo), dim.hi)
        return out

    def decode(self, x: np.ndarray) -> dict[str, Any]:
        config: dict[str, Any] = {}
        for p in self.constants:
            set_path(config, p.path, p.ppf(0.5))
        for j, dim in enumerate(self.dims):
            if dim.categorical:
                values = dim.param.values or ()
                set_path(config, dim.param.path, values[int(round(x[j]))])
            else:
                set_path(config, dim.param.path, dim.param.ppf(float(np.clip(x[j], dim.lo, dim.hi))))
        return config

    def snap(self, x: np.ndarray) -> np.ndarray:
        """Round discrete dims to the coordinate of an actual value (rows of ``x``)."""
        x = np.array(x, dtype=float, copy=True)
        x = np.clip(x, self.lo, self.hi)
        if self.is_cat.any():
            x[:, self.is_cat] = np.round(x[:, self.is_cat])
        for j in self.discrete_numeric:
            p = self.dims[j].param
            x[:, j] = [float(p.cdf(p.ppf(float(u)))) for u in x[:, j]]
        return np.clip(x, self.lo, self.hi)

    def fill_missing(self, x: np.ndarray) -> np.ndarray:
        """Missing coordinates (conditional params absent from a run) -> the centre / choice 0."""
        x = np.array(x, dtype=float, copy=True)
        centre = np.where(self.is_cat, 0.0, 0.5)
        rows, cols = np.nonzero(np.isnan(x))
        x[rows, cols] = centre[cols]
        return x

    def random(self, m: int, rng: np.random.Generator) -> np.ndarray:
        """``m`` scrambled-Sobol points in coordinate space (categoricals as indices)."""
        from scipy.stats import qmc

        if self.d == 0:
            return np.zeros((m, 0))
        seed = int(rng.integers(2**31 - 1))
        u = qmc.Sobol(self.d, scramble=True, seed=seed).random(m)
        x = self.lo + u * (self.hi - self.lo)
        for j, dim in enumerate(self.dims):
            if dim.categorical:
                x[:, j] = np.minimum(np.floor(u[:, j] * dim.n_choices), dim.n_choices - 1)
        return x
