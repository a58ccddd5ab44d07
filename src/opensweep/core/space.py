"""The search space: one :class:`Param` per leaf parameter, nested keys flattened to paths.

Every parameter maps to and from the unit interval with W&B's semantics: ``ppf(u)`` turns a
quantile into a value (random search draws ``u`` and returns ``ppf(u)``; bayes maps its unit
cube suggestion through ``ppf``) and ``cdf(x)`` turns a value back into ``[0, 1]``. ``cdf``
takes the *value* for every kind (W&B's takes a categorical's index; :meth:`Param.index` gives
it). ``to_unit``/``from_unit`` do the same for a whole configuration.

Where W&B's formulas misbehave at the ends of [0, 1] we do better (all pinned in tests):
``ppf(0)`` of categorical/int_uniform is the first value, not the last / ``min - 1``;
``ppf(1)`` of categorical_w_probabilities is the last value, not the first; continuous
bounded values are clipped into ``[low, high]`` (``exp(log(0.1))`` is 0.10000000000000006);
``q_log_normal`` at ``u=1`` is ``inf``, not an overflowed integer.

Built by :func:`opensweep.config.parse`; the ``spec`` of each parameter is W&B's filled spec.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from opensweep.errors import ConfigError


def _special() -> Any:
    """scipy.special, imported on first use: it costs ~0.4 s, and most sweeps (and every
    ``import opensweep`` in a training script) never need it."""
    from scipy import special

    return special


ParamKind = Literal["constant", "categorical", "int", "float"]

DISTRIBUTIONS: tuple[str, ...] = (
    "constant",
    "categorical",
    "categorical_w_probabilities",
    "int_uniform",
    "uniform",
    "q_uniform",
    "log_uniform",
    "log_uniform_values",
    "q_log_uniform",
    "q_log_uniform_values",
    "inv_log_uniform",
    "inv_log_uniform_values",
    "normal",
    "q_normal",
    "log_normal",
    "q_log_normal",
    "beta",
    "q_beta",
)

CATEGORICAL_DISTRIBUTIONS = frozenset({"categorical", "categorical_w_probabilities"})
QUANTIZED_DISTRIBUTIONS = frozenset(
    {"q_uniform", "q_log_uniform", "q_log_uniform_values", "q_normal", "q_log_normal", "q_beta"}
)
LOG_DISTRIBUTIONS = frozenset(
    {
        "log_uniform",
        "log_uniform_values",
        "q_log_uniform",
        "q_log_uniform_values",
        "inv_log_uniform",
        "inv_log_uniform_values",
        "log_normal",
        "q_log_normal",
    }
)
# Infinite support: ppf(0) or ppf(1) is infinite, so from_unit keeps u strictly inside (0, 1).
UNBOUNDED_DISTRIBUTIONS = frozenset({"normal", "q_normal", "log_normal", "q_log_normal"})
# Distributions grid search can enumerate (W&B's rule).
GRID_DISTRIBUTIONS = frozenset({"constant", "categorical", "int_uniform", "q_uniform"})
# Distributions whose every value can be listed: random search avoids repeats over these.
FINITE_DISTRIBUTIONS = frozenset(
    {"constant", "categorical", "categorical_w_probabilities", "int_uniform"}
)

_UNIT_EPS = 1e-12
_MISSING: Any = object()  # "no value here" marker
_RAISE: Any = object()  # get_path's default: raise KeyError


# --- value identity -------------------------------------------------------------------------


def value_key(value: Any, dict_keys: frozenset[str] | None = None) -> Any:
    """A hashable identity for a parameter value, with W&B's grid rules.

    ``3000000.0`` and ``3000000`` are the same value; ``True`` and ``1`` are not; NaN equals
    NaN; a dict's key order does not matter; a list is not a tuple. ``dict_keys`` (if given)
    restricts a dict value to those keys, so keys a run injected into a dict-valued parameter
    do not hide the grid point it came from.
    """
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, list | tuple | dict | str):
        value = item()  # numpy scalars -> Python scalars
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return ("num", value)
    if isinstance(value, float):
        if math.isnan(value):
            return ("nan",)
        if math.isfinite(value) and value.is_integer():
            return ("num", int(value))
        return ("num", value)
    if value is None:
        return ("none",)
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, tuple):
        return ("tuple", tuple(value_key(v) for v in value))
    if isinstance(value, list):
        return ("list", tuple(value_key(v) for v in value))
    if isinstance(value, Mapping):
        items = [(str(k), v) for k, v in value.items() if dict_keys is None or str(k) in dict_keys]
        return ("dict", tuple(sorted((k, value_key(v)) for k, v in items)))
    return ("repr", type(value).__name__, repr(value))


def dedupe(values: Iterable[Any]) -> list[Any]:
    """``values`` without repeats (by :func:`value_key`), first occurrence kept, order kept."""
    seen: set[Any] = set()
    out: list[Any] = []
    for v in values:
        k = value_key(v)
        if k not in seen:
            seen.add(k)
            out.append(v)
    return out


# --- nested configs -------------------------------------------------------------------------


def get_path(config: Mapping[str, Any], path: Sequence[str], default: Any = _RAISE) -> Any:
    """The value at ``path`` in a nested config; ``default`` (or KeyError) when absent."""
    node: Any = config
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            if default is _RAISE:
                raise KeyError(".".join(path))
            return default
        node = node[key]
    return node


def has_path(config: Mapping[str, Any], path: Sequence[str]) -> bool:
    return get_path(config, path, _MISSING) is not _MISSING


def config_path(path: Sequence[str]) -> str:
    """The key path of a parameter in the sweep config: ``parameters.a.parameters.b``."""
    return "parameters." + ".parameters.".join(path)


def set_path(config: dict[str, Any], path: Sequence[str], value: Any) -> None:
    """Set ``value`` at ``path`` in a nested dict, creating intermediate dicts."""
    node = config
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[path[-1]] = value


# --- parameters -----------------------------------------------------------------------------


def _round_q(r: float, q: Any) -> Any:
    """W&B's quantisation: ``round(r / q) * q`` (half to even), an int when ``q`` is an int."""
    v = float(np.round(r / q) * q)
    if isinstance(q, int) and not isinstance(q, bool):
        return int(v) if math.isfinite(v) else v
    return v


