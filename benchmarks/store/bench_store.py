"""Store benchmark: append_history throughput, metric_series latency, claim_next latency.

Also measures the alternative history layout we did not choose (one JSON row per log() call,
the metric picked out in Python) on the same data, so the choice in store/sql/tables.py is
backed by numbers.

    .venv/bin/python benchmarks/store/bench_store.py [--pg postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

from opensweep.core import encoding
from opensweep.core.model import MetricRow, Run, RunState, Sweep, SweepState
from opensweep.store import open_store
from opensweep.store.sql import SQLStore, codec
from opensweep.store.sql.engine import write_tx
from opensweep.store.sql.raw import RawQuery
from opensweep.store.sql.tables import runs as runs_table

KEYS = ("loss", "val/loss", "acc", "lr", "epoch")


def rows_for(run_index: int, start: int, n: int) -> list[MetricRow]:
    return [
        MetricRow(
            step=s,
            values={
                "loss": 1.0 / (s + 1 + run_index),
                "val/loss": math.nan if s % 37 == 0 else 1.5 / (s + 1),
                "acc": s / 1000.0,
                "lr": 1e-3,
                "epoch": s,
            },
            time=1.7e9 + s,
        )
        for s in range(start, start + n)
    ]


def make_run(i: int, sweep_id: str) -> Run:
    return Run(
        id=f"{sweep_id}-{i:05d}",
        name=f"run {i}",
        config={"lr": 10 ** -(i % 5), "layers": i % 7, "opt": "adam"},
        state=RunState.RUNNING,
        created_at=1.7e9 + i,
        sweep_id=sweep_id,
        updated_at=1.7e9 + i,
    )


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


@contextmanager
def pg_schema(base: str) -> Iterator[str]:
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield f"{base}{'&' if '?' in base else '?'}options={quote(f'-csearch_path={name}')}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


# --------------------------------------------------------------------- the chosen layout
def bench_append(store: SQLStore, batches: int) -> dict[str, float]:
    store.create_sweep(Sweep("append", "a", {}, SweepState.RUNNING, 0, 1.0, 1.0))
    store.claim_next("append", lambda s, r: make_run(0, s.id))
    payloads = [rows_for(0, b * 100, 100) for b in range(batches)]
    t = time.perf_counter()
    for seq, rows in enumerate(payloads):
        store.append_history("append-00000", seq, rows, dict(rows[-1].values))
    elapsed = time.perf_counter() - t
    return {
        "batches": batches,
        "rows_per_s": batches * 100 / elapsed,
        "values_per_s": batches * 100 * len(KEYS) / elapsed,
        "ms_per_batch": elapsed / batches * 1000,
    }


def populate(store: SQLStore, runs: int, rows: int) -> float:
    store.create_sweep(Sweep("series", "s", {}, SweepState.RUNNING, 0, 1.0, 1.0))
    t = time.perf_counter()
    for i in range(runs):
        store.claim_next("series", lambda s, r, i=i: make_run(i, s.id))
        store.append_history(f"series-{i:05d}", 0, rows_for(i, 0, rows), {})
    return time.perf_counter() - t


def bench_series(store: SQLStore, runs: int, rows: int, repeat: int) -> dict[str, float]:
    series = store.metric_series("series", "val/loss")
    assert len(series) == runs and all(len(v) == rows for v in series.values())
    times = timed(lambda: store.metric_series("series", "val/loss"), repeat)
    return {"median_ms": statistics.median(times) * 1000, "min_ms": min(times) * 1000}


def bench_claim(store: SQLStore, existing: int, repeat: int) -> dict[str, float]:
    """claim_next latency with a trivial propose when the sweep already has `existing` runs."""
    sweep_id = f"claim{existing}"
    store.create_sweep(Sweep(sweep_id, "c", {}, SweepState.RUNNING, 0, 1.0, 1.0))
    engine = store._engine
    with write_tx(engine) as conn:  # bulk-create the existing runs directly
        conn.execute(
            runs_table.insert(),
            [
                codec.run_to_row(make_run(i, sweep_id)) | {"id": f"{sweep_id}-{i}"}
                for i in range(existing)
            ],
        )
    counter = iter(range(10**9))

    def propose(sweep: Sweep, existing_runs: Sequence[Run]) -> Run:
        return Run(
            id=f"{sweep_id}-new{next(counter)}",
            name="n",
            config={"lr": len(existing_runs)},
            state=RunState.RUNNING,
            created_at=0.0,
            sweep_id=sweep.id,
        )

    times = timed(lambda: store.claim_next(sweep_id, propose), repeat)
    list_times = timed(lambda: store.list_runs(sweep_id), 5)
    return {
        "existing_runs": existing,
        "claim_median_ms": statistics.median(times) * 1000,
        "list_runs_median_ms": statistics.median(list_times) * 1000,
    }


# --------------------------------------------------------------------- the rejected layout
WIDE = sa.MetaData()
wide = sa.Table(
    "history_wide",
    WIDE,
    sa.Column("run_pk", sa.Integer, primary_key=True),
    sa.Column("step", sa.BigInteger, primary_key=True),
    sa.Column("time", sa.Double),
    sa.Column("row", sa.Text, nullable=False),
    sqlite_with_rowid=False,
)


def bench_wide(
    store: SQLStore, runs: int, rows: int, batches: int, repeat: int
) -> dict[str, float]:
    engine = store._engine
    WIDE.create_all(engine)
    payloads = [rows_for(0, b * 100, 100) for b in range(batches)]
    t = time.perf_counter()
    for rows_ in payloads:
        with write_tx(engine) as conn:
            conn.execute(
                wide.insert(),
                [
                    {
                        "run_pk": 10**6,
                        "step": r.step,
                        "time": r.time,
                        "row": encoding.dumps(r.values),
                    }
                    for r in rows_
                ],
            )
    append_s = time.perf_counter() - t
    with write_tx(engine) as conn:
        for i in range(runs):
            conn.execute(
                wide.insert(),
                [
                    {"run_pk": i, "step": r.step, "time": r.time, "row": encoding.dumps(r.values)}
                    for r in rows_for(i, 0, rows)
                ],
            )

    # Same treatment as the chosen layout: compiled once, rows read on the driver cursor,
    # JSON decoded with the store's fast path.
    wide_series = RawQuery(
        sa.select(wide.c.run_pk, wide.c.row)
        .where(wide.c.run_pk < sa.bindparam("runs"))
        .order_by(wide.c.run_pk, wide.c.step)
    )

    def series() -> dict[int, list[Any]]:
        out: dict[int, list[Any]] = {}
        with engine.connect() as conn:
            for run_pk, text in wide_series.rows(conn, runs=runs):
                values = codec.loads(text)
                if "val/loss" in values:
                    out.setdefault(run_pk, []).append(values["val/loss"])
        return out

    assert len(series()) == runs
    times = timed(series, repeat)
    return {
        "append_rows_per_s": batches * 100 / append_s,
        "series_median_ms": statistics.median(times) * 1000,
    }


def run_backend(label: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    store = open_store(url)
    assert isinstance(store, SQLStore)
    try:
        result: dict[str, Any] = {"backend": label}
        result["append_history"] = bench_append(store, args.batches)
        result["populate_s"] = populate(store, args.runs, args.rows)
        result["metric_series"] = bench_series(store, args.runs, args.rows, args.repeat)
        result["claim_next"] = [bench_claim(store, n, 30) for n in (100, 5000)]
        result["wide_json_layout"] = bench_wide(
            store, args.runs, args.rows, args.batches, args.repeat
        )
        return result
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    results: list[dict[str, Any]] = [{"load_average_at_start": os.getloadavg()}]
    with tempfile.TemporaryDirectory() as tmp:
        results.append(run_backend("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args))
    if not args.no_pg:
        with pg_schema(args.pg) as url:
            results.append(run_backend("postgresql", url, args))
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    results.append({"load_average_at_end": os.getloadavg()})
    for r in results:
        print(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
