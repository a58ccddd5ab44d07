"""Parameter importance: opensweep vs W&B's method vs Optuna's, where the truth is known.

Each synthetic problem is a function of six hyperparameters (floats, a log-scale float, an int,
categoricals) plus noise. The true importance of a parameter is its total-effect Sobol index
(the share of the metric's variance that disappears when the parameter is fixed, interactions
included), computed by Monte Carlo on the noise-free function. Every method sees the same
random-search runs and is scored by:

- spearman: rank correlation between its importances and the true ones, over the parameters
  that matter (the order among no-effect parameters is noise; 1 = same order),
- separation: share of (parameter that matters, parameter with no effect) pairs ranked the right
  way round (1 = every useless parameter below every useful one),
- top1: the most important parameter is the true most important one,
- null mass: total importance given to parameters with no effect at all (0 is right),
- seconds: wall time of one evaluation.

Methods: ``opensweep`` (held-out permutation importance of a random forest, categoricals grouped),
``wandb`` (W&B's documented method: a random forest's impurity feature importance, one-hot
categoricals, here summed back per parameter), ``optuna-fanova`` and ``optuna-ped-anova``
(``optuna.importance``). PED-ANOVA answers a different question (what matters to land in the top
10 %), so its truth is not quite ours; it is listed because Optuna recommends it.

    .venv/bin/python benchmarks/importance/run.py            # full table (a few minutes)
    .venv/bin/python benchmarks/importance/run.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from scipy.stats import spearmanr
from sklearn.ensemble import RandomForestRegressor

from opensweep.analysis.importance import ParamInfo, compute_importance

optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


@dataclass(frozen=True)
class P:
    name: str
    kind: str  # float | log | int | cat
    low: float = 0.0
    high: float = 1.0
    choices: tuple[str, ...] = ()

    def sample(self, rng: np.random.Generator, n: int) -> list[Any]:
        if self.kind == "float":
            return list(rng.uniform(self.low, self.high, n))
        if self.kind == "log":
            return list(10 ** rng.uniform(math.log10(self.low), math.log10(self.high), n))
        if self.kind == "int":
            return [int(v) for v in rng.integers(int(self.low), int(self.high) + 1, n)]
        return [str(v) for v in rng.choice(self.choices, n)]

    def info(self) -> ParamInfo:
        if self.kind == "cat":
            return ParamInfo(self.name, (self.name,), "categorical", categories=self.choices)
        return ParamInfo(self.name, (self.name,), "numeric", log=self.kind == "log")

    def optuna(self) -> BaseDistribution:
        if self.kind == "cat":
            return CategoricalDistribution(self.choices)
        if self.kind == "int":
            return IntDistribution(int(self.low), int(self.high))
        return FloatDistribution(self.low, self.high, log=self.kind == "log")


@dataclass(frozen=True)
class Problem:
    name: str
    params: tuple[P, ...]
    f: Callable[[dict[str, np.ndarray]], np.ndarray]  # vectorised, noise-free
    noise: float


OPT_SHIFT = {"adam": 0.0, "sgd": 3.0, "rmsprop": 0.5}
OPT_CENTER = {"adam": -3.5, "sgd": -1.5, "rmsprop": -3.0}


def _additive(c: dict[str, np.ndarray]) -> np.ndarray:
    shift = np.vectorize(OPT_SHIFT.get)(c["optimizer"])
    return 5 * c["a"] + 2 * c["b"] + np.log10(c["lr"]) + shift


def _hpo_like(c: dict[str, np.ndarray]) -> np.ndarray:
    # A loss valley in log(lr) whose centre depends on the optimizer, widened by dropout;
    # weight decay matters a little; batch size and momentum not at all.
    centre = np.vectorize(OPT_CENTER.get)(c["optimizer"])
    valley = (np.log10(c["lr"]) - centre) ** 2 * (0.5 + c["dropout"])
    return valley + 6.0 * c["weight_decay"]


def _cardinality_trap(c: dict[str, np.ndarray]) -> np.ndarray:
    # Only x and (a little) depth matter; a 20-value categorical and two floats are pure noise,
    # the setting where impurity importance is known to be biased toward high cardinality.
    return np.sin(3 * c["x"]) * 2 + 0.3 * c["depth"]


PROBLEMS = (
    Problem(
        "additive",
        (
            P("a", "float"),
            P("b", "float"),
            P("lr", "log", 1e-5, 1e-1),
            P("optimizer", "cat", choices=tuple(OPT_SHIFT)),
            P("dummy1", "float"),
            P("dummy2", "int", 1, 100),
        ),
        _additive,
        noise=0.3,
    ),
    Problem(
        "hpo-like",
        (
            P("lr", "log", 1e-5, 1e-1),
            P("optimizer", "cat", choices=tuple(OPT_CENTER)),
            P("dropout", "float", 0.0, 0.5),
            P("weight_decay", "float", 0.0, 0.3),
            P("batch_size", "int", 16, 256),
            P("momentum", "float", 0.8, 0.99),
        ),
        _hpo_like,
        noise=0.2,
    ),
    Problem(
        "cardinality-trap",
        (
            P("x", "float"),
            P("depth", "int", 1, 4),
            P("seed_name", "cat", choices=tuple(f"s{i}" for i in range(20))),
            P("noise1", "float"),
            P("noise2", "log", 1e-3, 1e3),
            P("flag", "cat", choices=("on", "off")),
        ),
        _cardinality_trap,
        noise=0.3,
    ),
)


def sample_configs(problem: Problem, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {p.name: np.array(p.sample(rng, n), dtype=object) for p in problem.params}


def _typed(problem: Problem, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {p.name: cols[p.name].astype(str if p.kind == "cat" else float) for p in problem.params}


def true_total_effects(problem: Problem, rng: np.random.Generator, n: int = 100_000) -> np.ndarray:
    """Total-effect Sobol indices (Jansen estimator), normalised to sum to 1."""
    a = _typed(problem, sample_configs(problem, n, rng))
    b = _typed(problem, sample_configs(problem, n, rng))
    fa = problem.f(a)
    var = float(np.var(fa))
    totals = []
    for p in problem.params:
        ab = dict(a)
        ab[p.name] = b[p.name]
        totals.append(float(np.mean((fa - problem.f(ab)) ** 2)) / (2 * var))
    t = np.clip(np.array(totals), 0, None)
    return t / t.sum()


# ---------------------------------------------------------------------------- methods


def ours(problem: Problem, configs: list[dict[str, Any]], y: np.ndarray, seed: int) -> np.ndarray:
    report = compute_importance(
        configs, list(y), rng=np.random.default_rng(seed), params=[p.info() for p in problem.params]
    )
    got = {p.name: p.importance or 0.0 for p in report.params}
    return np.array([got[p.name] for p in problem.params])


def wandb_rf(
    problem: Problem, configs: list[dict[str, Any]], y: np.ndarray, seed: int
) -> np.ndarray:
    """Random-forest impurity importance on one-hot inputs (W&B's documented method)."""
    blocks, owners = [], []
    for i, p in enumerate(problem.params):
        values = [c[p.name] for c in configs]
        if p.kind == "cat":
            for choice in p.choices:
                blocks.append([1.0 if v == choice else 0.0 for v in values])
                owners.append(i)
        else:
            blocks.append([float(v) for v in values])
            owners.append(i)
    x = np.array(blocks).T
    forest = RandomForestRegressor(n_estimators=100, random_state=seed, n_jobs=1).fit(x, y)
    out = np.zeros(len(problem.params))
    np.add.at(out, owners, forest.feature_importances_)
    return out / out.sum()


def _study(problem: Problem, configs: list[dict[str, Any]], y: np.ndarray) -> optuna.Study:
    study = optuna.create_study(direction="minimize")
    dists = {p.name: p.optuna() for p in problem.params}
    study.add_trials(
        [
            optuna.trial.create_trial(params=dict(c), distributions=dists, value=float(v))
            for c, v in zip(configs, y, strict=True)
        ]
    )
    return study


def _optuna(evaluator_factory: Callable[[int], Any]) -> Callable[..., np.ndarray]:
    def run(
        problem: Problem, configs: list[dict[str, Any]], y: np.ndarray, seed: int
    ) -> np.ndarray:
        got = optuna.importance.get_param_importances(
            _study(problem, configs, y), evaluator=evaluator_factory(seed)
        )
        out = np.array([got.get(p.name, 0.0) for p in problem.params])
        return out / out.sum() if out.sum() > 0 else out

    return run


METHODS: dict[str, Callable[..., np.ndarray]] = {
    "opensweep": ours,
    "wandb": wandb_rf,
    "optuna-fanova": _optuna(lambda s: optuna.importance.FanovaImportanceEvaluator(seed=s)),
    "optuna-ped-anova": _optuna(lambda s: optuna.importance.PedAnovaImportanceEvaluator()),
}


def _child(conn: Any, method: Callable[..., np.ndarray], *args: Any) -> None:
    conn.send(method(*args))
    conn.close()


def within(
    timeout: float, method: Callable[..., np.ndarray], *args: Any
) -> tuple[np.ndarray | None, float]:
    """``method(*args)`` in a forked process; None when it takes longer than ``timeout``."""
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    start = time.perf_counter()
    proc = ctx.Process(target=_child, args=(send, method, *args))
    proc.start()
    send.close()
    result = receive.recv() if receive.poll(timeout) else None
    seconds = time.perf_counter() - start
    if proc.is_alive():
        proc.kill()
    proc.join()
    return result, seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per evaluation")
    args = parser.parse_args()
    sizes = (50,) if args.quick else (50, 200, 1000)
    seeds = range(1 if args.quick else args.seeds)

    print("| problem | runs | method | spearman | separation | top1 | null mass | seconds |")
    print("|---|---:|---|---:|---:|---:|---:|---:|", flush=True)
    overall: dict[str, list[float]] = {m: [] for m in METHODS}
    overall_sep: dict[str, list[float]] = {m: [] for m in METHODS}
    for problem in PROBLEMS:
        truth = true_total_effects(problem, np.random.default_rng(12345))
        null = truth < 1e-3
        print(
            f"| {problem.name} | truth | "
            + ", ".join(f"{p.name} {t:.2f}" for p, t in zip(problem.params, truth, strict=True))
            + " | | | | | |",
            flush=True,
        )
        for n in sizes:
            stats: dict[str, list[tuple[float, ...]]] = {m: [] for m in METHODS}
            timeouts = dict.fromkeys(METHODS, 0)
            for seed in seeds:
                rng = np.random.default_rng(1000 * seed + n)
                cols = sample_configs(problem, n, rng)
                y = problem.f(_typed(problem, cols)) + rng.normal(0, problem.noise, n)
                configs = [{k: cols[k][i] for k in cols} for i in range(n)]
                for name, method in METHODS.items():
                    est, seconds = within(args.timeout, method, problem, configs, y, seed)
                    if est is None:  # did not finish: counts as no answer
                        timeouts[name] += 1
                        continue
                    rho = float(spearmanr(est[~null], truth[~null]).statistic)
                    pairs = [
                        float(est[i] > est[j])
                        for i in np.flatnonzero(~null)
                        for j in np.flatnonzero(null)
                    ]
                    top1 = float(np.argmax(est) == np.argmax(truth))
                    stats[name].append(
                        (rho, float(np.mean(pairs)), top1, float(est[null].sum()), seconds)
                    )
            for name, rows in stats.items():
                if timeouts[name]:
                    print(
                        f"| {problem.name} | {n} | {name} | timed out ({timeouts[name]} of "
                        f"{timeouts[name] + len(rows)} > {args.timeout:.0f} s) | | | | |",
                        flush=True,
                    )
                    timeouts[name] = 0
                if not rows:
                    continue
                # A constant estimate (all zeros) has no rank correlation: NaN, left out.
                m = np.nanmean(np.array(rows), axis=0)
                overall[name].append(m[0])
                overall_sep[name].append(m[1])
                print(
                    f"| {problem.name} | {n} | {name} | {m[0]:.2f} | {m[1]:.2f} | {m[2]:.2f} "
                    f"| {m[3]:.3f} | {m[4]:.2f} |",
                    flush=True,
                )
    print()
    print("| method | mean spearman | mean separation |")
    print("|---|---:|---:|")
    for name, values in overall.items():
        print(f"| {name} | {np.mean(values):.3f} | {np.mean(overall_sep[name]):.3f} |")


if __name__ == "__main__":
    main()
