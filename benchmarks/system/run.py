"""System benchmark: opensweep against Optuna and MLflow on this machine, in the same run.

    .venv/bin/python benchmarks/system/run.py [--trials 300] [--points 20000] [--no-mlflow]

1. Trials/s for a trivial objective with 1, 2 and 4 worker processes: opensweep on SQLite, on
   PostgreSQL directly and through ``opensweep server`` (on PostgreSQL); Optuna's RDB storage on
   the same PostgreSQL and SQLite, and Optuna's JournalStorage (file). An opensweep trial is what
   a user's script runs: ``opensweep.agent(id, function=train)``, where ``train`` calls
   ``init()``, ``log()`` and ``finish()``; one more row ("client loop") does only what an agent
   must (claim a run, log its metric, finish it) straight on the Client. An Optuna trial is
   ``study.optimize`` with the RandomSampler (opensweep's sweep is ``method: random``).
2. Trials/s as a sweep grows from 100 to 5,000 runs (one worker, opensweep direct), within a
   time budget per back end (a sweep that slows down reports how far it got).
3. Metric points/s through the server (1 and 4 logging processes, the SDK: ``opensweep.log``),
   against an MLflow tracking server on the same PostgreSQL (``log_batch`` with 1000 points a
   request, its fastest path, and ``mlflow.log_metric`` async and sync), and the per-call cost
   of ``opensweep.log()`` in the training process.

Workers are separate processes that connect first and start together; times are wall clock from
"go" to the last worker's end. PostgreSQL gets a fresh schema per target. MLflow runs from its
own venv (``out/mlflow-venv``, created from requirements.txt on first use).
Results: printed as Markdown, and written to ``out/results.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
WORKERS = str(HERE / "workers.py")
MLFLOW_VENV = OUT / "mlflow-venv"
DEFAULT_PG = os.environ.get("OPENSWEEP_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
TOKEN = "bench-token-" + uuid.uuid4().hex


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def pg_schema(base: str) -> Iterator[str]:
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextlib.contextmanager
def process(argv: Sequence[str], health: str, log_name: str) -> Iterator[None]:
    """A server subprocess, up once ``health`` answers 200; terminated afterwards."""
    log = (OUT / log_name).open("wb")
    proc = subprocess.Popen(list(argv), stdout=log, stderr=subprocess.STDOUT, cwd=OUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"{argv[0]} exited; see {OUT / log_name}")
            try:
                if httpx.get(health, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{argv[0]} did not start; see {OUT / log_name}")
            time.sleep(0.2)
        yield
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@contextlib.contextmanager
def opensweep_server(db_url: str, workers: int | None = 1) -> Iterator[str]:
    """``opensweep server`` on ``db_url``; ``workers=None``: its default (one process per core
    on PostgreSQL, as MLflow's server runs its default four)."""
    port = free_port()
    token_file = OUT / "token"
    token_file.write_text(TOKEN)
    argv = [
        sys.executable,
        "-m",
        "opensweep",
        "server",
        "--db",
        db_url,
        "--port",
        str(port),
        "--token-file",
        str(token_file),
        "--log-level",
        "warning",
        *(["--workers", str(workers)] if workers is not None else []),
    ]
    url = f"http://127.0.0.1:{port}"
    with process(argv, f"{url}/api/v1/health", "opensweep-server.log"):
        yield url


@contextlib.contextmanager
def mlflow_server(db_url: str) -> Iterator[str]:
    port = free_port()
    artifacts = OUT / f"mlflow-artifacts-{port}"
    argv = [
        str(MLFLOW_VENV / "bin" / "mlflow"),
        "server",
        "--backend-store-uri",
        db_url,
        "--artifacts-destination",
        str(artifacts),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    url = f"http://127.0.0.1:{port}"
    with process(argv, f"{url}/health", "mlflow-server.log"):
        yield url


def run_workers(
    argvs: Sequence[Sequence[str]], env: dict[str, str] | None = None
) -> tuple[float, list[dict[str, Any]]]:
    """Start workers, wait until all are ready, say go; returns (seconds, their results)."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    procs = [
        subprocess.Popen(
            list(a),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=full_env,
            cwd=OUT,
        )
        for a in argvs
    ]
    try:
        for p in procs:
            assert p.stdout is not None
            line = p.stdout.readline()
            if line.strip() != "ready":
                raise SystemExit(f"worker failed to start: {line}{p.communicate()[1][-3000:]}")
        go = time.time()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=600)
            if p.returncode != 0:
                raise SystemExit(f"worker failed ({p.returncode}):\n{err[-3000:]}")
            results.append(json.loads(out.strip().splitlines()[-1]))
        return max(r["end"] for r in results) - go, results
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


# --- 1. trials per second ---------------------------------------------------------------------


def random_sweep(cap: int) -> dict[str, Any]:
    return {
        "method": "random",
        "metric": {"name": "loss", "goal": "minimize"},
        "parameters": {"x": {"distribution": "uniform", "min": -10, "max": 10}},
        "run_cap": cap,
    }


def opensweep_trials(
    url: str, workers: int, trials: int, env: dict[str, str], kind: str = "opensweep-trials"
) -> float:
    from opensweep.client import connect

    with connect(url, token=env.get("OPENSWEEP_TOKEN")) as client:
        sweep = client.create_sweep(random_sweep(trials), project="bench")
    argv = [sys.executable, WORKERS, kind, url, sweep.id]
    seconds, results = run_workers([argv] * workers, env)
    done = sum(r["trials"] for r in results)
    with connect(url, token=env.get("OPENSWEEP_TOKEN")) as client:
        stored = client.list_runs(sweep.id)
    if done != trials or len(stored) != trials or any(r.state.value != "finished" for r in stored):
        raise SystemExit(f"{url}: {done} trials done, {len(stored)} stored, expected {trials}")
    return trials / seconds


def optuna_trials(storage: str, workers: int, trials: int) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    name = f"bench-{uuid.uuid4().hex[:8]}"
    if storage.startswith("journal:"):
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        handle: Any = JournalStorage(JournalFileBackend(storage.removeprefix("journal:")))
    else:
        handle = optuna.storages.RDBStorage(storage)
    optuna.create_study(study_name=name, storage=handle)
    per_worker = trials // workers
    argv = [sys.executable, WORKERS, "optuna-trials", storage, name, str(per_worker)]
    seconds, _ = run_workers([argv] * workers)
    count = len(optuna.load_study(study_name=name, storage=handle).trials)
    if count != per_worker * workers:
        raise SystemExit(f"optuna {storage}: {count} trials stored")
    return per_worker * workers / seconds


def bench_trials(
    pg: str, trials: int, counts: Sequence[int], match: Sequence[str] = ()
) -> dict[str, dict[int, float]]:
    table: dict[str, dict[int, float]] = {}

    def row(name: str, measure: Any) -> None:
        if match and not any(m in name for m in match):
            return
        table[name] = {}
        for n in counts:
            table[name][n] = measure(n)
            print(f"  {name:<38} {n} worker(s): {table[name][n]:8.1f} trials/s", flush=True)

    row(
        "opensweep, SQLite (direct)",
        lambda n: opensweep_trials(
            f"sqlite:///{OUT / f'os-{uuid.uuid4().hex[:6]}.db'}", n, trials, {}
        ),
    )
    with pg_schema(pg) as url:
        row("opensweep, PostgreSQL (direct)", lambda n: opensweep_trials(url, n, trials, {}))
    with pg_schema(pg) as url, opensweep_server(url) as server:
        env = {"OPENSWEEP_TOKEN": TOKEN}
        row(
            "opensweep, server on PostgreSQL (HTTP)",
            lambda n: opensweep_trials(server, n, trials, env),
        )
        row(
            "opensweep, server on PostgreSQL, client loop",
            lambda n: opensweep_trials(server, n, trials, env, "opensweep-client-trials"),
        )
    with pg_schema(pg) as url, opensweep_server(url, workers=2) as server:
        row(
            "opensweep, server --workers 2 on PostgreSQL",
            lambda n: opensweep_trials(server, n, trials, env),
        )
    with pg_schema(pg) as url:
        optuna_pg = url.replace("postgresql://", "postgresql+psycopg://", 1)
        row("Optuna RDBStorage, PostgreSQL", lambda n: optuna_trials(optuna_pg, n, trials))
    row(
        "Optuna RDBStorage, SQLite",
        lambda n: optuna_trials(
            f"sqlite:///{OUT / f'optuna-{uuid.uuid4().hex[:6]}.db'}", n, trials
        ),
    )
    row(
        "Optuna JournalStorage (file)",
        lambda n: optuna_trials(
            f"journal:{OUT / f'journal-{uuid.uuid4().hex[:6]}.log'}", n, trials
        ),
    )
    return table


# --- 2. growth ---------------------------------------------------------------------------------


def bench_growth(url: str, total: int, budget: float, window: int = 100) -> dict[str, Any]:
    """Trials/s of one in-process worker for each window of ``window`` trials, until ``total``
    runs or ``budget`` seconds (whichever comes first: a sweep that slows down stops early)."""
    from opensweep.client.local import LocalClient
    from opensweep.core.model import MetricRow

    rates = []
    began = time.perf_counter()
    with LocalClient(url) as client:
        sweep = client.create_sweep(random_sweep(total), project="bench-growth")
        start = time.perf_counter()
        for i in range(total):
            run = client.next_run(sweep.id, "growth")
            assert run is not None
            loss = (float(run.config["x"]) - 0.3) ** 2
            client.log(run.id, 0, [MetricRow(0, {"loss": loss})], {"loss": loss})
            client.finish_run(run.id, exit_code=0)
            if (i + 1) % window == 0:
                now = time.perf_counter()
                rates.append(window / (now - start))
                start = now
                if now - began > budget:
                    break
    return {"runs": len(rates) * window, "window_rates": rates}


# --- 3. metric points per second ----------------------------------------------------------------


def opensweep_points(server: str, loggers: int, points: int) -> float:
    argv = [sys.executable, WORKERS, "opensweep-logger", server, str(points)]
    seconds, results = run_workers([argv] * loggers, {"OPENSWEEP_TOKEN": TOKEN})
    from opensweep.client.http import HttpClient

    with HttpClient(server, token=TOKEN) as client:
        for r in results:
            stored = len(client.history(r["run_id"]))
            if stored != points:
                raise SystemExit(f"run {r['run_id']}: {stored} rows stored, expected {points}")
    return loggers * points / seconds


def mlflow_points(server: str, loggers: int, points: int, mode: str) -> float:
    python = str(MLFLOW_VENV / "bin" / "python")
    argv = [python, WORKERS, "mlflow-logger", server, str(points), mode]
    seconds, results = run_workers([argv] * loggers)
    for r in results:  # every point must be stored, as for opensweep
        answer = httpx.get(
            f"{server}/api/2.0/mlflow/metrics/get-history",
            params={"run_id": r["run_id"], "metric_key": "loss", "max_results": points + 10},
            timeout=120,
        ).json()
        if len(answer.get("metrics", [])) != points:
            raise SystemExit(f"mlflow run {r['run_id']}: {len(answer.get('metrics', []))} stored")
    return loggers * points / seconds


def ensure_mlflow() -> bool:
    if (MLFLOW_VENV / "bin" / "mlflow").exists():
        return True
    print("creating the MLflow venv (once) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(MLFLOW_VENV)], check=True)
    result = subprocess.run(
        [str(MLFLOW_VENV / "bin" / "pip"), "install", "-q", "-r", str(HERE / "requirements.txt")]
    )
    return result.returncode == 0


def bench_points(pg: str, points: int, with_mlflow: bool) -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = {}
    with pg_schema(pg) as url, opensweep_server(url, workers=None) as server:
        table["opensweep server (SDK opensweep.log)"] = {
            f"{n} logger(s)": opensweep_points(server, n, points) for n in (1, 4)
        }
        argv = [sys.executable, WORKERS, "log-cost", server, "100000"]
        _, (cost,) = run_workers([argv], {"OPENSWEEP_TOKEN": TOKEN})
        table["opensweep.log() per call (ns)"] = {
            "median": cost["median_ns"],
            "p99": cost["p99_ns"],
            "timer": cost["timer_ns"],
        }
    print(f"  {table}", flush=True)
    if with_mlflow and ensure_mlflow():
        with pg_schema(pg) as url, mlflow_server(url) as server:
            # Per-call modes are slow: fewer points keep the run bounded (rates stay comparable).
            for mode, label, count in (
                ("batch", "MLflow server (log_batch, 1000 points a request)", points),
                ("async", "MLflow server (log_metric, synchronous=False)", min(points, 500)),
                ("sync", "MLflow server (log_metric)", min(points, 100)),
            ):
                table[label] = {
                    f"{n} logger(s)": mlflow_points(server, n, count, mode) for n in (1, 4)
                }
                print(f"  {label}: {table[label]}", flush=True)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--trials", type=int, default=3000, help="trials per measurement (fewer: noisy rates)"
    )
    parser.add_argument("--points", type=int, default=20_000, help="points per logger")
    parser.add_argument("--growth", type=int, default=5_000, help="runs for the growth test")
    parser.add_argument(
        "--growth-seconds", type=float, default=60.0, help="time budget per growth backend"
    )
    parser.add_argument("--postgres", default=DEFAULT_PG)
    parser.add_argument("--no-mlflow", action="store_true")
    parser.add_argument(
        "--match", action="append", default=[], help="only trial rows whose name contains this"
    )
    parser.add_argument(
        "--only", action="append", choices=["trials", "growth", "points"], help="parts to run"
    )
    args = parser.parse_args()
    parts = set(args.only or ["trials", "growth", "points"])
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.time()
    info = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
        "args": vars(args),
    }
    print(f"# system benchmark ({info})", flush=True)
    trials: dict[str, dict[int, float]] = {}
    growth: dict[str, dict[str, Any]] = {}
    points: dict[str, dict[str, float]] = {}
    if "trials" in parts:
        print("## trials/s", flush=True)
        trials = bench_trials(args.postgres, args.trials, (1, 2, 4), args.match)
    if "growth" in parts:
        print("## growth", flush=True)
        db = OUT / f"growth-{uuid.uuid4().hex[:6]}.db"
        budget = args.growth_seconds
        growth["SQLite (direct)"] = bench_growth(f"sqlite:///{db}", args.growth, budget)
        with pg_schema(args.postgres) as url:
            growth["PostgreSQL (direct)"] = bench_growth(url, args.growth, budget)
        for name, g in growth.items():
            # medians of the first and last ten windows of 100 runs: one window is noisy
            rates = g["window_rates"]
            first, last = statistics.median(rates[:10]), statistics.median(rates[-10:])
            g["first_1000_median"], g["last_1000_median"] = first, last
            print(
                f"  {name}: runs 1-1000 {first:.0f}/s, runs {g['runs'] - 999}-{g['runs']} "
                f"{last:.0f}/s (last/first {last / first:.2f})",
                flush=True,
            )
    if "points" in parts:
        print("## metric points/s", flush=True)
        points = bench_points(args.postgres, args.points, not args.no_mlflow)
    info["load_after"] = os.getloadavg()
    info["seconds"] = time.time() - started
    results = {"info": info, "trials_per_s": trials, "growth": growth, "points": points}
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
