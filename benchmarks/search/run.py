"""Side-by-side search benchmark: opensweep bayes/tpe/random vs W&B's bayes and Optuna's TPE and
GP samplers, on the same problems, seeds and budgets. See README.md for the command.

Every (problem, method, seed) runs to the largest budget; smaller budgets are its prefixes (no
method here knows the budget). Finished runs are appended to ``out/runs.jsonl`` as they end,
so an interrupted benchmark resumes where it stopped.
"""

from __future__ import annotations

import os

# One BLAS/torch thread per process: fair between methods and kind to a shared machine.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from multiprocessing import get_context  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from methods import METHODS, make_asker  # noqa: E402
from problems import PROBLEMS  # noqa: E402

BUDGETS = (25, 50, 100)
TIMING_SIZES = (10, 100, 500, 1000)


def _quiet() -> None:
    warnings.filterwarnings("ignore")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


def run_task(task: tuple[str, str, int, int]) -> dict[str, Any]:
    _quiet()
    problem, method, seed, budget = task
    p = PROBLEMS[problem]
    asker = make_asker(method, p.parameters, seed)
    values = []
    t0 = time.perf_counter()
    for _ in range(budget):
        config = asker.ask()
        value = float(p.objective(config))
        asker.tell(config, value)
        values.append(value)
    return {
        "problem": problem,
        "method": method,
        "seed": seed,
        "values": values,
        "ask_cpu_s": asker.seconds,
        "wall_s": time.perf_counter() - t0,
    }


def time_task(task: tuple[str, int]) -> dict[str, Any]:
    """CPU time of one suggestion after ``size`` finished runs (random configs, Hartmann6)."""
    _quiet()
    method, size = task
    p = PROBLEMS["hartmann6"]
    rng = np.random.default_rng(size)
    asker = make_asker(method, p.parameters, 0)
    if method in ("optuna-tpe", "optuna-gp"):
        import optuna

        study = asker.study  # type: ignore[attr-defined]
        for _ in range(size):
            config = {f"x{i}": float(rng.random()) for i in range(1, 7)}
            study.add_trial(
                optuna.trial.create_trial(
                    params=config,
                    distributions=asker.dists,
                    value=p.objective(config),  # type: ignore[attr-defined]
                )
            )
    else:
        for _ in range(size):
            config = {f"x{i}": float(rng.random()) for i in range(1, 7)}
            asker.tell(config, p.objective(config))
    asker.ask()  # warm-up (imports, thread-pool set-up) is not the steady state
    repeats = 2 if method == "optuna-gp" and size > 100 else 5
    for _ in range(repeats):
        asker.ask()
        if method in ("optuna-tpe", "optuna-gp"):  # leave no RUNNING trial behind
            study.tell(asker.trial, 0.0)  # type: ignore[attr-defined]
    return {"method": method, "size": size, "cpu_s": float(np.median(asker.seconds[1:]))}


def _done(path: Path) -> set[tuple[str, str, int]]:
    if not path.exists():
        return set()
    out = set()
    for line in path.read_text().splitlines():
        r = json.loads(line)
        out.add((r["problem"], r["method"], r["seed"]))
    return out


