"""Worker processes for the system benchmark. Each prints ``ready``, waits for ``go`` on stdin,
does its work, and prints one JSON line with its counts and wall-clock end time.

    python workers.py opensweep-trials URL SWEEP_ID
    python workers.py opensweep-client-trials URL SWEEP_ID
    python workers.py optuna-trials STORAGE STUDY N_TRIALS
    python workers.py opensweep-logger URL POINTS
    python workers.py mlflow-logger URL POINTS sync|async|batch      (runs in the MLflow venv)
    python workers.py log-cost URL CALLS
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any


def _ready_then_wait() -> None:
    print("ready", flush=True)
    line = sys.stdin.readline()
    if line.strip() != "go":
        raise SystemExit(f"expected go, got {line!r}")


def _done(**result: Any) -> None:
    print(json.dumps({"end": time.time(), **result}), flush=True)


def opensweep_trials(url: str, sweep_id: str) -> None:
    """Trials as a user's script runs them: ``opensweep.agent`` calls a function that joins its
    run with ``init()``, logs the metric and finishes (what ``study.optimize`` is to Optuna)."""
    os.environ["OPENSWEEP_URL"] = url
    import opensweep
    import opensweep.agent.function_mode  # imported before "go", as optuna is

    trials = 0

    def train() -> None:
        nonlocal trials
        run = opensweep.init()
        opensweep.log({"loss": (float(opensweep.config.x) - 0.3) ** 2})
        run.finish()
        trials += 1

    _ready_then_wait()
    start = time.time()
    opensweep.agent(sweep_id, function=train)
    _done(start=start, trials=trials)


def opensweep_client_trials(url: str, sweep_id: str) -> None:
    """The least an agent must do per trial, straight on the Client: claim a run, log its metric,
    finish it. Not what a user runs; kept to show what the agent adds on top."""
    from opensweep.client import connect
    from opensweep.core.model import MetricRow

    client = connect(url)
    agent_id = f"bench-{os.getpid()}"
    _ready_then_wait()
    start = time.time()
    trials = 0
    while True:
        run = client.next_run(sweep_id, agent_id)
        if run is None:
            break
        loss = (float(run.config["x"]) - 0.3) ** 2
        client.log(run.id, 0, [MetricRow(0, {"loss": loss}, time.time())], {"loss": loss})
        client.finish_run(run.id, exit_code=0)
        trials += 1
    client.close()
    _done(start=start, trials=trials)


def optuna_trials(storage_spec: str, study_name: str, n_trials: int) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if storage_spec.startswith("journal:"):
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        storage: Any = JournalStorage(JournalFileBackend(storage_spec.removeprefix("journal:")))
    else:
        storage = optuna.storages.RDBStorage(storage_spec)
    study = optuna.load_study(
        study_name=study_name, storage=storage, sampler=optuna.samplers.RandomSampler()
    )
    _ready_then_wait()
    start = time.time()
    study.optimize(lambda t: (t.suggest_float("x", -10, 10) - 0.3) ** 2, n_trials=n_trials)
    _done(start=start, trials=n_trials)


def opensweep_logger(url: str, points: int) -> None:
    """One training process logging ``points`` metric values through the SDK."""
    os.environ["OPENSWEEP_URL"] = url
    import opensweep

    run = opensweep.init(project="bench-logging")
    _ready_then_wait()
    start = time.time()
    for i in range(points):
        opensweep.log({"loss": 1.0 / (i + 1)})
    run.finish()  # returns once every row is stored
    _done(start=start, points=points, run_id=run.id)


def mlflow_logger(url: str, points: int, mode: str) -> None:
    import mlflow

    mlflow.set_tracking_uri(url)
    mlflow.set_experiment("bench-logging")
    with mlflow.start_run() as run:
        _ready_then_wait()
        start = time.time()
        if mode == "batch":  # MLflow's fastest path: log_batch, 1000 points per request
            from mlflow.entities import Metric
            from mlflow.tracking import MlflowClient

            client = MlflowClient()
            for first in range(0, points, 1000):
                now = int(time.time() * 1000)
                metrics = [
                    Metric("loss", 1.0 / (i + 1), now, i)
                    for i in range(first, min(points, first + 1000))
                ]
                client.log_batch(run.info.run_id, metrics=metrics)
        else:
            for i in range(points):
                mlflow.log_metric("loss", 1.0 / (i + 1), step=i, synchronous=(mode == "sync"))
            if mode == "async":
                mlflow.flush_async_logging()
    _done(start=start, points=points, run_id=run.info.run_id)


def log_cost(url: str, calls: int) -> None:
    """Per-call cost of ``opensweep.log()`` in the training process (it only buffers)."""
    os.environ["OPENSWEEP_URL"] = url
    import opensweep

    run = opensweep.init(project="bench-log-cost")
    _ready_then_wait()
    clock = time.perf_counter_ns
    costs = []
    for i in range(calls):
        t0 = clock()
        opensweep.log({"loss": 1.0 / (i + 1)})
        costs.append(clock() - t0)
    run.finish()
    empty = []
    for _ in range(10_000):
        t0 = clock()
        empty.append(clock() - t0)
    costs.sort()
    empty.sort()
    _done(
        median_ns=costs[len(costs) // 2],
        p99_ns=costs[int(len(costs) * 0.99)],
        timer_ns=empty[len(empty) // 2],
        calls=calls,
    )


def main() -> None:
    kind, args = sys.argv[1], sys.argv[2:]
    if kind == "opensweep-trials":
        opensweep_trials(args[0], args[1])
    elif kind == "opensweep-client-trials":
        opensweep_client_trials(args[0], args[1])
    elif kind == "optuna-trials":
        optuna_trials(args[0], args[1], int(args[2]))
    elif kind == "opensweep-logger":
        opensweep_logger(args[0], int(args[1]))
    elif kind == "mlflow-logger":
        mlflow_logger(args[0], int(args[1]), args[2])
    elif kind == "log-cost":
        log_cost(args[0], int(args[1]))
    else:
        raise SystemExit(f"unknown worker kind {kind}")


if __name__ == "__main__":
    main()
