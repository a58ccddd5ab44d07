"""The internal, validated form of a sweep config. Built by :func:`opensweep.config.parse`.

Frozen records only; validation and defaults live in :mod:`opensweep.config.validate`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from opensweep.core.space import Space

# Search methods a config may name. The registry in search/ maps them to code; config does not
# import search/ (layering), so the names live here and a test keeps the two in step.
METHODS: tuple[str, ...] = ("grid", "random", "bayes", "tpe", "cmaes", "qmc")
# Methods that learn from the metric: a config using one must name a metric.
METRIC_METHODS: frozenset[str] = frozenset({"bayes", "tpe", "cmaes"})

Goal = Literal["minimize", "maximize"]
Impute = Literal["worst", "best", "latest"]
ImputeWhileRunning = Literal["false", "worst", "best", "latest"]


@dataclass(frozen=True)
class MetricSpec:
    name: str
    goal: Goal = "minimize"
    target: float | None = None
    impute: Impute = "worst"
    impute_while_running: ImputeWhileRunning = "false"

    def better(self, a: float, b: float) -> bool:
        """True when ``a`` is strictly better than ``b`` under this goal."""
        return a < b if self.goal == "minimize" else a > b


@dataclass(frozen=True)
class EarlyTerminateSpec:
    """``early_terminate``: ``type`` plus its options, defaults filled (eta=3, strict=True...)."""

    type: str  # "hyperband" | "asha" | ...
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SweepSpec:
    method: str  # grid | random | bayes | tpe | cmaes | qmc
    space: Space
    metric: MetricSpec | None = None
    early_terminate: EarlyTerminateSpec | None = None
    run_cap: int | None = None
    program: str | None = None
    command: tuple[str, ...] | None = None
    name: str | None = None
    description: str | None = None
    project: str | None = None
    entity: str | None = None
    seed: int | None = None
    notes: tuple[str, ...] = ()  # what opensweep does with keys it accepts but ignores
    raw: Mapping[str, Any] = field(default_factory=dict)
