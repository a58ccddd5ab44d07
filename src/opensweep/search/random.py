"""Random search: every parameter drawn from its distribution with the given generator.

Better than W&B in one way (pinned in tests): when every parameter is finite (constant,
categorical, int_uniform) a configuration already tried by a run of the sweep (any state) is
not suggested again while untried ones remain; W&B's random search repeats them. Once all have
been tried, suggestions repeat (random never exhausts) and say so in their note.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from opensweep.config.spec import SweepSpec
from opensweep.core.history import Trial
from opensweep.core.space import Param, Space, dedupe, value_key
from opensweep.search.base import Suggestion

_REJECTION_TRIES = 64
_ENUMERATION_LIMIT = 200_000


def _weights(param: Param) -> list[tuple[Any, float]]:
    """(value, probability) for each distinct value of a finite parameter."""
    if param.distribution == "int_uniform":
        values = param.support() or []
        return [(v, 1.0 / len(values)) for v in values]
    raw = list(param.values or ())
    probs = list(param.probabilities or ())
    total: dict[Any, float] = {}
    for v, p in zip(raw, probs, strict=True):
        total[value_key(v)] = total.get(value_key(v), 0.0) + p
    return [(v, total[value_key(v)]) for v in dedupe(raw)]


class _FiniteSpace:
    """A space whose every parameter is finite: its points with positive probability."""

    def __init__(self, space: Space) -> None:
        self.space = space
        self.axes = [[(v, w) for v, w in _weights(p) if w > 0] for p in space.params]
        self.axis_keys = [{value_key(v) for v, _ in axis} for axis in self.axes]
        self.size = math.prod(len(axis) for axis in self.axes)

    def contains(self, key: tuple[Any, ...]) -> bool:
        return all(k in keys for k, keys in zip(key, self.axis_keys, strict=True))

    def draw_unused(self, used: set[Any], rng: np.random.Generator) -> dict[str, Any] | None:
        """An untried point drawn with the space's probabilities restricted to untried points."""
        for _ in range(_REJECTION_TRIES):
            config = self.space.sample(rng)
            if self.space.key(config) not in used:
                return config
        if self.size > _ENUMERATION_LIMIT:
            return None
        points, weights = [], []
        for combo in itertools.product(*self.axes):
            key = tuple(value_key(v) for v, _ in combo)
            if key not in used:
                points.append(combo)
                weights.append(math.prod(w for _, w in combo))
        if not points:
            return None
        p = np.asarray(weights) / sum(weights)
        chosen = points[int(rng.choice(len(points), p=p))]
        return self.space.build(
            {param.path: v for param, (v, _) in zip(self.space.params, chosen, strict=True)}
        )


def suggest(
    spec: SweepSpec, history: Sequence[Trial], n: int, rng: np.random.Generator
) -> list[Suggestion]:
    """``n`` random configurations (never exhausts). Uses only ``rng``."""
    space = spec.space
    if n <= 0:
        return []
    if not all(p.is_finite for p in space.params):
        return [Suggestion(params=space.sample(rng)) for _ in range(n)]
    finite = _FiniteSpace(space)
    used = {k for t in history if (k := space.key(t.params)) is not None and finite.contains(k)}
    out: list[Suggestion] = []
    for _ in range(n):
        config = finite.draw_unused(used, rng) if len(used) < finite.size else None
        if config is None:
            note = (
                f"random: all {finite.size} configurations have been tried; repeating one"
                if len(used) >= finite.size
                else "random: no untried configuration found by sampling; repeating one"
            )
            config = space.sample(rng)
            out.append(Suggestion(params=config, note=note))
        else:
            out.append(Suggestion(params=config))
        used.add(space.key(config))
    return out
