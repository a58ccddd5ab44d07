"""Asynchronous successive halving (ASHA; Li et al., "A System for Massively Parallel
Hyperparameter Tuning", MLSys 2020), as a stateless stopping rule over the sweep's runs.

Rungs sit at ``min_iter * eta**k`` iterations (k = 0, 1, ...) below ``max_iter``. A run that
reached rung k continues only while it is in the top ``1/eta`` of all runs (any state) that
reached rung k; otherwise it is stopped. That is ASHA's promotion rule read as a stopping rule:
a run is promoted to rung k+1 by being allowed to keep training until it gets there.

What makes it safer than W&B's hyperband and Optuna's pruners at the same compute:

- every run is compared at the same rung only (its value *at* the rung's iteration count, never a
  value from further along), with the best value seen up to the rung by default, so one noisy
  epoch does not kill a good configuration (``strict: true`` uses the value at the rung);
- a rung cuts nobody until ``min_runs`` runs have reached it, so the first runs are not judged
  against one or two others; a run that went on while its rung had too few runs is judged there
  later, until it reaches the next rung (the decision is recomputed from the history each time,
  so a restarted controller decides the same);
- a run whose metric is NaN or infinite counts it as the worst value rather than as a missing
  one: a diverged run is stopped at its next rung instead of running forever.

Iterations are the number of times the metric was logged (W&B's meaning).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opensweep.config.spec import MetricSpec, SweepSpec
from opensweep.core.history import Trial
from opensweep.schedulers._common import (
    bad_option,
    bool_option,
    eta_option,
    int_option,
    options_of,
    require_metric,
    shown,
)
from opensweep.schedulers.base import StopDecision

_MAX_RUNGS = 100

# Defaults, chosen on benchmarks/early_stop (see its RESULTS.md).
DEFAULT_ETA = 3
DEFAULT_MIN_ITER = 1
DEFAULT_MIN_RUNS = 6
DEFAULT_STRICT = False


@dataclass(frozen=True)
class AshaSettings:
    rungs: tuple[int, ...]
    eta: float
    min_runs: int
    strict: bool


def asha_rungs(
    min_iter: int, eta: float, max_iter: int | None, limit: int | None = None
) -> list[int]:
    """Rung iteration counts ``int(min_iter * eta**k)`` strictly below ``max_iter``.

    Without ``max_iter`` rungs go on (at most 100, and none above ``limit``).
    """
    rungs: list[int] = []
    band: float = min_iter
    for _ in range(_MAX_RUNGS):
        rung = int(band)
        if max_iter is not None and rung >= max_iter:
            break
        if limit is not None and rung > limit:
            break
        if not rungs or rung > rungs[-1]:
            rungs.append(rung)
        band *= eta
    return rungs


def settings_from_options(options: Mapping[str, Any], limit: int | None = None) -> AshaSettings:
    eta = eta_option(options, DEFAULT_ETA)
    min_iter = int_option(options, "min_iter", DEFAULT_MIN_ITER) or DEFAULT_MIN_ITER
    max_iter = int_option(options, "max_iter")
    min_runs = int_option(options, "min_runs", DEFAULT_MIN_RUNS) or DEFAULT_MIN_RUNS
    strict = bool_option(options, "strict", DEFAULT_STRICT)
    if max_iter is not None and max_iter <= min_iter:
        raise bad_option("max_iter", f"must be greater than min_iter ({min_iter}) (got {max_iter})")
    rungs = asha_rungs(min_iter, eta, max_iter, limit)
    return AshaSettings(rungs=tuple(rungs), eta=eta, min_runs=min_runs, strict=strict)


def minimize_space(trial: Trial, metric: MetricSpec) -> list[float]:
    """Every logged value, smaller is better; a non-finite value is the worst (+inf)."""
    sign = -1.0 if metric.goal == "maximize" else 1.0
    return [sign * v if math.isfinite(v) else math.inf for v in trial.metric_history]


@dataclass(frozen=True)
class RungCut:
    """The cut at one rung: who is compared and the value a run must not be worse than."""

    rung: int
    runs: int  # how many runs reached the rung
    keep: int  # how many of them may go on
    threshold: float  # the keep-th best value (minimize space); +inf while runs < min_runs


def rung_value(values: Sequence[float], rung: int, strict: bool) -> float:
    return values[rung - 1] if strict else min(values[:rung])


def rung_cuts(settings: AshaSettings, histories: Sequence[Sequence[float]]) -> dict[int, RungCut]:
    cuts: dict[int, RungCut] = {}
    for rung in settings.rungs:
        values = sorted(rung_value(h, rung, settings.strict) for h in histories if len(h) >= rung)
        keep = max(1, int(len(values) / settings.eta))
        if len(values) < settings.min_runs:
            cuts[rung] = RungCut(rung, len(values), len(values), math.inf)
        else:
            cuts[rung] = RungCut(rung, len(values), keep, values[keep - 1])
    return cuts


def decide(spec: SweepSpec, history: Sequence[Trial]) -> list[StopDecision]:
    """Running runs that are not in the top 1/eta of their highest rung."""
    if spec.early_terminate is None:
        return []
    metric = require_metric(spec)
    histories = [minimize_space(t, metric) for t in history]
    limit = max((len(h) for h in histories), default=0)
    settings = settings_from_options(options_of(spec), limit)
    cuts = rung_cuts(settings, histories)

    decisions: list[StopDecision] = []
    for trial, values in zip(history, histories, strict=True):
        if not trial.is_running or trial.stop_requested:
            continue
        reached = [r for r in settings.rungs if r <= len(values)]
        if not reached:
            continue
        cut = cuts[reached[-1]]
        value = rung_value(values, cut.rung, settings.strict)
        if value > cut.threshold:
            what = f"{metric.name} at" if settings.strict else f"best {metric.name} by"
            reason = (
                f"asha rung {cut.rung}: {shown(value, metric)} worse than threshold "
                f"{shown(cut.threshold, metric)} ({what} iteration {cut.rung}; "
                f"only the best {cut.keep} of {cut.runs} runs at this rung go on)"
            )
            decisions.append(StopDecision(run_id=trial.run_id, reason=reason))
    return decisions
