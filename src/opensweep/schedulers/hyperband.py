"""W&B's hyperband early termination, exactly (``sweeps`` 0.3.0 ``hyperband_stop_runs``).

W&B's "hyperband" is a stateless rung-threshold rule over every run of the sweep:

- bands: ``int(min_iter * eta**k)`` for k = 0, 1, ...; or, given ``max_iter`` and ``s``,
  ``int(max_iter / eta**k)`` for k = 1..s while that is >= 1, sorted;
- the threshold at band b is the value at sorted index ``int(n / eta)`` among the n runs (of any
  state) with at least b valid metric values, each taken at index b-1; values live in
  "minimize space" (negated for ``goal: maximize``); no such run gives +inf;
- a running run whose largest reached band is b is stopped when its value is worse than that
  threshold: its value at index b-1 when ``strict`` (the default), else its best so far.
  Ties survive.

"Iterations" are the number of valid (finite) values logged for the metric; NaN, inf and
non-numbers are dropped first, as W&B does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opensweep.config.spec import SweepSpec
from opensweep.core.history import Trial
from opensweep.schedulers._common import (
    bad_option,
    bool_option,
    eta_option,
    int_option,
    options_of,
    require_metric,
    shown,
    signed_history,
)
from opensweep.schedulers.base import StopDecision

_MAX_BANDS = 100  # W&B builds 100 bands in min_iter mode


@dataclass(frozen=True)
class HyperbandSettings:
    eta: float
    strict: bool
    min_iter: int | None = None
    max_iter: int | None = None
    s: int | None = None


def settings_from_options(options: Mapping[str, Any]) -> HyperbandSettings:
    """Read (and check) hyperband's options; raises ConfigError naming the bad key."""
    eta = eta_option(options)
    strict = bool_option(options, "strict", True)
    max_iter = int_option(options, "max_iter")
    s = int_option(options, "s")
    min_iter = int_option(options, "min_iter")
    if max_iter is not None and s is not None:
        settings = HyperbandSettings(eta=eta, strict=strict, max_iter=max_iter, s=s)
    elif min_iter is not None:
        settings = HyperbandSettings(eta=eta, strict=strict, min_iter=min_iter)
    else:
        raise bad_option("min_iter", "hyperband needs min_iter, or max_iter together with s")
    if not hyperband_bands(settings, limit=None):
        raise bad_option("s", "no band is >= 1: increase max_iter or s, or decrease eta")
    return settings


def hyperband_bands(settings: HyperbandSettings, limit: int | None = None) -> list[int]:
    """The bands (iteration counts) in increasing order, W&B's arithmetic.

    In min_iter mode the list is unbounded in principle: it stops after 100 bands (like W&B) or
    at the first band above ``limit`` (no run can have reached it, so it cannot matter).
    """
    bands: list[int] = []
    if settings.max_iter is not None and settings.s is not None:
        band: float = settings.max_iter
        for _ in range(settings.s):
            band /= settings.eta
            if band < 1:
                break
            bands.append(int(band))
        bands.sort()
    elif settings.min_iter is not None:
        band = settings.min_iter
        for _ in range(_MAX_BANDS):
            if limit is not None and int(band) > limit:
                break
            bands.append(int(band))
            band *= settings.eta
    # Repeated bands (eta close to 1) change nothing in W&B's rule; keep each once.
    return sorted(set(bands))


def hyperband_thresholds(
    spec: SweepSpec, history: Sequence[Trial], limit: int | None = None
) -> list[tuple[int, float]]:
    """(band, threshold) pairs in minimize space (+inf where no run reached the band)."""
    metric = require_metric(spec)
    settings = settings_from_options(options_of(spec))
    histories = [signed_history(t, metric) for t in history]
    if limit is None:
        limit = max((len(h) for h in histories), default=0)
    return _thresholds(hyperband_bands(settings, limit), histories, settings.eta)


def _thresholds(
    bands: Sequence[int], histories: Sequence[Sequence[float]], eta: float
) -> list[tuple[int, float]]:
    return [(band, threshold) for band, threshold, _ in _band_table(bands, histories, eta)]


def _band_table(
    bands: Sequence[int], histories: Sequence[Sequence[float]], eta: float
) -> list[tuple[int, float, int]]:
    """(band, threshold, number of runs that reached the band)."""
    keep_fraction = 1.0 / eta  # W&B's r; int(r * n) == int(n / eta) for every eta we tried
    out: list[tuple[int, float, int]] = []
    for band in bands:
        values = sorted(h[band - 1] for h in histories if len(h) >= band)
        threshold = values[int(keep_fraction * len(values))] if values else math.inf
        out.append((band, threshold, len(values)))
    return out


def decide(spec: SweepSpec, history: Sequence[Trial]) -> list[StopDecision]:
    """Running runs to stop now under W&B's hyperband rule (never one already asked to stop)."""
    if spec.early_terminate is None:
        return []
    metric = require_metric(spec)
    settings = settings_from_options(options_of(spec))
    histories = [signed_history(t, metric) for t in history]
    limit = max((len(h) for h in histories), default=0)
    table = _band_table(hyperband_bands(settings, limit), histories, settings.eta)

    decisions: list[StopDecision] = []
    for trial, values in zip(history, histories, strict=True):
        if not trial.is_running or trial.stop_requested:
            continue
        reached = [row for row in table if row[0] <= len(values)]
        if not reached:
            continue
        band, threshold, n_runs = reached[-1]
        value = values[band - 1] if settings.strict else min(values)
        if value > threshold:
            what = "" if settings.strict else "best "
            reason = (
                f"hyperband band {band}: {what}{shown(value, metric)} worse than threshold "
                f"{shown(threshold, metric)} ({metric.name} after {band} values; "
                f"{n_runs} runs reached the band, eta {settings.eta:g})"
            )
            decisions.append(StopDecision(run_id=trial.run_id, reason=reason))
    return decisions
