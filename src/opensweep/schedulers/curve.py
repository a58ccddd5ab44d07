"""Learning-curve extrapolation for asha's ``model: curve``: pure, fitted on the sweep's own runs.

At rung ``r`` (previous rung ``p``), a run's value is extrapolated to a later iteration ``t`` from
its own improvement since ``p``::

    predicted(t) = y_r - slope * (y_p - y_r)

with ``y`` the compared value (best so far by the iteration, or the value at it with ``strict``)
on a log scale when every finite value the sweep logged is positive (minimize space: losses,
errors), else as logged. ``slope`` is the least-squares slope of the further improvement
``y_r - y_t`` on the improvement ``y_p - y_r`` over the sweep's runs (any state) that reached
``t``; the intercept is the same for every run, so it does not change the ranking and is left
out. The slope is clipped to ``[0, (t - r) / (r - p)]``: a run is never predicted to improve
faster per iteration than it just did (curves decelerate), and a bigger improvement never
predicts a worse value. Runs that reached ``t`` were selected on their values at ``p`` and ``r``,
which are the regressors, so the fit is not biased by that selection (it extrapolates to runs
unlike the ones kept, which is why asha keeps the level cut beside it).

The cut on predictions is relative to the best one, in units of the fit's residual standard
deviation ``sigma`` (of the further improvements around the fitted line, on the same scale): a run
goes on by prediction while ``predicted <= best predicted + z * sigma``, i.e. while it is not
confidently worse than the best run's prediction. With a Gaussian error on each prediction, a run
stopped at ``z = 3`` beats the best prediction with probability below 2% (their difference has
``sqrt(2) * sigma`` spread), less for one further behind.

``t`` is the next rung (``max_iter`` after the last one); when fewer than ``min_fit`` runs got
there yet, the furthest iteration past ``r`` that ``min_fit`` runs reached. With no such iteration,
too few usable pairs, or improvements that do not vary, there is no fit and asha falls back on its
level-and-progress rule at that rung.

Cost: one pass over the runs per rung, no numpy. A whole asha call with it took 1.4 ms for 100
runs (50 running, up to 27 iterations) and 3.3 ms for 100 running runs of 27 iterations, against
0.9 and 2.0 ms without, on a shared machine (tests/schedulers/test_curve.py bounds it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MIN_FIT_RUNS = 3  # the fewest runs past a rung a slope is fitted on (asha uses max(3, min_runs))
DEFAULT_Z = 3.0  # chosen on benchmarks/early_stop seeds 500-599 (z = 0.5, 1, 2, 3, 4, 6 tried)


@dataclass(frozen=True)
class CurveFit:
    """The extrapolation at one rung, and the cut on it."""

    rung: int
    previous: int
    target: int  # the iteration predicted
    slope: float
    log_scale: bool
    fitted_on: int  # runs the slope was fitted on
    sigma: float  # residual standard deviation of the fit
    keep: int  # how many of the rung's runs go on by prediction
    threshold: float  # the best prediction + z * sigma (on the fit's scale)

    def scaled(self, value: float) -> float:
        if not math.isfinite(value):
            return math.inf
        if self.log_scale:
            return math.log(value) if value > 0 else -math.inf
        return value

    def predict(self, before: float, now: float) -> float:
        """The predicted value at ``target`` (fit's scale) from the run's values at ``previous``
        and ``rung``; +inf when either is not finite (a diverged run is never kept by it)."""
        a, b = self.scaled(before), self.scaled(now)
        if not (math.isfinite(a) and math.isfinite(b)):
            return math.inf
        predicted = b - self.slope * (a - b) if self.slope else b
        return math.inf if math.isnan(predicted) else predicted

    def shown(self, predicted: float) -> float:
        """A prediction back on the metric's scale (minimize space)."""
        if self.log_scale and math.isfinite(predicted):
            return math.exp(predicted)
        return predicted


def all_positive(compared: Sequence[Sequence[float]]) -> bool:
    """Whether every finite value is positive (then extrapolation is on a log scale)."""
    lowest = math.inf
    for h in compared:
        for v in h:
            if v < lowest:
                lowest = v
    return 0 < lowest < math.inf


def fit_rung(
    compared: Sequence[Sequence[float]],
    rungs: Sequence[int],
    k: int,
    max_iter: int | None,
    log_scale: bool,
    z: float = DEFAULT_Z,
    min_fit: int = MIN_FIT_RUNS,
) -> CurveFit | None:
    """The fit at ``rungs[k]`` (k >= 1), or None.

    ``compared[i][t - 1]`` is what run i is compared by at iteration t, in minimize space (its
    best value so far, or with ``strict`` its value; non-finite values are +inf).
    """
    rung, previous = rungs[k], rungs[k - 1]
    target = rungs[k + 1] if k + 1 < len(rungs) else max_iter
    lengths = sorted((len(h) for h in compared), reverse=True)
    furthest = lengths[min_fit - 1] if len(lengths) >= min_fit else 0
    if target is None or furthest < target:
        target = furthest
    if target <= rung:
        return None
    probe = CurveFit(rung, previous, target, 0.0, log_scale, 0, 0.0, 0, math.inf)

    xs: list[float] = []
    ys: list[float] = []
    for h in compared:
        if len(h) < target:
            continue
        a, b, c = (probe.scaled(h[i - 1]) for i in (previous, rung, target))
        if math.isfinite(a) and math.isfinite(b) and math.isfinite(c):
            xs.append(a - b)
            ys.append(b - c)
    if len(xs) < min_fit:
        return None
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    var_x = sum((x - mean_x) ** 2 for x in xs)
    cov = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    if not (math.isfinite(var_x) and math.isfinite(cov)) or var_x <= 0:
        return None  # no spread to fit on, or values too large to fit in floats
    slope = min(max(cov / var_x, 0.0), (target - rung) / (rung - previous))
    squares = sum(((y - mean_y) - slope * (x - mean_x)) ** 2 for x, y in zip(xs, ys, strict=True))
    sigma = math.sqrt(squares / max(1, len(xs) - 2))

    fitted = CurveFit(rung, previous, target, slope, log_scale, len(xs), sigma, 0, math.inf)
    predictions = [fitted.predict(h[previous - 1], h[rung - 1]) for h in compared if len(h) >= rung]
    threshold = min(predictions) + z * sigma
    if not math.isfinite(threshold):
        return None  # every prediction diverged, or sigma overflowed: nothing to rank by
    keep = sum(1 for p in predictions if p <= threshold)
    return CurveFit(rung, previous, target, slope, log_scale, len(xs), sigma, keep, threshold)
