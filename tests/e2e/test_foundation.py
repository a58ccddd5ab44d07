"""A complete sweep end to end: the W&B example, many agents, command mode, failures, kill -9."""

from __future__ import annotations

import itertools
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

import opensweep
from opensweep.client import connect
from opensweep.core.model import RunState
from opensweep.testing.processes import Procs

PROGRAMS = Path(__file__).parent / "programs"

pytestmark = pytest.mark.slow


def write_config(tmp_path: Path, config: dict[str, Any], name: str = "sweep.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_canonical_wandb_example(monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> None:
    """The sweep example from W&B's docs, with `import opensweep as wandb`."""
    monkeypatch.setenv("OPENSWEEP_URL", sqlite_url)
    wandb = opensweep
    sweep_config = {
        "method": "random",
        "metric": {"goal": "minimize", "name": "val/loss"},
        "parameters": {
            "batch_size": {"values": [16, 32, 64]},
            "epochs": {"value": 4},
            "lr": {"max": 0.1, "min": 0.0001},
        },
        "seed": 3,
    }
    sweep_id = wandb.sweep(sweep_config, project="my-first-sweep")
    seen: list[float] = []

    def train() -> None:
        run = wandb.init(config={"dropout": 0.2})
        lr, batch_size = wandb.config.lr, wandb.config["batch_size"]
        assert wandb.config.dropout == 0.2  # defaults from init(config=) survive
        for epoch in range(wandb.config.epochs):
            val_loss = (lr - 0.05) ** 2 + batch_size / 1000 + 1 / (epoch + 1)
            wandb.log({"epoch": epoch, "val/loss": val_loss})
        seen.append(val_loss)
        run.finish()

    wandb.agent(sweep_id, function=train, count=6)

    sweep = wandb.Api().sweep(f"my-first-sweep/{sweep_id}")
    assert len(sweep.runs) == 6
    assert all(r.state == "finished" for r in sweep.runs)
    best = sweep.best_run()
    assert best.summary["val/loss"] == pytest.approx(min(seen))
    history = best.history(pandas=False)
    assert [row["epoch"] for row in history] == [0, 1, 2, 3]
    frame = sweep.runs_dataframe()
    assert len(frame) == 6
    assert {"lr", "batch_size"} <= {c.split(".")[-1] for c in frame.columns}


def test_four_agents_cover_a_grid_exactly_once(tmp_path: Path, procs: Procs) -> None:
    config = {
        "method": "grid",
        "metric": {"name": "loss"},
        "parameters": {
            "a": {"values": [1, 2, 3, 4]},
            "b": {"values": [10, 20, 30]},
            "c": {"values": [0, 1]},
        },
    }
    sweep_id = procs.cli("sweep", write_config(tmp_path, config), "--id-only").stdout.strip()
    agents = [
        procs.start([sys.executable, str(PROGRAMS / "function_agent.py"), sweep_id])
        for _ in range(4)
    ]
    procs.wait_all(agents)
    client = connect(procs.url)
    runs = client.list_runs(sweep_id)
    points = sorted((r.config["a"], r.config["b"], r.config["c"]) for r in runs)
    assert points == sorted(itertools.product([1, 2, 3, 4], [10, 20, 30], [0, 1]))
    assert all(r.state is RunState.FINISHED for r in runs)
    assert client.get_sweep(sweep_id).state.value == "finished"
    assert len({r.agent_id for r in runs}) >= 2  # the work really was shared


def test_run_cap_is_never_exceeded_across_agents(tmp_path: Path, procs: Procs) -> None:
    config = {
        "method": "random",
        "run_cap": 10,
        "metric": {"name": "loss"},
        "parameters": {"x": {"min": 0.0, "max": 1.0}},
    }
    sweep_id = procs.cli("sweep", write_config(tmp_path, config), "--id-only").stdout.strip()
    agents = [
        procs.start([sys.executable, str(PROGRAMS / "function_agent.py"), sweep_id])
        for _ in range(3)
    ]
    procs.wait_all(agents)
    runs = connect(procs.url).list_runs(sweep_id)
    assert len(runs) == 10


def test_command_mode_with_args_and_args_json(tmp_path: Path, procs: Procs) -> None:
    config = {
        "program": str(PROGRAMS / "quadratic.py"),
        "method": "grid",
        "metric": {"name": "loss"},
        "parameters": {"x": {"values": [0.1, 0.3]}, "y": {"values": [0, 2]}},
    }
    sweep_id = procs.cli("sweep", write_config(tmp_path, config), "--id-only").stdout.strip()
    procs.wait_all([procs.agent(sweep_id)])
    client = connect(procs.url)
    runs = client.list_runs(sweep_id)
    assert sorted((r.config["x"], r.config["y"]) for r in runs) == [
        (0.1, 0),
        (0.1, 2),
        (0.3, 0),
        (0.3, 2),
    ]
    for r in runs:
        assert r.state is RunState.FINISHED, r.error
        assert r.summary["loss"] == pytest.approx(
            (r.config["x"] - 0.3) ** 2 + r.config["y"] + 1 / 3
        )
        assert len(client.history(r.id)) == 3
        assert (tmp_path / "logs" / sweep_id / f"{r.id}.log").exists()

    json_config = {
        "program": str(PROGRAMS / "json_args.py"),
        "command": ["${env}", "${interpreter}", "${program}", "--cfg", "${args_json}"],
        "method": "grid",
        "metric": {"name": "loss"},
        "parameters": {"a": {"values": [1, 2]}, "opt": {"value": "adam"}},
    }
    sweep2 = procs.cli(
        "sweep", write_config(tmp_path, json_config, "j.yaml"), "--id-only"
    ).stdout.strip()
    procs.wait_all([procs.agent(sweep2)])
    losses = sorted(r.summary["loss"] for r in client.list_runs(sweep2))
    assert losses == [14, 24]


def test_failing_function_fails_the_run_not_the_agent(
    monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    monkeypatch.setenv("OPENSWEEP_URL", sqlite_url)
    sweep_id = opensweep.sweep(
        {
            "method": "grid",
            "metric": {"name": "loss"},
            "parameters": {"k": {"values": [0, 1, 2, 3]}},
        }
    )

    def train() -> None:
        opensweep.init()
        opensweep.log({"loss": float(opensweep.config.k)})
        if opensweep.config.k % 2:
            raise ValueError(f"odd k={opensweep.config.k}")

    opensweep.agent(sweep_id, function=train)
    runs = {r.config["k"]: r for r in connect(sqlite_url).list_runs(sweep_id)}
    assert [runs[k].state for k in range(4)] == [
        RunState.FINISHED,
        RunState.FAILED,
        RunState.FINISHED,
        RunState.FAILED,
    ]
    assert "ValueError: odd k=1" in (runs[1].error or "")
    assert runs[1].summary["loss"] == 1.0  # what was logged before the failure is kept


def test_agent_stops_after_consecutive_failures(tmp_path: Path, procs: Procs) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import sys\nsys.exit(3)\n")
    config = {
        "program": str(bad),
        "method": "random",
        "parameters": {"x": {"min": 0.0, "max": 1.0}},
    }
    sweep_id = procs.cli("sweep", write_config(tmp_path, config), "--id-only").stdout.strip()
    out = procs.wait_all([procs.agent(sweep_id, "--max-consecutive-failures", "3")])[0]
    runs = connect(procs.url).list_runs(sweep_id)
    assert len(runs) == 3 and all(r.state is RunState.FAILED and r.exit_code == 3 for r in runs)
    assert "failed in a row" in out


def test_kill_9_agent_marks_run_crashed_and_keeps_history(tmp_path: Path, procs: Procs) -> None:
    config = {
        "program": str(PROGRAMS / "slow_logger.py"),
        "method": "random",
        "metric": {"name": "loss"},
        "parameters": {"x": {"min": 0.0, "max": 1.0}},
    }
    sweep_id = procs.cli("sweep", write_config(tmp_path, config), "--id-only").stdout.strip()
    agent = procs.agent(sweep_id)
    client = connect(procs.url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = client.list_runs(sweep_id)
        if runs and len(client.history(runs[0].id)) >= 10:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the run never logged 10 rows")
    os.kill(agent.pid, signal.SIGKILL)
    agent.wait()
    time.sleep(1.0)  # the child dies with its agent (PDEATHSIG); give its writer no more time
    run_id = runs[0].id
    flushed = len(client.history(run_id))
    time.sleep(2.5)  # past the heartbeat timeout set below
    from opensweep.controller.controller import Controller
    from opensweep.store import open_store

    controller = Controller(open_store(procs.url), heartbeat_timeout=2.0)
    controller.reap()
    run = controller.get_run(run_id)
    assert run.state is RunState.CRASHED
    assert len(controller.history(run_id)) == flushed >= 10


def test_invalid_config_lists_every_violation_and_writes_nothing(
    tmp_path: Path, procs: Procs
) -> None:
    config = {
        "method": "grdi",
        "metric": {"name": "loss", "goal": "down"},
        "parameters": {"lr": {"min": 0.1, "max": 0.01}, "bs": {"values": []}},
    }
    result = procs.cli("sweep", write_config(tmp_path, config), check=False)
    assert result.returncode == 2
    for path in ("method", "metric.goal", "parameters.lr", "parameters.bs"):
        assert path in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    listed = procs.cli("ls")
    assert "grdi" not in listed.stdout
    assert connect(procs.url).list_sweeps() == []


def test_cli_ls_show_runs_csv(tmp_path: Path, procs: Procs) -> None:
    config = {
        "method": "grid",
        "name": "cli-check",
        "metric": {"name": "loss", "goal": "minimize"},
        "parameters": {"x": {"values": [0.5, 0.3, 0.9]}, "epochs": {"value": 2}},
        "program": str(PROGRAMS / "quadratic.py"),
    }
    created = procs.cli("sweep", write_config(tmp_path, config))
    sweep_id = created.stdout.split("created sweep ")[1].split()[0]
    assert f"opensweep agent {sweep_id}" in created.stdout
    procs.wait_all([procs.agent(sweep_id)])
    assert "cli-check" in procs.cli("ls").stdout
    shown = procs.cli("show", sweep_id, "--top", "2").stdout
    assert "cli-check" in shown and "method: grid" in shown  # the config is shown
    board = shown.split("leaderboard")[1].splitlines()
    header = next(line for line in board if line.startswith("┃"))
    x_col = [c.strip() for c in header.split("┃")].index("x")
    rows = [[c.strip() for c in line.split("│")] for line in board if line.startswith("│")]
    assert [row[x_col] for row in rows] == ["0.3", "0.5"]  # best first, --top 2
    csv_text = procs.cli("runs", sweep_id, "--csv").stdout
    lines = csv_text.strip().splitlines()
    assert (
        lines[0].startswith("id,name,state")
        and "config.x" in lines[0]
        and "summary.loss" in lines[0]
    )
    assert len(lines) == 4
    paused = procs.cli("sweep", "--pause", sweep_id, check=False)
    assert paused.returncode == 1 and "finished" in paused.stderr  # a finished sweep cannot pause
    params = json.loads(
        (tmp_path / "logs" / sweep_id)
        .joinpath(
            next(
                p.name
                for p in (tmp_path / "logs" / sweep_id).iterdir()
                if p.name.endswith(".params.json")
            )
        )
        .read_text()
    )
    assert set(params) == {"x", "epochs"}
