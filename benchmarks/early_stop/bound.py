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

    .venv/bin/python benchmarks/early_stop/bound.py [--seeds 300]
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from run import EPOCHS, problem_configs

RUNS = 60
FRACTIONS = (1 / 2, 0.4, 1 / 3, 1 / 4, 1 / 5, 1 / 6, 1 / 8, 1 / 9, 1 / 12, 1 / 15, 1 / 20, 1 / 27)
BUDGETS = (0.12, 0.135, 0.15, 0.18, 0.20, 0.25, 0.30)


def percentiles(problem: str, seeds: int) -> np.ndarray:
    """(seeds, EPOCHS): the would-be best run's percentile by best-so-far at each iteration."""
    rows = []
    for seed in range(seeds):
        configs = problem_configs(problem, seed, RUNS)
        curves = np.array([[v if math.isfinite(v) else 1e9 for v in c.curve] for c in configs])
        best_so_far = np.minimum.accumulate(curves, axis=1)
        winner = int(np.argmin(curves[:, -1]))
        rows.append((best_so_far < best_so_far[winner]).mean(axis=0))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=300)
    args = parser.parse_args()
    print(
        "| problem | budget (epochs vs none) | best config lost, at least | epochs | rungs | kept |"
    )
    print("|---|---|---|---|---|---|")
    for problem in ("digits-mlp", "parametric"):
        rules = frontier(percentiles(problem, args.seeds))
        for budget in BUDGETS:
            cost, lost, rungs, kept = min(
                (r for r in rules if r[0] <= budget), key=lambda r: (r[1], r[0])
            )
            shown = ", ".join(f"{f:.3g}" for f in kept)
            print(f"| {problem} | {budget:.3g} | {lost:.1%} | {cost:.3f} | {rungs} | {shown} |")


if __name__ == "__main__":
    main()
