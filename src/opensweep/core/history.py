"""What pure algorithms (search methods, schedulers, analysis) see of a sweep's runs."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opensweep.core.model import RunState


@dataclass(frozen=True, slots=True)
class Trial:
    """One run of a sweep, reduced to what an algorithm needs.

    ``metric_history`` holds the sweep metric's value for every logged row that contained the
    metric key, in log order (so its length is W&B's "iterations"); values that were not numbers
    are NaN here. ``summary_metric`` is the summary's value of the metric, if numeric.
    """

    run_id: str
    params: Mapping[str, Any]
    state: RunState
    metric_history: tuple[float, ...] = ()
    summary_metric: float | None = None
    stop_requested: bool = False
    created_index: int = 0  # position of the run in creation order

    @property
    def finite_history(self) -> tuple[float, ...]:
        return tuple(v for v in self.metric_history if math.isfinite(v))

    @property
    def iterations(self) -> int:
        return len(self.metric_history)

    @property
    def is_running(self) -> bool:
        return self.state is RunState.RUNNING