def report(out_dir: Path, methods: list[str], problems: list[str], budgets: list[int]) -> str:
    rows = [json.loads(x) for x in (out_dir / "runs.jsonl").read_text().splitlines()]
    lines = []
    medians: dict[tuple[str, int, str], float] = {}
    for problem in problems:
        opt = PROBLEMS[problem].optimum
        lines.append(f"\n### {problem}" + (f" (optimum {opt:g})" if opt is not None else ""))
        lines.append("")
        header = " | ".join(f"best@{b} median [IQR]" for b in budgets)
        lines.append(f"| method | seeds | {header} |")
        lines.append("|---|---|" + "---|" * len(budgets))
        for method in methods:
            runs = [r for r in rows if r["problem"] == problem and r["method"] == method]
            if not runs:
                continue
            cells = []
            for b in budgets:
                best = np.array([min(r["values"][:b]) for r in runs if len(r["values"]) >= b])
                if len(best) == 0:
                    cells.append("-")
                    continue
                q25, med, q75 = np.percentile(best, [25, 50, 75])
                medians[(problem, b, method)] = float(med)
                cells.append(f"{med:.4g} [{q25:.4g}, {q75:.4g}]")
            lines.append(f"| {method} | {len(runs)} | " + " | ".join(cells) + " |")
    lines.append(
        "\n### Mean rank across problems (rank of the median best value to 4 significant "
        "digits, ties share the mean rank; 1 = best)\n"
    )
    lines.append("| method | " + " | ".join(f"@{b}" for b in budgets) + " |")
    lines.append("|---|" + "---|" * len(budgets))
    ranks: dict[tuple[str, int], list[float]] = {}
    for b in budgets:
        for problem in problems:
            present = [m for m in methods if (problem, b, m) in medians]
            # Medians equal to 4 significant digits tie (e.g. every method at Branin's optimum).
            vals = np.array([float(f"{medians[(problem, b, m)]:.4g}") for m in present])
            from scipy.stats import rankdata

            for m, r in zip(present, rankdata(vals), strict=True):
                ranks.setdefault((m, b), []).append(float(r))
    for m in methods:
        cells = [f"{np.mean(ranks[(m, b)]):.2f}" if (m, b) in ranks else "-" for b in budgets]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    timing_path = out_dir / "timing.jsonl"
    if timing_path.exists():
        t = [json.loads(x) for x in timing_path.read_text().splitlines()]
        sizes = sorted({r["size"] for r in t})
        lines.append("\n### Suggestion time, CPU ms, after N finished runs (Hartmann6)\n")
        lines.append("| method | " + " | ".join(f"N={s}" for s in sizes) + " |")
        lines.append("|---|" + "---|" * len(sizes))
        for m in methods:
            by = {r["size"]: r["cpu_s"] for r in t if r["method"] == m}
            if by:
                cells = [f"{1e3 * by[s]:.0f}" if s in by else "-" for s in sizes]
                lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--problems", default=",".join(PROBLEMS))
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budgets", default=",".join(map(str, BUDGETS)))
    ap.add_argument("--timing-sizes", default=",".join(map(str, TIMING_SIZES)))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=str(Path(__file__).parent / "out"))
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--timing-only", action="store_true", help="only the suggestion times")
    args = ap.parse_args()
    problems = args.problems.split(",")
    methods = args.methods.split(",")
    budgets = [int(b) for b in args.budgets.split(",")]
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    runs_path = out_dir / "runs.jsonl"
    if not args.report_only:
        done = _done(runs_path)
        # Slowest methods first so the pool does not end on one long task.
        order = {"optuna-gp": 0, "wandb-bayes": 1, "opensweep-bayes": 2}
        tasks = [
            (p, m, s, max(budgets))
            for m in sorted(methods, key=lambda m: order.get(m, 9))
            for p in problems
            for s in range(args.seeds)
            if (p, m, s) not in done and not args.timing_only
        ]
        ctx = get_context("spawn")
        with ctx.Pool(args.workers, maxtasksperchild=1) as pool:
            for i, r in enumerate(pool.imap_unordered(run_task, tasks), 1):
                with runs_path.open("a") as f:
                    f.write(json.dumps(r) + "\n")
                best = min(r["values"])
                print(f"[{i}/{len(tasks)}] {r['problem']} {r['method']} seed={r['seed']} "
                      f"best={best:.4g} wall={r['wall_s']:.0f}s", flush=True)  # fmt: skip
            sizes = [int(x) for x in args.timing_sizes.split(",") if x]
            if sizes:
                timing = list(pool.imap(time_task, [(m, n) for m in methods for n in sizes]))
                with (out_dir / "timing.jsonl").open("w") as f:
                    for r in timing:
                        f.write(json.dumps(r) + "\n")
    text = report(out_dir, methods, problems, budgets)
    (out_dir / "report.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
