"""The search space: one :class:`Param` per leaf parameter, nested keys flattened to paths.

Every parameter maps to and from the unit interval with W&B's semantics: ``ppf(u)`` turns a
quantile into a value (random search draws ``u`` and returns ``ppf(u)``; bayes maps its unit
cube suggestion through ``ppf``) and ``cdf(x)`` turns a value back into ``[0, 1]`` (categorical:
the value's index). ``to_unit``/``from_unit`` do the same for a whole configuration.

INTERFACE OWNED BY core/space.py — implementation filled in by the config work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

ParamKind = Literal["constant", "categorical", "int", "float"]


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
        raise NotImplementedError

    @property
    def log(self) -> bool:
        """True when the parameter is searched in log space (log_uniform*, log_normal...)."""
        raise NotImplementedError

    @property
    def values(self) -> tuple[Any, ...] | None:
        """The choices of a categorical/constant parameter, else None."""
        raise NotImplementedError

    @property
    def bounds(self) -> tuple[float, float] | None:
        """(low, high) in value space for bounded numeric parameters, else None."""
        raise NotImplementedError

    def ppf(self, u: float) -> Any:
        raise NotImplementedError

    def cdf(self, x: Any) -> float:
        raise NotImplementedError

    def sample(self, rng: np.random.Generator) -> Any:
        raise NotImplementedError

    def grid_values(self) -> list[Any]:
        """The values grid search enumerates, in W&B order; ConfigError if not griddable."""
        raise NotImplementedError


@dataclass(frozen=True)
class Space:
    params: tuple[Param, ...]  # sorted by name (W&B grid order)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def __len__(self) -> int:
        return len(self.params)

    def to_unit(self, config: Mapping[str, Any]) -> np.ndarray:
        """A nested run config -> a vector in [0, 1]^d (NaN where the value is missing)."""
        raise NotImplementedError

    def from_unit(self, u: Sequence[float] | np.ndarray) -> dict[str, Any]:
        """A vector in [0, 1]^d -> a nested run config."""
        raise NotImplementedError

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        raise NotImplementedError