def _randint_ppf(u: float, n: int) -> int:
    """Index in ``range(n)`` at quantile ``u`` (scipy's randint.ppf, but never below 0)."""
    idx = math.ceil(u * n) - 1
    if idx >= 1 and idx / n >= u:  # float guard, as scipy does
        idx -= 1
    return min(max(idx, 0), n - 1)


def _clip(x: float, low: float, high: float) -> float:
    return float(min(max(x, low), high))


def _as_float(x: Any) -> float | None:
    if isinstance(x, bool) or x is None:
        return None
    if isinstance(x, int | float):
        return float(x)
    item = getattr(x, "item", None)
    if callable(item):
        v = item()
        if isinstance(v, int | float) and not isinstance(v, bool):
            return float(v)
    return None


@dataclass(frozen=True)
class Param:
    """A leaf parameter. ``distribution`` is the W&B name (after inference and defaults)."""

    path: tuple[str, ...]
    distribution: str
    spec: Mapping[str, Any]  # the filled W&B spec of this parameter

    @property
    def name(self) -> str:
        return ".".join(self.path)

    @property
    def kind(self) -> ParamKind:
        d = self.distribution
        if d == "constant":
            return "constant"
        if d in CATEGORICAL_DISTRIBUTIONS:
            return "categorical"
        if d == "int_uniform":
            return "int"
        if d in QUANTIZED_DISTRIBUTIONS and _is_int(self.spec.get("q")):
            return "int"
        return "float"

    @property
    def log(self) -> bool:
        """True when the parameter is searched in log space (log_uniform*, log_normal...)."""
        return self.distribution in LOG_DISTRIBUTIONS

    @property
    def values(self) -> tuple[Any, ...] | None:
        """The choices of a categorical/constant parameter, else None."""
        if self.distribution == "constant":
            return (self.spec["value"],)
        if self.distribution in CATEGORICAL_DISTRIBUTIONS:
            return tuple(self.spec["values"])
        return None

    @property
    def probabilities(self) -> tuple[float, ...] | None:
        """Per-value probabilities of a categorical parameter (uniform unless given)."""
        if self.distribution == "categorical_w_probabilities":
            return tuple(float(p) for p in self.spec["probabilities"])
        if self.distribution == "categorical":
            n = len(self.spec["values"])
            return tuple(1.0 / n for _ in range(n))
        if self.distribution == "constant":
            return (1.0,)
        return None

    @property
    def step(self) -> int | float | None:
        """The quantum of an int/quantised parameter (1 for int_uniform), else None."""
        if self.distribution == "int_uniform":
            return 1
        if self.distribution in QUANTIZED_DISTRIBUTIONS:
            q: int | float = self.spec["q"]
            return q
        return None

    @property
    def bounds(self) -> tuple[float, float] | None:
        """(low, high) in value space for bounded numeric parameters, else None."""
        d, s = self.distribution, self.spec
        if d in ("int_uniform", "uniform", "q_uniform"):
            return (s["min"], s["max"])
        if d in ("log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values"):
            return (s["min"], s["max"])
        if d in ("log_uniform", "q_log_uniform"):
            return (math.exp(s["min"]), math.exp(s["max"]))
        if d == "inv_log_uniform":
            return (math.exp(-s["max"]), math.exp(-s["min"]))
        if d in ("beta", "q_beta"):
            return (0.0, 1.0)
        return None

    @property
    def is_finite(self) -> bool:
        """True when every value the parameter can take can be listed (see :meth:`support`)."""
        return self.distribution in FINITE_DISTRIBUTIONS

    def support(self) -> list[Any] | None:
        """Every value a finite parameter can take (deduplicated, in order), else None."""
        d = self.distribution
        if d == "int_uniform":
            return list(range(self.spec["min"], self.spec["max"] + 1))
        if d == "constant" or d in CATEGORICAL_DISTRIBUTIONS:
            return dedupe(self.values or ())
        return None

    def index(self, value: Any) -> int | None:
        """Position of ``value`` among a categorical/constant parameter's values, else None."""
        values = self.values
        if values is None:
            return None
        key = value_key(value)
        for i, v in enumerate(values):
            if value_key(v) == key:
                return i
        return None

    def contains(self, value: Any) -> bool:
        """True when ``value`` is one this parameter can produce: a listed value; an int in
        range; a bounded float within its bounds; a quantised value a multiple of ``q`` (an
        int when ``q`` is) within half a ``q`` of the bounds (W&B rounds to the nearest
        multiple, so the ends may round outwards)."""
        d, s = self.distribution, self.spec
        if d == "constant" or d in CATEGORICAL_DISTRIBUTIONS:
            return self.index(value) is not None
        if d == "int_uniform":
            return _is_int(value) and s["min"] <= value <= s["max"]
        v = _as_float(value)
        if v is None or not math.isfinite(v):
            return False
        low, high = self.bounds or (-math.inf, math.inf)
        if d in ("log_normal", "q_log_normal"):
            low = 0.0
        if d in QUANTIZED_DISTRIBUTIONS:
            q = s["q"]
            if _is_int(q) != _is_int(value):
                return False
            step = float(q)
            steps = v / step
            if abs(steps - round(steps)) > 1e-9 * max(1.0, abs(steps)):
                return False
            return low - step / 2 <= v <= high + step / 2
        return isinstance(value, float) and low <= v <= high

    # -- quantiles ------------------------------------------------------------------------

    def ppf(self, u: float) -> Any:
        """The value at quantile ``u`` in [0, 1] (a plain Python value, never a numpy one)."""
        u = float(u)
        if not 0.0 <= u <= 1.0:
            raise ValueError(f"ppf of {self.name}: quantile must be in [0, 1] (got {u})")
        d, s = self.distribution, self.spec
        if d == "constant":
            return s["value"]
        if d == "categorical":
            return s["values"][_randint_ppf(u, len(s["values"]))]
        if d == "categorical_w_probabilities":
            cdf = np.cumsum(np.asarray(s["probabilities"], dtype=float))
            i = int(np.searchsorted(cdf, u, side="right"))
            return s["values"][min(i, len(s["values"]) - 1)]
        if d == "int_uniform":
            return int(s["min"]) + _randint_ppf(u, int(s["max"]) - int(s["min"]) + 1)
        if d == "uniform":
            return _clip(u * (s["max"] - s["min"]) + s["min"], s["min"], s["max"])
        if d == "q_uniform":
            return _round_q(u * (s["max"] - s["min"]) + s["min"], s["q"])
        if d in ("log_uniform", "log_uniform_values", "inv_log_uniform", "inv_log_uniform_values"):
            low, high = self.bounds or (0.0, 0.0)
            return _clip(self._log_uniform_ppf(u), low, high)
        if d in ("q_log_uniform", "q_log_uniform_values"):
            return _round_q(self._log_uniform_ppf(u), s["q"])
        if d in ("normal", "q_normal"):
            r = float(_special().ndtri(u)) * s["sigma"] + s["mu"]
            return r if d == "normal" else _round_q(r, s["q"])
        if d in ("log_normal", "q_log_normal"):
            r = math.exp(s["mu"]) * float(np.exp(s["sigma"] * _special().ndtri(u)))
            return r if d == "log_normal" else _round_q(r, s["q"])
        if d in ("beta", "q_beta"):
            r = float(_special().betaincinv(s["a"], s["b"], u))
            if math.isnan(r):  # its root finding gives up on a subnormal u (5e-324): an end
                r = 0.0 if u < 0.5 else 1.0
            return r if d == "beta" else _round_q(r, s["q"])
        raise ValueError(f"unknown distribution {d!r}")

    def _log_uniform_ppf(self, u: float) -> float:
        d, s = self.distribution, self.spec
        if d in ("log_uniform", "q_log_uniform"):  # min/max are natural-log exponents
            lo, hi = float(s["min"]), float(s["max"])
            return math.exp(u * (hi - lo) + lo)
        if d in ("log_uniform_values", "q_log_uniform_values"):
            lo, hi = math.log(s["min"]), math.log(s["max"])
            return math.exp(u * (hi - lo) + lo)
        # inv_log_uniform: exp(-X), X uniform on [min, max] (for _values: on [-log max, -log min])
        if d == "inv_log_uniform":
            lo, hi = float(s["min"]), float(s["max"])
        else:
            lo, hi = -math.log(s["max"]), -math.log(s["min"])
        return math.exp(-((1.0 - u) * (hi - lo) + lo))

    def cdf(self, x: Any) -> float:
        """P(value <= x) under W&B's (continuous) distribution; NaN when ``x`` is not a value
        of this parameter. Categorical: ``(index + 1) / n`` (with probabilities: their
        cumulative sum); constant: 0."""
        d, s = self.distribution, self.spec
        if d == "constant":
            return 0.0
        if d in CATEGORICAL_DISTRIBUTIONS:
            i = self.index(x)
            if i is None:
                return math.nan
            if d == "categorical":
                return (i + 1) / len(s["values"])
            return float(np.cumsum(np.asarray(s["probabilities"], dtype=float))[i])
        v = _as_float(x)
        if v is None or math.isnan(v):
            return math.nan
        if d == "int_uniform":
            if math.isinf(v):  # math.floor cannot take it; beyond either end of the range
                return 1.0 if v > 0 else 0.0
            first, last = int(s["min"]), int(s["max"])
            return _clip((math.floor(v) - first + 1) / (last - first + 1), 0.0, 1.0)
        if d in ("uniform", "q_uniform"):
            return _clip((v - s["min"]) / (s["max"] - s["min"]), 0.0, 1.0)
        if d in LOG_DISTRIBUTIONS - {"log_normal", "q_log_normal"}:
            if v <= 0:
                return 0.0
            lv = math.log(v)
            if d in ("log_uniform", "q_log_uniform"):
                lo, hi = float(s["min"]), float(s["max"])
            elif d == "inv_log_uniform":
                lo, hi = -float(s["max"]), -float(s["min"])
            else:
                lo, hi = math.log(s["min"]), math.log(s["max"])
            return _clip((lv - lo) / (hi - lo), 0.0, 1.0)
        if d in ("normal", "q_normal"):
            return float(_special().ndtr((v - s["mu"]) / s["sigma"]))
        if d in ("log_normal", "q_log_normal"):
            if v <= 0:
                return 0.0
            return float(_special().ndtr((math.log(v) - s["mu"]) / s["sigma"]))
        if d in ("beta", "q_beta"):
            return float(_special().betainc(s["a"], s["b"], _clip(v, 0.0, 1.0)))
        raise ValueError(f"unknown distribution {d!r}")

    def sample(self, rng: np.random.Generator) -> Any:
        """``ppf(u)`` for ``u`` drawn uniformly from the open interval (0, 1). A constant
        draws nothing, so adding one to a sweep does not change the other values drawn."""
        if self.distribution == "constant":
            return self.spec["value"]
        u = float(rng.random())
        while u == 0.0:
            u = float(rng.random())
        return self.ppf(u)

    def grid_values(self) -> list[Any]:
        """The values grid search enumerates, in W&B order; ConfigError if not griddable.

        Repeated values appear once (W&B skips the repeats); ``int_uniform`` is inclusive;
        ``q_uniform`` is ``numpy.arange(min, max, q)`` (``max`` excluded, as W&B does).
        """
        d, s = self.distribution, self.spec
        if d == "constant":
            return [s["value"]]
        if d == "categorical":
            return dedupe(s["values"])
        if d == "int_uniform":
            return list(range(int(s["min"]), int(s["max"]) + 1))
        if d == "q_uniform":
            return dedupe(np.arange(s["min"], s["max"], s["q"]).tolist())
        raise ConfigError(
            f"parameter {self.name} cannot be searched by grid",
            violations=[(config_path(self.path), grid_refusal(d))],
        )


