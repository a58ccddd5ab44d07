"""Early-stopping benchmark: no stopping vs opensweep hyperband/asha vs W&B's engine vs Optuna.

For each problem and seed, a random sequence of configurations is run by 4 simulated agents
(opensweep.testing.simulator: fake time, a scheduler call after every logged value) under each
method. Two settings:

- same runs: every method gets the same N configurations;
- same compute: every method starts configurations from the same sequence until it has spent
  an epoch budget (runs already going then finish or get stopped).

Reported (median over seeds): best final metric (the best last-logged value over the runs),
epochs spent, and how often the configuration that would have been best (best value after
max_iter epochs among the configurations run) was stopped early.

    .venv/bin/python benchmarks/early_stop/run.py [--seeds 20] [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from peers import OptunaPruner, WandbHyperband  # noqa: E402
from problems import OUT, digits_mlp_pool, parametric_configs  # noqa: E402

from opensweep.config.spec import EarlyTerminateSpec, MetricSpec, SweepSpec  # noqa: E402
from opensweep.core.space import Space  # noqa: E402
from opensweep.schedulers import hyperband  # noqa: E402
from opensweep.schedulers.registry import get_scheduler  # noqa: E402
from opensweep.testing.simulator import CurveConfig, SimResult, simulate  # noqa: E402

EPOCHS = 27
AGENTS = 4
HYPERBAND = {"type": "hyperband", "min_iter": 3, "eta": 3}  # the W&B config of the issue
ASHA = {"type": "asha", "min_iter": 1, "max_iter": EPOCHS, "eta": 3}  # rungs 1, 3, 9
ASHA_SAFE = {"type": "asha", "min_iter": 1, "max_iter": EPOCHS, "s": 1, "eta": 3}  # rungs 1, 9
ASHA_CURVE = {**ASHA, "model": "curve"}  # rungs 1, 3, 9, ranked by a fitted extrapolation too


def spec_for(early_terminate: dict[str, Any] | None) -> SweepSpec:
    et = None
    if early_terminate is not None:
        options = {k: v for k, v in early_terminate.items() if k != "type"}
        et = EarlyTerminateSpec(type=early_terminate["type"], options=options)
    return SweepSpec(
        method="random", space=Space(()), metric=MetricSpec("loss"), early_terminate=et
    )


@dataclass
class Method:
    name: str
    early_terminate: dict[str, Any] | None
    make: Callable[[], Any]  # a fresh scheduler (peers are stateful) or None


def wandb_bands() -> list[int]:
    settings = hyperband.settings_from_options(HYPERBAND)
    return hyperband.hyperband_bands(settings, EPOCHS)


METHODS: list[Method] = [
    Method("no stopping", None, lambda: None),
    Method("opensweep hyperband", HYPERBAND, lambda: get_scheduler("hyperband")),
    Method("W&B sweeps hyperband", HYPERBAND, lambda: None),  # built per run (a subprocess)
    Method("opensweep asha", ASHA, lambda: get_scheduler("asha")),
    Method("opensweep asha s=1", ASHA_SAFE, lambda: get_scheduler("asha")),
    Method("opensweep asha model=curve", ASHA_CURVE, lambda: get_scheduler("asha")),
    Method(
        "Optuna HyperbandPruner",
        None,
        lambda: OptunaPruner(
            optuna.pruners.HyperbandPruner(min_resource=1, max_resource=EPOCHS), "minimize"
        ),
    ),
    Method(
        "Optuna SuccessiveHalving",
        None,
        lambda: OptunaPruner(optuna.pruners.SuccessiveHalvingPruner(), "minimize"),
    ),
]


def run_method(
    method: Method, configs: Sequence[CurveConfig], *, max_runs: int | None, budget: int | None
) -> SimResult:
    spec = spec_for(method.early_terminate)
    if method.name.startswith("W&B"):
        config = {"metric": {"name": "loss", "goal": "minimize"}, "early_terminate": HYPERBAND}
        peer = WandbHyperband(config, wandb_bands())
        try:
            return simulate(
                spec, configs, peer, agents=AGENTS, max_runs=max_runs, epoch_budget=budget
            )
        finally:
            peer.close()
    return simulate(
        spec, configs, method.make(), agents=AGENTS, max_runs=max_runs, epoch_budget=budget
    )


def final(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return finite[-1] if finite and math.isfinite(values[-1]) else math.inf


def score(result: SimResult, configs: Sequence[CurveConfig]) -> dict[str, Any]:
    runs = result.trials
    best_final = min(final(t.metric_history) for t in runs)
    # the configuration that would have been best had every run gone to max_iter
    full = [final(configs[t.created_index].curve) for t in runs]
    would_be = min(range(len(runs)), key=lambda i: full[i])
    killed = len(runs[would_be].metric_history) < len(configs[would_be].curve)
    return {
        "best_final": best_final,
        "epochs": result.epochs,
        "runs": len(runs),
        "best_killed": killed,
        "best_possible": full[would_be],
    }


def problem_configs(problem: str, seed: int, n: int) -> list[CurveConfig]:
    rng = np.random.default_rng(seed)
    if problem == "digits-mlp":
        pool = digits_mlp_pool(200, EPOCHS)
        order = rng.permutation(len(pool))
        return [pool[i] for i in order[:n]]
    return parametric_configs(n, EPOCHS, rng)


def summarize(rows: list[dict[str, Any]], baseline_epochs: float) -> dict[str, Any]:
    return {
        "best_final": statistics.median(r["best_final"] for r in rows),
        "best_final_mean": statistics.mean(r["best_final"] for r in rows),
        "epochs": statistics.median(r["epochs"] for r in rows),
        "epochs_vs_none": statistics.median(r["epochs"] for r in rows) / baseline_epochs,
        "runs": statistics.median(r["runs"] for r in rows),
        "best_killed": sum(r["best_killed"] for r in rows),
        "seeds": len(rows),
    }


def option_value(text: str) -> Any:
    """``true``/``false``, an int, a float or else a string, from ``--asha-variant key=value``."""
    if text in ("true", "false"):
        return text == "true"
    try:
        return float(text) if "." in text else int(text)
    except ValueError:
        return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument(
        "--seed-offset",
        type=int,
        default=0,
        help="first seed (e.g. 20 with --seeds 200: a check on seeds the defaults were not shown)",
    )
    parser.add_argument("--runs", type=int, default=60, help="runs per sweep (same-runs table)")
    parser.add_argument(
        "--budget-runs",
        type=int,
        default=10,
        help="same-compute budget, in full-length runs (x max_iter epochs)",
    )
    parser.add_argument("--problems", default="digits-mlp,parametric")
    parser.add_argument("--methods", default="", help="comma-separated name prefixes")
    parser.add_argument(
        "--asha-variant",
        action="append",
        default=[],
        help="extra asha options to compare, e.g. 'min_iter=2,min_runs=9,strict=false'",
    )
    args = parser.parse_args()
    for variant in args.asha_variant:
        options: dict[str, Any] = dict(ASHA)
        for item in variant.split(","):
            key, value = item.split("=")
            options[key] = option_value(value)
        METHODS.append(Method(f"asha[{variant}]", options, lambda: get_scheduler("asha")))

    methods = [
        m
        for m in METHODS
        if not args.methods
        or any(m.name.lower().startswith(p.strip().lower()) for p in args.methods.split(","))
    ]
    budget = args.budget_runs * EPOCHS
    results: dict[str, Any] = {"settings": vars(args) | {"epochs": EPOCHS, "agents": AGENTS}}
    started = time.monotonic()
    for problem in args.problems.split(","):
        for setting in ("same runs", "same compute"):
            table: dict[str, list[dict[str, Any]]] = {m.name: [] for m in methods}
            for seed in range(args.seed_offset, args.seed_offset + args.seeds):
                if setting == "same runs":
                    configs = problem_configs(problem, seed, args.runs)
                    max_runs, epoch_budget = args.runs, None
                else:
                    n = 200 if problem == "digits-mlp" else 400
                    configs = problem_configs(problem, 1000 + seed, n)
                    max_runs, epoch_budget = None, budget
                for m in methods:
                    result = run_method(m, configs, max_runs=max_runs, budget=epoch_budget)
                    table[m.name].append(score(result, configs))
            base = statistics.median(r["epochs"] for r in table[methods[0].name])
            summary = {name: summarize(rows, base) for name, rows in table.items()}
            results[f"{problem} / {setting}"] = {"summary": summary, "per_seed": table}
            print(f"\n## {problem} — {setting} ({time.monotonic() - started:.0f}s)")
            print(
                "| method | best final loss: median | mean | epochs (median) | epochs vs none "
                "| runs | best config killed |"
            )
            print("|---|---|---|---|---|---|---|")
            for name, s in summary.items():
                print(
                    f"| {name} | {s['best_final']:.4f} | {s['best_final_mean']:.4f} | "
                    f"{s['epochs']:.0f} | "
                    f"{s['epochs_vs_none']:.2f} | {s['runs']:.0f} | "
                    f"{s['best_killed']}/{s['seeds']} |"
                )
            sys.stdout.flush()
    OUT.mkdir(exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=1, default=str))
    print(f"\nwall time {time.monotonic() - started:.0f}s; raw numbers in {OUT / 'results.json'}")


if __name__ == "__main__":
    main()
