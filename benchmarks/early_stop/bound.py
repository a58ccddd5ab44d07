"""How safe can a rung cut by level be, at a given compute? An optimistic bound.

For each seed of the same-runs setting (60 configurations, their full curves known), take the
would-be best configuration (best value after 27 epochs) and its percentile at every iteration: the
fraction of the 60 runs whose best value so far is strictly better. A synchronous successive
halving that keeps the best fraction F_i of *all* runs at rung r_i (F decreasing) loses it when
its percentile at some rung is >= floor(60 F_i) / 60; its cost per run is
r_1 + sum_i F_i (r_(i+1) - r_i) with r_(last+1) = 27.

Every choice of up to 3 rungs (1..18) and F_i from a grid is tried on the same seeds it is scored
on, with the whole population known at every rung (no asynchrony, no small rungs), so the
failure rate printed for a compute budget is a lower bound for any rule that ranks runs by their
value at a few rungs: a real scheduler, deciding online, does worse.

``--slope`` does the same for rules that rank runs by a curve extrapolation instead of their
value: ``log y_t - c * (log y_(t-1) - log y_t)`` (y the best value so far; the level minus c
times the last epoch's log improvement, what ``model: curve`` of asha ranks by), with c from
0.5, 1, 2, 4 also picked in hindsight per budget (c = 0 is the level).

``--margin`` scores rules that stop a run by its distance to the best score at the rung instead
of its rank, as ``model: curve`` does (it keeps runs within z residual sd of the best prediction):
a run survives rung r_i while ``score - min(score over the 60 runs) <= d_i``, with d_i from the
pooled quantiles of that distance at r_i (the same share of runs on average, more or fewer per
sweep), rungs 1, r_2 in 2..9, r_3 in 6..16, picked in hindsight with c (0 or 2) as well.

    .venv/bin/python benchmarks/early_stop/bound.py [--seeds 300] [--slope] [--margin]
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from run import EPOCHS, problem_configs

RUNS = 60
FRACTIONS = (1 / 2, 0.4, 1 / 3, 1 / 4, 1 / 5, 1 / 6, 1 / 8, 1 / 9, 1 / 12, 1 / 15, 1 / 20, 1 / 27)
BUDGETS = (0.12, 0.135, 0.15, 0.18, 0.20, 0.25, 0.30)


SLOPES = (0.5, 1.0, 2.0, 4.0)


def percentiles(problem: str, seeds: int, slope: float = 0.0) -> np.ndarray:
    """(seeds, EPOCHS): the would-be best run's percentile at each iteration, by best-so-far
    (``slope`` 0) or by best-so-far extrapolated by ``slope`` times the last log improvement."""
    rows = []
    for seed in range(seeds):
        configs = problem_configs(problem, seed, RUNS)
        curves = np.array([[v if math.isfinite(v) else 1e9 for v in c.curve] for c in configs])
        best_so_far = np.minimum.accumulate(curves, axis=1)
        winner = int(np.argmin(curves[:, -1]))
        score = best_so_far
        if slope:
            logs = np.log(np.maximum(best_so_far, 1e-12))
            score = logs.copy()
            score[:, 1:] -= slope * (logs[:, :-1] - logs[:, 1:])
        rows.append((score < score[winner]).mean(axis=0))
    return np.array(rows)


def frontier(pct: np.ndarray) -> list[tuple[float, float, tuple[int, ...], tuple[float, ...]]]:
    """(cost vs no stopping, failure rate, rungs, kept fractions) for every rule tried."""
    rules = []
    for count in (1, 2, 3):
        for rungs in itertools.combinations(range(1, 19), count):
            for kept in itertools.product(FRACTIONS, repeat=count):
                if any(a < b for a, b in itertools.pairwise(kept)):
                    continue
                ends = (*rungs[1:], EPOCHS)
                spans = zip(kept, rungs, ends, strict=True)
                cost = rungs[0] + sum(f * (end - rung) for f, rung, end in spans)
                lost = np.zeros(len(pct), dtype=bool)
                for rung, f in zip(rungs, kept, strict=True):
                    lost |= pct[:, rung - 1] >= max(1, int(RUNS * f)) / RUNS
                rules.append((cost / EPOCHS, float(lost.mean()), rungs, kept))
    return rules


MARGIN_QUANTILES = (0.03, 0.05, 0.08, 0.1, 0.125, 0.15, 0.2, 0.25, 0.33, 0.4, 0.5)


def scores(problem: str, seeds: int, slope: float) -> tuple[np.ndarray, np.ndarray]:
    """(seeds, RUNS, EPOCHS) log scores as in ``percentiles``, and each seed's would-be best."""
    rows, winners = [], []
    for seed in range(seeds):
        configs = problem_configs(problem, seed, RUNS)
        curves = np.array([[v if math.isfinite(v) else 1e9 for v in c.curve] for c in configs])
        logs = np.log(np.maximum(np.minimum.accumulate(curves, axis=1), 1e-12))
        score = logs.copy()
        score[:, 1:] -= slope * (logs[:, :-1] - logs[:, 1:])
        rows.append(score)
        winners.append(int(np.argmin(curves[:, -1])))
    return np.array(rows), np.array(winners)