def grid_refusal(distribution: str) -> str:
    """Why grid search cannot use a parameter of this distribution."""
    what = "has probabilities" if distribution in CATEGORICAL_DISTRIBUTIONS else "is continuous"
    return (
        f"grid search needs discrete values, but {distribution} {what} "
        "(use value, values without probabilities, int_uniform or q_uniform)"
    )


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


@dataclass(frozen=True)
class Space:
    params: tuple[Param, ...]  # sorted by path (W&B's order: sorted names, depth first)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def __len__(self) -> int:
        return len(self.params)

    @property
    def searchable(self) -> tuple[Param, ...]:
        """The non-constant parameters (W&B's bayes ignores constants)."""
        return tuple(p for p in self.params if p.distribution != "constant")

    def param(self, name: str) -> Param:
        """The parameter with this dotted name (KeyError if none)."""
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def to_unit(self, config: Mapping[str, Any]) -> np.ndarray:
        """A nested run config -> a vector in [0, 1]^d (NaN where the value is missing)."""
        out = np.full(len(self.params), np.nan)
        for i, p in enumerate(self.params):
            value = get_path(config, p.path, _MISSING)
            if value is not _MISSING:
                out[i] = p.cdf(value)
        return out

    def from_unit(self, u: Sequence[float] | np.ndarray) -> dict[str, Any]:
        """A vector in [0, 1]^d -> a nested run config.

        Entries are clipped into [0, 1]; for unbounded distributions (normal, log_normal and
        their q_ forms) into [1e-12, 1 - 1e-12], so no value is ever infinite.
        """
        arr = np.asarray(u, dtype=float)
        if arr.shape != (len(self.params),):
            raise ValueError(f"from_unit: expected {len(self.params)} values, got {arr.shape}")
        if np.isnan(arr).any():
            raise ValueError("from_unit: NaN in the unit vector")
        config: dict[str, Any] = {}
        for p, x in zip(self.params, arr.tolist(), strict=True):
            if p.distribution in UNBOUNDED_DISTRIBUTIONS:
                x = _clip(x, _UNIT_EPS, 1.0 - _UNIT_EPS)
            set_path(config, p.path, p.ppf(_clip(x, 0.0, 1.0)))
        return config

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """One random config: every parameter drawn independently from its distribution."""
        config: dict[str, Any] = {}
        for p in self.params:
            set_path(config, p.path, p.sample(rng))
        return config

    def build(self, values: Mapping[tuple[str, ...], Any]) -> dict[str, Any]:
        """A nested config from ``{path: value}``; constants not given take their value,
        other parameters not given are left out."""
        config: dict[str, Any] = {}
        for p in self.params:
            if p.path in values:
                set_path(config, p.path, values[p.path])
            elif p.distribution == "constant":
                set_path(config, p.path, p.spec["value"])
        return config

    def key(self, config: Mapping[str, Any], params: Sequence[Param] | None = None) -> Any:
        """Identity of a config over ``params`` (default all), or None if one is missing."""
        parts = []
        for p in params if params is not None else self.params:
            value = get_path(config, p.path, _MISSING)
            if value is _MISSING:
                return None
            parts.append(value_key(value))
        return tuple(parts)
