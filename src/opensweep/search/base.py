"""The search-method interface: a pure function of the space, the history and a generator."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from opensweep.config.spec import SweepSpec
from opensweep.core.history import Trial


@dataclass(frozen=True)
class Suggestion:
    params: Mapping[str, Any]  # nested run config
    note: str | None = None  # e.g. "random: 1 observation, bayes needs 2" — stored on the run


class SearchMethod(Protocol):
    def __call__(
        self, spec: SweepSpec, history: Sequence[Trial], n: int, rng: np.random.Generator
    ) -> list[Suggestion]:
        """Up to ``n`` new configurations; an empty list means the space is exhausted (grid).

        ``history`` is every run of the sweep in creation order, running ones included (they
        are pending points). Implementations do no I/O, read no clock and use only ``rng``.
        """
        ...