def margin_frontier(
    problem: str, seeds: int
) -> list[tuple[float, float, tuple[int, ...], tuple[float, ...], float]]:
    """(cost, failure rate, rungs, distance quantiles, c) of margin rules."""
    rules = []
    for c in (0.0, 2.0):
        score, winners = scores(problem, seeds, c)
        gap = score - score.min(axis=1, keepdims=True)
        survive = {
            (rung, i): gap[:, :, rung - 1] <= np.quantile(gap[:, :, rung - 1], q)
            for rung in range(1, 19)
            for i, q in enumerate(MARGIN_QUANTILES)
        }
        rows = np.arange(len(score))
        for r2 in range(2, 10):
            for r3 in range(max(6, r2 + 1), 17):
                rungs = (1, r2, r3)
                ends = (r2, r3, EPOCHS)
                for picks in itertools.product(range(len(MARGIN_QUANTILES)), repeat=3):
                    if not picks[0] >= picks[1] >= picks[2]:
                        continue
                    alive = np.ones(score.shape[:2], dtype=bool)
                    cost = np.ones(score.shape[:2])
                    for rung, end, i in zip(rungs, ends, picks, strict=True):
                        alive &= survive[rung, i]
                        cost += alive * (end - rung)
                    lost = float((~alive[rows, winners]).mean())
                    kept = tuple(MARGIN_QUANTILES[i] for i in picks)
                    rules.append((float(cost.mean()) / EPOCHS, lost, rungs, kept, c))
    return rules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=300)
    parser.add_argument(
        "--slope", action="store_true", help="also rank by a slope extrapolation (c picked too)"
    )
    parser.add_argument(
        "--margin", action="store_true", help="rules by distance to the best score instead"
    )
    args = parser.parse_args()
    slopes = (0.0, *SLOPES) if args.slope else (0.0,)
    if args.margin:
        print(
            "| problem | budget (epochs vs none) | best config lost | epochs | rungs "
            "| d (share) | c |"
        )
        print("|---|---|---|---|---|---|---|")
        for problem in ("digits-mlp", "parametric"):
            print_best_rules(problem, margin_frontier(problem, args.seeds))
        return
    print(
        "| problem | budget (epochs vs none) | best config lost, at least | epochs | rungs | kept "
        "| c |"
    )
    print("|---|---|---|---|---|---|---|")
    for problem in ("digits-mlp", "parametric"):
        rules = [
            (*rule, c) for c in slopes for rule in frontier(percentiles(problem, args.seeds, c))
        ]
        print_best_rules(problem, rules)


def print_best_rules(problem: str, rules: list[tuple[Any, ...]]) -> None:
    """A table row per budget: the rule (cost, lost, rungs, kept, c) losing the best config
    least often within it."""
    for budget in BUDGETS:
        cost, lost, rungs, kept, c = min(
            (r for r in rules if r[0] <= budget), key=lambda r: (r[1], r[0])
        )
        shown = ", ".join(f"{f:.3g}" for f in kept)
        print(f"| {problem} | {budget:.3g} | {lost:.1%} | {cost:.3f} | {rungs} | {shown} | {c:g} |")


if __name__ == "__main__":
    main()
