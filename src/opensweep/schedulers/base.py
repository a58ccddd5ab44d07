"""The early-termination interface: a pure decision over the sweep's runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from opensweep.config.spec import SweepSpec
from opensweep.core.history import Trial


@dataclass(frozen=True)
class StopDecision:
    run_id: str
    reason: str  # e.g. "hyperband band 9: 0.412 worse than threshold 0.398"


class Scheduler(Protocol):
    def __call__(self, spec: SweepSpec, history: Sequence[Trial]) -> list[StopDecision]:
        """Which running runs to stop now.

        Never returns a run that is not running or already has ``stop_requested``; never mutates
        its inputs. Raises ConfigError (naming the key) for bad ``early_terminate`` options, so
        ``scheduler(spec, [])`` validates a spec up front (e.g. when a sweep is created).
        """
        ...
