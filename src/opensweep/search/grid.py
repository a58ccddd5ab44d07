"""Grid search with W&B's order and identity rules.

Order: parameters sorted by name (depth first through nested groups), the last one varying
fastest; values in the order listed (repeats skipped); ``int_uniform`` inclusive;
``q_uniform`` as ``numpy.arange(min, max, q)``. A point is used once any run of the sweep has
it, whatever the run's state. Identity is per value (:func:`~opensweep.core.space.value_key`):
3000000.0 == 3000000, True != 1, NaN == NaN, dict key order ignored, list != tuple, keys a
run added to a dict-valued parameter ignored. Constants are not part of a point's identity.
Unlike W&B, nested parameters of earlier runs are recognised (W&B looks them up under a
flattened name the run config does not have, and repeats their points).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from opensweep.config.spec import SweepSpec
from opensweep.core.history import Trial
from opensweep.core.space import Param, Space, get_path, set_path, value_key
from opensweep.search.base import Suggestion

_MISSING: Any = object()


class _Grid:
    def __init__(self, space: Space) -> None:
        self.space = space
        self.axes: list[Param] = [p for p in space.params if p.distribution != "constant"]
        self.values: list[list[Any]] = [p.grid_values() for p in self.axes]  # ConfigError if not
        self.keys: list[list[Any]] = [[value_key(v) for v in vs] for vs in self.values]
        # a dict-valued axis compares only the keys its grid values use
        self.dict_keys: list[frozenset[str] | None] = []
        for vs in self.values:
            dicts = [v for v in vs if isinstance(v, dict)]
            self.dict_keys.append(frozenset(str(k) for d in dicts for k in d) if dicts else None)

    def point_key(self, config: Any) -> tuple[Any, ...] | None:
        """Identity of the grid point a run config sits on (None if it lacks an axis)."""
        parts = []
        for param, dict_keys in zip(self.axes, self.dict_keys, strict=True):
            value = (
                get_path(config, param.path, _MISSING) if isinstance(config, Mapping) else _MISSING
            )
            if value is _MISSING:
                return None
            parts.append(value_key(value, dict_keys if isinstance(value, dict) else None))
        return tuple(parts)

    def points(self) -> Iterator[tuple[int, ...]]:
        return itertools.product(*(range(len(vs)) for vs in self.values))

    def config(self, indices: tuple[int, ...]) -> dict[str, Any]:
        config: dict[str, Any] = {}
        chosen = dict(zip((p.path for p in self.axes), indices, strict=True))
        axis_of = {p.path: i for i, p in enumerate(self.axes)}
        for p in self.space.params:
            if p.distribution == "constant":
                set_path(config, p.path, p.spec["value"])
            else:
                set_path(config, p.path, self.values[axis_of[p.path]][chosen[p.path]])
        return config


def grid_size(space: Space) -> int:
    """How many points the grid has (after skipping repeated values); ConfigError when a
    parameter cannot be gridded."""
    grid = _Grid(space)
    return math.prod(len(vs) for vs in grid.values)


def suggest(
    spec: SweepSpec, history: Sequence[Trial], n: int, rng: np.random.Generator
) -> list[Suggestion]:
    """The next ``n`` unused grid points in order; fewer when the grid runs out, [] when it is
    exhausted. ``rng`` is not used: grid search is deterministic."""
    if n <= 0:
        return []
    grid = _Grid(spec.space)
    seen = {grid.point_key(t.params) for t in history}
    seen.discard(None)
    out: list[Suggestion] = []
    for indices in grid.points():
        key = tuple(grid.keys[axis][i] for axis, i in enumerate(indices))
        if key in seen:
            continue
        seen.add(key)
        out.append(Suggestion(params=grid.config(indices)))
        if len(out) == n:
            break
    return out
