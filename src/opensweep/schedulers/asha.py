"""Asynchronous successive halving (ASHA; Li et al., "A System for Massively Parallel
Hyperparameter Tuning", MLSys 2020), as a stateless stopping rule over the sweep's runs.

``early_terminate: {type: asha, min_iter: 1, max_iter: 27, eta: 3, min_runs: 3, strict: false,
progress: true, model: level}`` (``model: curve`` also takes ``z: 3``)

Rungs sit at ``min_iter * eta**k`` iterations (k = 0, 1, ...) below ``max_iter`` (no max_iter:
no end). With ``max_iter`` and ``s`` the rungs are W&B's hyperband bands ``max_iter / eta**k``
for k = 1..s, plus ``min_iter``, when given, as a first cheap rung (``min_iter: 1, max_iter: 27,
s: 1`` gives rungs 1 and 9: the cautious setting of benchmarks/early_stop).

A running run is judged at the highest rung it reached, against the n runs (any state) that
reached that rung. It is stopped when both hold:

- by level: at least ``n / eta`` of those runs did strictly better than it at the rung (so the
  best ``ceil(n / eta)`` go on; ties survive). ASHA's promotion rule read as a stopping rule: a
  run is promoted by being allowed to train on to the next rung;
- by progress (``progress: true``, the default; not at the first rung): its improvement since
  the previous rung is not among the best ``floor(n * r0 / r)`` of those runs, r being this rung
  and r0 the first (``1/eta^k`` at the k-th rung above the first: 1/3 at rung 3 and 1/9 at rung 9
  with rungs 1, 3, 9; none while that floor is 0). Improvement is relative, ``(previous - now) /
  |previous|`` on the compared values; a run that did not improve, or has a NaN/inf at either
  rung, never goes on by progress. This keeps slow starters (a low learning rate) that learn
  fast, which the level cut alone kills at the early rungs.

With ``model: curve`` (default ``level``: the rule above) and ``z`` (default 3), runs above the
first rung are judged by a prediction instead of by progress: their value extrapolated to the next
rung (``max_iter`` after the last; as far as ``max(3, min_runs)`` runs got, while fewer got there)
from their own curve, with a slope fitted on the sweep's runs that got there
(:mod:`opensweep.schedulers.curve`). A run goes on if its value is in the best ``ceil(n / eta)``
(the level cut, as above) or its prediction is within ``z`` residual standard deviations (of the
fit) of the best prediction at the rung (it is not confidently worse than the best); where the
sweep has too little data to fit (fewer than ``max(3, min_runs)`` runs got past the rung) the rung
falls back on the rule above. A documented option, not the default: on benchmarks/early_stop it
spends less than the default and sits on the same trade-off line (how often the would-be best
run is stopped, for the compute spent) within the noise; it does not reach W&B's safety at
Optuna's epochs (the issue's target). See RESULTS.md there.

Where it differs from W&B's hyperband and Optuna's pruners, on purpose:

- runs are compared at the same rung only: the best value each run had logged by the rung's
  iteration count (``strict: true``: the value at that iteration), so one noisy epoch does not
  kill a good configuration and a finished run's later values never raise the bar;
- a rung stops nobody until ``min_runs`` runs reached it, so the first runs are not judged
  against one other; a run that went on while its rung had too few runs is judged there once
  more runs arrive, until it reaches the next rung (everything is recomputed from the history on
  each call, so a restarted controller decides the same);
- a NaN or infinite value is the worst value, not a missing one: a diverged run is stopped at its
  next rung instead of running on unjudged.

Iterations are the number of times the metric was logged (W&B's meaning).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opensweep.config.spec import MetricSpec, SweepSpec
from opensweep.core.history import Trial
from opensweep.schedulers import curve
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
_EPS = 1e-9  # n / eta and n * r0 / r computed in floats: 9 / 3 must count as 3

# Defaults, chosen on benchmarks/early_stop (see its RESULTS.md).
DEFAULT_ETA = 3
DEFAULT_MIN_ITER = 1
DEFAULT_MIN_RUNS = 3
DEFAULT_STRICT = False
DEFAULT_PROGRESS = True
DEFAULT_MODEL = "level"
MODELS = ("level", "curve")


@dataclass(frozen=True)
class AshaSettings:
    rungs: tuple[int, ...]
    eta: float
    min_runs: int
    strict: bool
    progress: bool = DEFAULT_PROGRESS
    model: str = DEFAULT_MODEL
    max_iter: int | None = None
    z: float = curve.DEFAULT_Z


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
    """Read (and check) asha's options; raises ConfigError naming the bad key.

    Rungs: ``min_iter * eta**k`` below ``max_iter``; or, with ``max_iter`` and ``s``, W&B's
    hyperband bands ``max_iter / eta**k`` for k = 1..s, plus ``min_iter`` (when given) as a first,
    cheap rung below them.
    """
    eta = eta_option(options, DEFAULT_ETA)
    given_min_iter = int_option(options, "min_iter")
    max_iter = int_option(options, "max_iter")
    s = int_option(options, "s")
    min_runs = int_option(options, "min_runs", DEFAULT_MIN_RUNS) or DEFAULT_MIN_RUNS
    strict = bool_option(options, "strict", DEFAULT_STRICT)
    progress = bool_option(options, "progress", DEFAULT_PROGRESS)
    model = options.get("model", DEFAULT_MODEL)
    if model is None:
        model = DEFAULT_MODEL
    if model not in MODELS:
        raise bad_option("model", f"must be one of {', '.join(MODELS)} (got {model!r})")
    z = options.get("z")
    if z is None:
        z = curve.DEFAULT_Z
    elif model != "curve":
        raise bad_option("z", "only applies with model: curve")
    elif isinstance(z, bool) or not isinstance(z, int | float) or not math.isfinite(z) or z < 0:
        raise bad_option("z", f"must be a number >= 0 (got {z!r})")
    min_iter = DEFAULT_MIN_ITER if given_min_iter is None else given_min_iter
    if max_iter is not None and max_iter <= min_iter:
        raise bad_option("max_iter", f"must be greater than min_iter ({min_iter}) (got {max_iter})")
    if s is None:
        rungs = asha_rungs(min_iter, eta, max_iter, limit)
    elif max_iter is None:
        raise bad_option("s", "needs max_iter (rungs are max_iter / eta^k for k = 1..s)")
    else:
        rungs = _bands_below(max_iter, eta, s)
        if given_min_iter is not None and (not rungs or given_min_iter < rungs[0]):
            rungs.insert(0, given_min_iter)
        if not rungs:
            raise bad_option("s", "no rung is >= 1: increase max_iter or s, or decrease eta")
    return AshaSettings(
        rungs=tuple(rungs),
        eta=eta,
        min_runs=min_runs,
        strict=strict,
        progress=progress,
        model=str(model),
        max_iter=max_iter,
        z=z,
    )


def _bands_below(max_iter: int, eta: float, s: int) -> list[int]:
    bands = {int(max_iter / eta**k) for k in range(1, s + 1)}
    return sorted(b for b in bands if b >= 1)


def minimize_space(trial: Trial, metric: MetricSpec) -> list[float]:
    """Every logged value, smaller is better; a non-finite value is the worst (+inf)."""
    sign = -1.0 if metric.goal == "maximize" else 1.0
    return [sign * v if math.isfinite(v) else math.inf for v in trial.metric_history]


def rung_value(values: Sequence[float], rung: int, strict: bool) -> float:
    return values[rung - 1] if strict else min(values[:rung])


def compared_values(values: Sequence[float], strict: bool) -> list[float]:
    """What a run is compared by at each iteration: its best value so far, or (``strict``) the
    value itself; ``compared_values(v, s)[r - 1] == rung_value(v, r, s)``."""
    return list(values) if strict else list(itertools.accumulate(values, min))


def improvement(previous: float, now: float) -> float:
    """Relative improvement ``(previous - now) / |previous|`` (minimize space); -inf when either
    value is not finite (a diverged run never goes on by progress)."""
    if not (math.isfinite(previous) and math.isfinite(now)):
        return -math.inf
    if previous == 0:
        return math.inf if now < 0 else (0.0 if now == 0 else -math.inf)
    return (previous - now) / abs(previous)


@dataclass(frozen=True)
class RungCut:
    """The cut at one rung: who is compared and what a run must reach to go on."""

    rung: int
    runs: int  # how many runs reached the rung
    keep: int  # how many of them go on by level
    threshold: float  # the keep-th best value (minimize space); +inf while runs < min_runs
    previous: int | None = None  # the rung before (progress is measured from it)
    progress_keep: int = 0  # how many go on by improvement since the previous rung (0: none)
    progress_threshold: float = math.inf  # the progress_keep-th best improvement
    fit: curve.CurveFit | None = None  # model: curve, when the sweep had the data to fit it


def rung_cuts(settings: AshaSettings, histories: Sequence[Sequence[float]]) -> dict[int, RungCut]:
    return _cuts(settings, [compared_values(h, settings.strict) for h in histories])


def _cuts(settings: AshaSettings, compared: Sequence[Sequence[float]]) -> dict[int, RungCut]:
    cuts: dict[int, RungCut] = {}
    first = settings.rungs[0] if settings.rungs else 1
    log_scale = settings.model == "curve" and curve.all_positive(compared)
    for k, rung in enumerate(settings.rungs):
        reached = [h for h in compared if len(h) >= rung]
        n = len(reached)
        if n < settings.min_runs:
            cuts[rung] = RungCut(rung, n, n, math.inf)
            continue
        values = sorted(h[rung - 1] for h in reached)
        keep = min(n, max(1, math.ceil(n / settings.eta - _EPS)))
        cut = RungCut(rung, n, keep, values[keep - 1])
        if settings.model == "curve" and k > 0:
            fit = curve.fit_rung(
                compared,
                settings.rungs,
                k,
                settings.max_iter,
                log_scale,
                settings.z,
                max(curve.MIN_FIT_RUNS, settings.min_runs),
            )
            if fit is not None:
                cuts[rung] = RungCut(rung, n, keep, values[keep - 1], fit.previous, fit=fit)
                continue
        if settings.progress and k > 0:
            previous = settings.rungs[k - 1]
            progress_keep = int(n * first / rung + _EPS)
            if progress_keep >= 1:
                gains = sorted((_gain(h, previous, rung) for h in reached), reverse=True)
                cut = RungCut(
                    rung,
                    n,
                    keep,
                    values[keep - 1],
                    previous,
                    progress_keep,
                    gains[progress_keep - 1],
                )
        cuts[rung] = cut
    return cuts


def _gain(compared: Sequence[float], previous: int, rung: int) -> float:
    return improvement(compared[previous - 1], compared[rung - 1])


def _percent(gain: float) -> str:
    return f"{100 * gain:.3g}%" if math.isfinite(gain) else f"{gain}"


def decide(spec: SweepSpec, history: Sequence[Trial]) -> list[StopDecision]:
    """Running runs neither in the top 1/eta of their highest rung nor among its fastest
    improvers."""
    if spec.early_terminate is None:
        return []
    metric = require_metric(spec)
    histories = [minimize_space(t, metric) for t in history]
    limit = max((len(h) for h in histories), default=0)
    settings = settings_from_options(options_of(spec), limit)
    compared = [compared_values(h, settings.strict) for h in histories]
    cuts = _cuts(settings, compared)

    decisions: list[StopDecision] = []
    for trial, values in zip(history, compared, strict=True):
        if not trial.is_running or trial.stop_requested:
            continue
        reached = [r for r in settings.rungs if r <= len(values)]
        if not reached:
            continue
        cut = cuts[reached[-1]]
        value = values[cut.rung - 1]
        if value <= cut.threshold:
            continue
        if cut.fit is not None:
            predicted = cut.fit.predict(values[cut.fit.previous - 1], value)
            if predicted <= cut.fit.threshold:
                continue  # goes on by its predicted value
            what = f"{metric.name} at" if settings.strict else f"best {metric.name} by"
            reason = (
                f"asha rung {cut.rung}: {shown(value, metric)} worse than threshold "
                f"{shown(cut.threshold, metric)} ({what} iteration {cut.rung}; "
                f"only the best {cut.keep} of {cut.runs} runs at this rung go on); "
                f"predicted {shown(cut.fit.shown(predicted), metric)} by iteration "
                f"{cut.fit.target} worse than threshold "
                f"{shown(cut.fit.shown(cut.fit.threshold), metric)} (model: curve, "
                f"slope {cut.fit.slope:.3g} fitted on {cut.fit.fitted_on} runs; the "
                f"{cut.fit.keep} within {settings.z:g} residual sd of the best prediction go on "
                "too)"
            )
            decisions.append(StopDecision(run_id=trial.run_id, reason=reason))
            continue
        gain = -math.inf
        if cut.previous is not None:
            gain = _gain(values, cut.previous, cut.rung)
            if gain > 0 and gain >= cut.progress_threshold:
                continue  # a fast improver: goes on by progress
        what = f"{metric.name} at" if settings.strict else f"best {metric.name} by"
        reason = (
            f"asha rung {cut.rung}: {shown(value, metric)} worse than threshold "
            f"{shown(cut.threshold, metric)} ({what} iteration {cut.rung}; "
            f"only the best {cut.keep} of {cut.runs} runs at this rung go on)"
        )
        if cut.previous is not None:
            since = f"since rung {cut.previous}"
            if gain > 0:
                reason += (
                    f"; improvement {since} {_percent(gain)} below threshold "
                    f"{_percent(cut.progress_threshold)} (the {cut.progress_keep} most improved "
                    "go on too)"
                )
            else:
                reason += f"; no improvement {since}"
        decisions.append(StopDecision(run_id=trial.run_id, reason=reason))
    return decisions
