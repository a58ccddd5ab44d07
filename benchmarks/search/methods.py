"""Every method behind one ask/tell loop: ``run(method, problem, budget, seed)``.

opensweep methods get the history the controller would pass (Trials) and a per-run generator;
W&B's engine gets its own ``SweepRun`` list; Optuna's samplers run natively (ask/tell), as a
user of Optuna would run them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from opensweep.config.spec import MetricSpec, SweepSpec
from opensweep.core.history import Trial
from opensweep.core.model import RunState
from opensweep.core.space import Param, Space

OURS = ("opensweep-bayes", "opensweep-tpe", "opensweep-random")
PEERS = ("wandb-bayes", "optuna-tpe", "optuna-gp")
METHODS = OURS + PEERS


def make_space(parameters: Mapping[str, Mapping[str, Any]]) -> Space:
    params = [
        Param((name,), spec["distribution"], {k: v for k, v in spec.items() if k != "distribution"})
        for name, spec in parameters.items()
    ]
    return Space(tuple(sorted(params, key=lambda p: p.path)))


def make_spec(method: str, parameters: Mapping[str, Mapping[str, Any]]) -> SweepSpec:
    return SweepSpec(method=method, space=make_space(parameters), metric=MetricSpec("loss"))


def finished_trial(i: int, config: Mapping[str, Any], value: float) -> Trial:
    return Trial(
        run_id=f"r{i}",
        params=dict(config),
        state=RunState.FINISHED,
        metric_history=(value,),
        summary_metric=value,
        created_index=i,
    )


class Asker:
    """ask() -> config; tell(config, value). ``seconds`` collects the CPU time of each ask
    (process time: on a shared machine wall time measures the neighbours)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def ask(self) -> dict[str, Any]:
        raise NotImplementedError

    def tell(self, config: Mapping[str, Any], value: float) -> None:
        raise NotImplementedError


class OpensweepAsker(Asker):
    def __init__(self, name: str, parameters: Mapping[str, Any], seed: int) -> None:
        super().__init__()
        from opensweep.search.registry import get_method

        method = {"opensweep-bayes": "bayes", "opensweep-tpe": "tpe", "opensweep-random": "random"}
        self.spec = make_spec(method[name], parameters)
        self.fn = get_method(self.spec.method) if name != "opensweep-random" else _random
        self.seed = seed
        self.history: list[Trial] = []

    def ask(self) -> dict[str, Any]:
        rng = np.random.default_rng([self.seed, len(self.history)])
        t0 = time.process_time()
        out = self.fn(self.spec, self.history, 1, rng)
        self.seconds.append(time.process_time() - t0)
        return dict(out[0].params)

    def tell(self, config: Mapping[str, Any], value: float) -> None:
        self.history.append(finished_trial(len(self.history), config, value))


def _random(spec: SweepSpec, history: Any, n: int, rng: np.random.Generator) -> Any:
    try:
        from opensweep.search.random import suggest
    except ImportError:  # the random method is written by another helper; same semantics
        from opensweep.search.base import Suggestion

        return [Suggestion(spec.space.sample(rng)) for _ in range(n)]
    return suggest(spec, history, n, rng)


class WandbAsker(Asker):
    def __init__(self, parameters: Mapping[str, Any], seed: int) -> None:
        super().__init__()
        import random

        import sweeps

        self.sweeps = sweeps
        self.config = {
            "method": "bayes",
            "metric": {"name": "loss", "goal": "minimize"},
            "parameters": {k: dict(v) for k, v in parameters.items()},
        }
        self.runs: list[Any] = []
        np.random.seed(seed)  # W&B's engine draws from the global generators only
        random.seed(seed)

    def ask(self) -> dict[str, Any]:
        t0 = time.process_time()
        run = self.sweeps.next_run(self.config, self.runs, validate=False)
        self.seconds.append(time.process_time() - t0)
        return {k: v["value"] for k, v in run.config.items()}

    def tell(self, config: Mapping[str, Any], value: float) -> None:
        self.runs.append(
            self.sweeps.SweepRun(
                name=f"r{len(self.runs)}",
                state=self.sweeps.RunState.finished,
                config={k: {"value": v} for k, v in config.items()},
                summary_metrics={"loss": value},
                history=[{"loss": value}],
            )
        )


def optuna_distributions(parameters: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    import optuna.distributions as od

    out: dict[str, Any] = {}
    for name, s in parameters.items():
        d = s["distribution"]
        if d == "uniform":
            out[name] = od.FloatDistribution(s["min"], s["max"])
        elif d == "log_uniform_values":
            out[name] = od.FloatDistribution(s["min"], s["max"], log=True)
        elif d == "int_uniform":
            out[name] = od.IntDistribution(s["min"], s["max"])
        elif d == "categorical":
            out[name] = od.CategoricalDistribution(s["values"])
        else:
            raise ValueError(d)
    return out


class OptunaAsker(Asker):
    def __init__(self, name: str, parameters: Mapping[str, Any], seed: int) -> None:
        super().__init__()
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        sampler = (
            optuna.samplers.GPSampler(seed=seed)
            if name == "optuna-gp"
            else optuna.samplers.TPESampler(seed=seed)
        )
        self.study = optuna.create_study(sampler=sampler)
        self.dists = optuna_distributions(parameters)
        self.trial: Any = None

    def ask(self) -> dict[str, Any]:
        t0 = time.process_time()
        self.trial = self.study.ask(self.dists)
        self.seconds.append(time.process_time() - t0)
        return dict(self.trial.params)

    def tell(self, config: Mapping[str, Any], value: float) -> None:
        self.study.tell(self.trial, value)


def make_asker(method: str, parameters: Mapping[str, Any], seed: int) -> Asker:
    if method in OURS:
        return OpensweepAsker(method, parameters, seed)
    if method == "wandb-bayes":
        return WandbAsker(parameters, seed)
    return OptunaAsker(method, parameters, seed)


def run(
    method: str,
    parameters: Mapping[str, Any],
    objective: Callable[[Mapping[str, Any]], float],
    budget: int,
    seed: int,
) -> tuple[list[float], list[float]]:
    """Objective values in evaluation order, and the time of every ask."""
    asker = make_asker(method, parameters, seed)
    values: list[float] = []
    for _ in range(budget):
        config = asker.ask()
        value = float(objective(config))
        asker.tell(config, value)
        values.append(value)
    return values, asker.seconds
