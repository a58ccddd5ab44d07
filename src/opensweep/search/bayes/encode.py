"""Run configurations <-> GP coordinates.

Numeric parameters use their quantile ``Param.cdf`` (so log parameters live in log space and
normal ones in probability space); integers and ``q_*`` parameters are optimised continuously
and snapped with ``cdf(ppf(u))`` afterwards. Categorical parameters hold their value's index and
get a Hamming distance in the kernel: no false order between choices. Constants are not
dimensions at all. Nested parameters are already flattened to paths by the space.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import qmc

from opensweep.core.space import Param, Space, get_path, set_path

# Unbounded distributions (normal, log_normal...) have ppf(0) = -inf: keep 3.7 sigma inside.
_UNBOUNDED_EPS = 1e-4
# Discrete numeric dims with at most this many values are searched exhaustively after the
# local polish (more values: the rounded polish result is kept).
MAX_EXHAUSTIVE = 32

_MISSING: Any = object()


@dataclass(frozen=True)
class Dim:
    param: Param
    categorical: bool
    discrete: bool  # numeric with a finite set of values (int, q_*)
    lo: float
    hi: float
    n_choices: int  # categorical only

    def choices(self) -> np.ndarray | None:
        """Coordinates of every value of a small discrete dim (exhaustive search), else None."""
        if self.categorical:
            return np.arange(self.n_choices, dtype=float)
        if not self.discrete:
            return None
        p = self.param
        grid = np.linspace(self.lo, self.hi, 8 * MAX_EXHAUSTIVE)
        coords = np.unique([float(p.cdf(p.ppf(float(u)))) for u in grid])
        coords = coords[np.isfinite(coords)]
        return coords if 1 < len(coords) <= MAX_EXHAUSTIVE else None


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
            discrete = p.kind == "int" or p.step is not None
            dims.append(Dim(p, False, discrete, eps, 1.0 - eps, 0))
        self.dims = dims
        self.d = len(dims)
        self.is_cat = np.array([dim.categorical for dim in dims], dtype=bool)
        self.lo = np.array([dim.lo for dim in dims], dtype=float)
        self.hi = np.array([dim.hi for dim in dims], dtype=float)
        self.cont = np.flatnonzero(~self.is_cat)
        self.discrete_numeric = [j for j, dim in enumerate(dims) if dim.discrete]
        self.exhaustive = [(j, c) for j, dim in enumerate(dims) if (c := dim.choices()) is not None]

    def encode(self, config: Mapping[str, Any]) -> np.ndarray:
        """A run config -> coordinates; NaN where a value is missing or not in the space."""
        return np.array(
            [_coordinate(dim, get_path(config, dim.param.path, _MISSING)) for dim in self.dims],
            dtype=float,
        )

    def encode_many(self, configs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """:meth:`encode` for many configs, vectorised for the common distributions."""
        out = np.full((len(configs), self.d), np.nan)
        for j, dim in enumerate(self.dims):
            values = [get_path(c, dim.param.path, _MISSING) for c in configs]
            fast = None if dim.categorical else _vector_cdf(dim.param, values)
            if fast is not None:
                out[:, j] = np.clip(fast, dim.lo, dim.hi)  # NaN stays NaN
                continue
            out[:, j] = [_coordinate(dim, value) for value in values]
        return out

    def decode(self, x: np.ndarray) -> dict[str, Any]:
        config: dict[str, Any] = {}
        for p in self.constants:
            set_path(config, p.path, p.ppf(0.5))
        for j, dim in enumerate(self.dims):
            if dim.categorical:
                value = (dim.param.values or ())[round(float(x[j]))]
            else:
                value = dim.param.ppf(float(np.clip(x[j], dim.lo, dim.hi)))
            set_path(config, dim.param.path, value)
        return config

    def snap(self, x: np.ndarray) -> np.ndarray:
        """Rows of ``x`` moved onto the coordinates of actual values (discrete dims)."""
        x = np.clip(np.array(x, dtype=float), self.lo, self.hi)
        if self.is_cat.any():
            x[:, self.is_cat] = np.round(x[:, self.is_cat])
        for j in self.discrete_numeric:
            p = self.dims[j].param
            x[:, j] = [float(p.cdf(p.ppf(float(u)))) for u in x[:, j]]
        out: np.ndarray = np.clip(x, self.lo, self.hi)
        return out

    def fill_missing(self, x: np.ndarray) -> np.ndarray:
        """Missing coordinates (a parameter absent from a run) -> the centre / choice 0."""
        x = np.array(x, dtype=float).reshape(-1, self.d)
        centre = np.where(self.is_cat, 0.0, 0.5)
        rows, cols = np.nonzero(np.isnan(x))
        x[rows, cols] = centre[cols]
        return x

    def random(self, m: int, rng: np.random.Generator) -> np.ndarray:
        """``m`` (a power of 2) scrambled-Sobol points (categoricals as indices)."""
        seed = int(rng.integers(2**31 - 1))
        u = qmc.Sobol(self.d, scramble=True, seed=seed).random(m)
        x: np.ndarray = self.lo + u * (self.hi - self.lo)
        for j, dim in enumerate(self.dims):
            if dim.categorical:
                x[:, j] = np.minimum(np.floor(u[:, j] * dim.n_choices), dim.n_choices - 1)
        return x


def _as_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def _coordinate(dim: Dim, value: Any) -> float:
    """One value's coordinate on ``dim``; NaN when missing or not in the space."""
    if value is _MISSING:
        return math.nan
    if dim.categorical:
        index = dim.param.index(value)
        return math.nan if index is None else float(index)
    try:
        u = float(dim.param.cdf(value))
    except (TypeError, ValueError):
        return math.nan
    return min(max(u, dim.lo), dim.hi) if math.isfinite(u) else math.nan


def _vector_cdf(p: Param, values: list[Any]) -> np.ndarray | None:
    """``Param.cdf`` over many values for uniform, int_uniform and log-uniform (values) params;
    None for other distributions (the caller falls back to ``Param.cdf``)."""
    d, s = p.distribution, p.spec
    if d not in ("uniform", "q_uniform", "int_uniform", "log_uniform_values"):
        return None
    v = np.array([_as_number(x) for x in values], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        if d == "int_uniform":
            lo, hi = int(s["min"]), int(s["max"])
            u = (np.floor(v) - lo + 1) / (hi - lo + 1)
        elif d == "log_uniform_values":
            lo_l, hi_l = math.log(s["min"]), math.log(s["max"])
            u = np.where(v <= 0, 0.0, (np.log(np.where(v > 0, v, 1.0)) - lo_l) / (hi_l - lo_l))
            u = np.where(np.isnan(v), np.nan, u)
        else:
            u = (v - s["min"]) / (s["max"] - s["min"])
    out: np.ndarray = np.clip(u, 0.0, 1.0)
    return out
