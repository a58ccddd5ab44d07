"""Optuna's samplers as search methods: ``tpe`` (multivariate TPE with constant liar), ``cmaes``.
Also ``qmc`` (scrambled Sobol via scipy, which Optuna's QMCSampler wraps).

Every call replays the sweep's history into a fresh in-memory Optuna study (finished and imputed
runs as COMPLETE trials, running runs as RUNNING ones so the constant liar keeps agents apart,
failed runs without any value as FAIL) and asks it for the next points. CMA-ES keeps its state
in trial attributes, so for it each run is replayed through ask (parameters enqueued) and tell.
Nothing is kept between calls, so a restarted controller recovers for free. Values follow
``metric.impute`` exactly as ``bayes`` does (:mod:`opensweep.search.bayes.observe`).

Parameters map to Optuna distributions where Optuna has one (uniform, log-uniform, int_uniform,
categorical by index, so any JSON value is a valid choice); every other distribution (q_*,
normal, beta...) is searched on its quantile ``cdf(x)`` in [0, 1] and mapped back with ``ppf``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from opensweep.config.spec import MetricSpec, SweepSpec
from opensweep.core.history import Trial
from opensweep.core.space import Param, Space, get_path, set_path
from opensweep.search.base import Suggestion
from opensweep.search.bayes.observe import observe

_MISSING: Any = object()
_UNBOUNDED_EPS = 1e-4
_TPE_STARTUP = 10


@dataclass(frozen=True)
class _Mapped:
    """One parameter as an Optuna distribution, with the value conversions both ways."""

    param: Param
    dist: Any
    how: str  # "value" | "index" | "unit"

    def to_optuna(self, value: Any) -> Any:
        if self.how == "index":
            return self.param.index(value)
        if self.how == "unit":
            u = float(self.param.cdf(value))
            return None if math.isnan(u) else min(max(u, self.dist.low), self.dist.high)
        try:
            v = float(value)
        except (TypeError, ValueError):
            return None
        if math.isnan(v):
            return None
        v = min(max(v, self.dist.low), self.dist.high)
        return round(v) if self.param.kind == "int" else v

    def from_optuna(self, x: Any) -> Any:
        if self.how == "index":
            return (self.param.values or ())[int(x)]
        if self.how == "unit":
            return self.param.ppf(float(x))
        return int(x) if self.param.kind == "int" else float(x)


def _map_param(p: Param) -> _Mapped:
    import optuna.distributions as od

    d, s = p.distribution, p.spec
    if p.kind == "categorical":
        return _Mapped(p, od.CategoricalDistribution(tuple(range(len(p.values or ())))), "index")
    if d == "int_uniform" and s["min"] < s["max"]:
        return _Mapped(p, od.IntDistribution(int(s["min"]), int(s["max"])), "value")
    bounds = p.bounds
    if d == "uniform" and bounds is not None and bounds[0] < bounds[1]:
        return _Mapped(p, od.FloatDistribution(bounds[0], bounds[1]), "value")
    if d in ("log_uniform", "log_uniform_values") and bounds is not None and bounds[0] < bounds[1]:
        return _Mapped(p, od.FloatDistribution(bounds[0], bounds[1], log=True), "value")
    eps = _UNBOUNDED_EPS if bounds is None else 0.0
    return _Mapped(p, od.FloatDistribution(eps, 1.0 - eps), "unit")


def _replay(
    space: Space, metric: MetricSpec, history: Sequence[Trial], sampler: Any, tell: bool = False
) -> tuple[Any, list[_Mapped]]:
    """A fresh study holding the history. ``tell``: replay each run through ask (with its
    parameters enqueued) and tell, so a stateful sampler (CMA-ES keeps its optimizer in trial
    attributes) rebuilds its state as if it had proposed those points."""
    import optuna
    from optuna.trial import TrialState, create_trial

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    mapped = [_map_param(p) for p in space.params if p.kind != "constant"]
    study = optuna.create_study(direction="minimize", sampler=sampler)
    obs = observe(metric, history)
    values = {t.run_id: v for t, v in obs.observed}
    pending = {t.run_id for t in obs.pending}
    all_dists = {m.param.name: m.dist for m in mapped}
    for t in history:
        params: dict[str, Any] = {}
        for m in mapped:
            raw = get_path(t.params, m.param.path, _MISSING)
            x = None if raw is _MISSING else m.to_optuna(raw)
            if x is not None:
                params[m.param.name] = x
        value = values.get(t.run_id)
        if tell:
            study.enqueue_trial(params, skip_if_exists=False)
            asked = study.ask(all_dists)
            # Fixed parameters never reach the sampler; this lets it see the trial (CMA-ES
            # tags it with its generation and tells full generations to its optimizer).
            _ = asked.relative_params
            if value is not None:
                study.tell(asked, value)
            elif t.run_id not in pending:
                study.tell(asked, state=TrialState.FAIL)
            continue
        if value is not None:
            state = TrialState.COMPLETE
        else:
            state = TrialState.RUNNING if t.run_id in pending else TrialState.FAIL
        dists = {name: all_dists[name] for name in params}
        study.add_trial(create_trial(params=params, distributions=dists, value=value, state=state))
    return study, mapped


def _ask(
    spec: SweepSpec,
    history: Sequence[Trial],
    n: int,
    sampler: Any,
    startup: int,
    name: str,
    tell: bool = False,
) -> list[Suggestion]:
    metric = spec.metric or MetricSpec(name="loss")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study, mapped = _replay(spec.space, metric, history, sampler, tell)
    # get_trials(deepcopy=False): study.trials deep-copies every trial (40% of a call at 1,000)
    complete = sum(1 for t in study.get_trials(deepcopy=False) if t.value is not None)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna's experimental/independent-sampling warnings
        for _ in range(n):
            trial = study.ask({m.param.name: m.dist for m in mapped})  # stays RUNNING: a liar
            config = _constants(spec.space)
            for m in mapped:
                set_path(config, m.param.path, m.from_optuna(trial.params[m.param.name]))
            note = None
            if complete < startup:
                note = (
                    f"{name}: random startup point ({complete} of {startup} observations "
                    "before the model is used)"
                )
            out.append(Suggestion(config, note))
    return out


def _constants(space: Space) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for p in space.params:
        if p.kind == "constant":
            set_path(config, p.path, p.ppf(0.5))
    return config


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31 - 1))


def suggest_tpe(
    spec: SweepSpec, history: Sequence[Trial], n: int, rng: np.random.Generator
) -> list[Suggestion]:
    import optuna

    sampler = optuna.samplers.TPESampler(
        seed=_seed(rng), multivariate=True, constant_liar=True, n_startup_trials=_TPE_STARTUP
    )
    return _ask(spec, history, n, sampler, _TPE_STARTUP, "tpe")


def suggest_cmaes(
    spec: SweepSpec, history: Sequence[Trial], n: int, rng: np.random.Generator
) -> list[Suggestion]:
    import optuna

    # CMA-ES has no categorical model: Optuna samples those dims independently (random).
    sampler = optuna.samplers.CmaEsSampler(seed=_seed(rng), warn_independent_sampling=False)
    return _ask(spec, history, n, sampler, 1, "cmaes", tell=True)


def suggest_qmc(
    spec: SweepSpec, history: Sequence[Trial], n: int, rng: np.random.Generator
) -> list[Suggestion]:
    """The next ``n`` points of one scrambled Sobol sequence, indexed by the history's length.

    The scramble comes from the sweep's ``seed`` (0 without one), not from ``rng``: the
    sequence must be the same across calls for its points to stay well spread.
    """
    from scipy.stats import qmc

    space = spec.space
    d = len(space.params)
    if d == 0:
        return [Suggestion({}) for _ in range(n)]
    engine = qmc.Sobol(d, scramble=True, seed=spec.seed if spec.seed is not None else 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # balance warning for counts that are not powers of 2
        if history:
            engine.fast_forward(len(history))
        points = engine.random(n)
    return [Suggestion(space.from_unit(u)) for u in points]


__all__ = ["suggest_cmaes", "suggest_qmc", "suggest_tpe"]
