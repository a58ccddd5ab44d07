"""Per-call cost of ``opensweep.log()`` and end-to-end rows/s, against ``wandb.log`` offline.

    .venv/bin/python benchmarks/logging/bench.py [--n 100000] [--postgres URL]

opensweep runs in this process on a fresh SQLite file (and on PostgreSQL with ``--postgres``);
W&B runs in ``benchmarks/logging/out/venv`` (created from requirements.txt) in a subprocess, in
the same invocation. "rows/s" is end to end: from the first ``log()`` until ``finish()`` has
written every row. Results also go to ``out/results.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE))

from measure import time_calls, timer_overhead_ns  # noqa: E402


def bench_opensweep(url: str, n: int, label: str) -> dict[str, Any]:
    import opensweep
    from opensweep.client import connect

    started = time.perf_counter()
    run = opensweep.init(project="logging-bench", url=url)
    init_s = time.perf_counter() - started
    result = time_calls(opensweep.log, n)
    t0 = time.perf_counter()
    run.finish()
    finish_s = time.perf_counter() - t0
    total = n + 1_000
    with connect(url) as client:
        stored = len(client.history(run.id))
    if stored != total:
        raise SystemExit(f"{label}: {stored} rows stored, expected {total}")
    result.update(
        name=label,
        init_s=init_s,
        finish_s=finish_s,
        rows_per_s=total / (result["loop_s"] + finish_s),
        rows_stored=stored,
        timer_overhead_ns=timer_overhead_ns(),
    )
    return result


@contextlib.contextmanager
def postgres_schema(base: str) -> Iterator[str]:
    """A scratch schema on ``base``, dropped afterwards (the benchmark leaves nothing behind)."""
    import psycopg

    schema = f"logging_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        sep = "&" if "?" in base else "?"
        yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def bench_wandb(python: Path, n: int) -> dict[str, Any] | None:
    if not python.exists():
        print(f"(no W&B virtualenv at {python}: see RESULTS.md to create it)", file=sys.stderr)
        return None
    wandb_dir = OUT / "wandb"
    wandb_dir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [str(python), str(HERE / "wandb_side.py"), str(n), str(wandb_dir)],
        capture_output=True,
        text=True,
        timeout=1800,
        cwd=HERE,
    )
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        return None
    parsed: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return parsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000, help="timed log() calls per library")
    parser.add_argument("--postgres", help="also measure opensweep on this PostgreSQL URL")
    parser.add_argument("--wandb-python", type=Path, default=OUT / "venv" / "bin" / "python")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)

    results = []
    db = OUT / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    results.append(bench_opensweep(f"sqlite:///{db}", args.n, "opensweep (SQLite)"))
    if args.postgres:
        with postgres_schema(args.postgres) as url:
            results.append(bench_opensweep(url, args.n, "opensweep (PostgreSQL)"))
    wandb_result = bench_wandb(args.wandb_python, args.n)
    if wandb_result is not None:
        results.append(wandb_result)

    print(f"\n{args.n} timed log() calls of 5 metrics each, back to back (after 1,000 warm-up)")
    header = f"{'':28} {'p50 µs':>8} {'p90 µs':>8} {'p99 µs':>8} {'mean µs':>8} {'rows/s':>10}"
    print(header)
    for r in results:
        print(
            f"{r['name']:28} {r['p50_us']:8.2f} {r['p90_us']:8.2f} {r['p99_us']:8.2f} "
            f"{r['mean_us']:8.2f} {r['rows_per_s']:10,.0f}"
        )
    if wandb_result is not None:
        for r in results[:-1]:
            print(
                f"{r['name']}: log() p50 {wandb_result['p50_us'] / r['p50_us']:.0f}x faster, "
                f"rows/s {r['rows_per_s'] / wandb_result['rows_per_s']:.1f}x wandb offline"
            )
    print(f"timer overhead (median of an empty timing): {results[0]['timer_overhead_ns']:.0f} ns")
    (OUT / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
