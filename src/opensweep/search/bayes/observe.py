"""History -> training targets and pending points, with W&B's ``metric.impute`` semantics.

Values are in minimisation space (negated when the goal is ``maximize``).

- finished (and early-stopped) run: its best value over the metric's history and summary;
- failed/crashed/killed run, or a finished run without the metric: ``impute``
  (``latest``: last finite history value; ``best``: best of history + summary; ``worst``: the
  worst value any terminal run ever logged);
- running run: a pending point, unless ``impute_while_running`` is set, then it is a training
  point imputed the same way.

Where W&B falls back to the value 0.0 (nothing to impute from) we do not: a made-up 0.0 can be
the best loss of the sweep and would pull the search towards a failure. Such a run is imputed
with the global worst instead, and dropped only when no run has any value at all. A metric that
really is 0 is a value like any other (W&B treats it as missing).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from opensweep.config.spec import MetricSpec
from opensweep.core.history import Trial
from opensweep.core.model import RunState

_MEASURED = frozenset({RunState.FINISHED, RunState.STOPPED})


@dataclass(frozen=True)
class Observations:
    observed: list[tuple[Trial, float]]  # (run, value in minimisation space)
    pending: list[Trial]
    imputed: int  # how many observed values were imputed


def _sign(goal: str) -> float:
    return -1.0 if goal == "maximize" else 1.0


def _values(trial: Trial, sign: float) -> list[float]:
    """Every finite value of the run's metric (history and summary), in minimisation space."""
    values = [sign * v for v in trial.metric_history if math.isfinite(v)]
    summary = trial.summary_metric
    if summary is not None and math.isfinite(summary):
        values.append(sign * summary)
    return values


def impute(
    strategy: str, trial: Trial, sign: float, worst: float | None, fallback: bool = True
) -> float | None:
    """The imputed value of one run (minimisation space), or None when there is none.

    With ``fallback`` a run with nothing of its own to impute from gets the global worst."""
    if strategy == "latest":
        own = [sign * v for v in trial.finite_history]
        value = own[-1] if own else None
    elif strategy == "best":
        values = _values(trial, sign)
        value = min(values) if values else None
    else:  # worst
        value = worst
    return value if value is not None or not fallback else worst


def global_worst(history: Sequence[Trial], sign: float) -> float | None:
    """The worst value logged by any terminal run (W&B's ``worst``)."""
    worsts = [max(v) for t in history if t.state.is_terminal and (v := _values(t, sign))]
    return max(worsts) if worsts else None


def observe(metric: MetricSpec, history: Sequence[Trial]) -> Observations:
    sign = _sign(metric.goal)
    worst = global_worst(history, sign)
    observed: list[tuple[Trial, float]] = []
    pending: list[Trial] = []
    imputed = 0
    for t in history:
        if t.state is RunState.RUNNING:
            if metric.impute_while_running != "false":
                # A running run that has logged nothing yet stays pending: it has not failed.
                value = impute(metric.impute_while_running, t, sign, worst, fallback=False)
                if value is not None:
                    observed.append((t, value))
                    imputed += 1
                    continue
            pending.append(t)
            continue
        if t.state in _MEASURED and (values := _values(t, sign)):
            observed.append((t, min(values)))
            continue
        value = impute(metric.impute, t, sign, worst)
        if value is not None:
            observed.append((t, value))
            imputed += 1
    return Observations(observed, pending, imputed)
