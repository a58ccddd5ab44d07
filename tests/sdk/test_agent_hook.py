"""Joining the agent's run: function mode through ``agent_context``, command mode through the
environment the agent sets, and stop requests reaching ``log()``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import opensweep
from opensweep.client import connect
from opensweep.client.base import Client
from opensweep.core.model import Run, RunState
from opensweep.sdk import agent_context

SWEEP = {
    "method": "grid",
    "metric": {"name": "loss"},
    "parameters": {
        "lr": {"values": [0.1, 0.01]},
        "opt": {"parameters": {"name": {"values": ["adam"]}}},
    },
}


def next_run(client: Client, config: dict[str, Any] | None = None) -> Run:
    sweep = client.create_sweep(config or SWEEP, project="p")
    run = client.next_run(sweep.id, "agent-test")
    assert run is not None
    return run


def test_function_mode_joins_the_run_with_merged_config(client: Client) -> None:
    record = next_run(client)
    with agent_context(client, record) as ctx:
        run = opensweep.init(config={"opt": {"name": "sgd", "momentum": 0.9}, "epochs": 2})
        assert run.id == record.id and opensweep.run is run
        assert opensweep.init() is run  # a second init() in the function joins the same run
        assert opensweep.config.lr == record.config["lr"]
        # the sweep wins, nested defaults it does not set survive
        assert opensweep.config.opt == {"name": "adam", "momentum": 0.9}
        assert opensweep.config.epochs == 2
        opensweep.config.update({"lr": 123.0})  # a sweep parameter is locked
        assert opensweep.config.lr == record.config["lr"]
        for epoch in range(opensweep.config.epochs):
            opensweep.log({"loss": 1.0 / (epoch + 1)})
        run.finish()
        # finish() ends the run there and then, its rows written in the same call
        stored = client.get_run(record.id)
        assert stored.state is RunState.FINISHED and stored.summary["loss"] == 0.5
    assert ctx.closed and ctx.flushed and ctx.exit_code is None
    assert ctx.ended == stored  # so the agent does not end it again
    assert opensweep.run is None
    assert [r.values["loss"] for r in client.history(record.id)] == [1.0, 0.5]


def test_a_sweep_run_saves_the_scripts_config_and_its_updates(client: Client) -> None:
    record = next_run(client)
    with agent_context(client, record):
        opensweep.init(config={"opt": {"name": "sgd", "momentum": 0.9}, "epochs": 2})
        opensweep.config.update({"lr": 123.0, "note": "first try"})  # lr is the sweep's
        saved = dict(client.get_run(record.id).config)
    assert saved == {
        "lr": record.config["lr"],
        "opt": {"name": "adam", "momentum": 0.9},
        "epochs": 2,
        "note": "first try",
    }
    client.finish_run(record.id, exit_code=0)
    assert dict(client.get_run(record.id).config) == saved


def test_close_writes_every_row_before_the_agent_ends_the_run(client: Client) -> None:
    record = next_run(client)
    with agent_context(client, record) as ctx:
        opensweep.init()
        for i in range(5000):
            opensweep.log({"loss": float(i)})
        # the user never calls finish(): closing the context flushes
    assert ctx.flushed
    client.finish_run(record.id, exit_code=0)
    rows = client.history(record.id)
    assert [r.step for r in rows] == list(range(5000))


def test_exit_code_given_to_finish_reaches_the_agent(client: Client) -> None:
    record = next_run(client)
    with agent_context(client, record) as ctx:
        opensweep.init().finish(exit_code=2)
    assert ctx.exit_code == 2


def test_a_function_that_never_calls_init(client: Client) -> None:
    record = next_run(client)
    with agent_context(client, record) as ctx:
        pass
    assert ctx.run is None and ctx.flushed and ctx.exit_code is None


def test_stop_from_the_agent_raises_through_except_exception(client: Client) -> None:
    record = next_run(client)
    logged = 0
    with pytest.raises(opensweep.RunStopped) as info, agent_context(client, record) as ctx:
        run = opensweep.init()
        for step in range(100):
            if step == 3:
                ctx.stop("band 1: 0.9 worse than threshold 0.5")  # the heartbeat's news
            try:
                opensweep.log({"loss": 1.0})
                logged += 1
            except Exception:  # a user's broad handler must not swallow the stop
                pytest.fail("RunStopped was caught by `except Exception`")
    assert info.value.run_id == record.id and "band 1" in info.value.reason
    assert run.should_stop and run.stop_reason == "band 1: 0.9 worse than threshold 0.5"
    assert logged == 3
    # the row whose log() raised is kept, like every row before it
    assert len(client.history(record.id)) == 4


def test_stop_requested_before_init_is_delivered(client: Client) -> None:
    record = next_run(client)
    with agent_context(client, record) as ctx:
        ctx.stop("sweep canceled")
        run = opensweep.init()
        assert run.should_stop
        with pytest.raises(opensweep.RunStopped):
            opensweep.log({"loss": 1.0})


def test_stop_reported_by_a_log_batch_raises_on_the_next_log(url: str) -> None:
    with connect(url) as client:
        record = next_run(client)
        with agent_context(client, record) as ctx:
            run = opensweep.init()
            opensweep.log({"loss": 1.0})
            assert not run.should_stop and ctx.stop_reason is None
            client.set_sweep_state(record.sweep_id or "", "cancel")  # stop_reason on the run
            deadline = time.monotonic() + 10
            with pytest.raises(opensweep.RunStopped, match="canceled"):
                while time.monotonic() < deadline:
                    opensweep.log({"loss": 1.0})
                    time.sleep(0.005)
            assert run.should_stop
        assert ctx.stop_reason == "sweep canceled"  # the agent sees what the log batch said
        assert client.finish_run(record.id).state is RunState.KILLED


CHILD = """
import json, os, sys, time
import opensweep
run = opensweep.init(config={"epochs": 3, "lr": 0.5})
print(json.dumps({"id": run.id, "config": dict(opensweep.config)}), flush=True)
for step in range(int(sys.argv[1])):
    opensweep.log({"loss": step})
if sys.argv[2] == "wait":
    print("logged", flush=True)
    time.sleep(60)
run.finish()
"""


def child_env(url: str, record: Run, params_file: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENSWEEP_")}
    env.update(
        OPENSWEEP_URL=url,
        OPENSWEEP_RUN_ID=record.id,
        OPENSWEEP_SWEEP_ID=record.sweep_id or "",
        OPENSWEEP_PARAMS_FILE=str(params_file),
    )
    return env


@pytest.mark.slow
def test_command_mode_child_joins_the_run_from_its_environment(
    sqlite: str, client: Client, tmp_path: Path
) -> None:
    record = next_run(client)
    params_file = tmp_path / "params.json"
    params = {**record.config, "from_file": {"__float__": "inf"}}  # proves the file is read
    params_file.write_text(json.dumps(params))
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    out = subprocess.run(
        [sys.executable, str(script), "4", "finish"],
        env=child_env(sqlite, record, params_file),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.splitlines()[0].replace("Infinity", '"inf"'))
    assert seen["id"] == record.id
    assert seen["config"]["lr"] == record.config["lr"]  # the sweep overrides the default
    assert seen["config"]["epochs"] == 3 and seen["config"]["from_file"] == "inf"
    assert [r.values["loss"] for r in client.history(record.id)] == [0, 1, 2, 3]
    assert client.get_run(record.id).state is RunState.RUNNING  # the agent reports the exit


@pytest.mark.slow
def test_command_mode_sigterm_still_writes_the_logged_rows(
    sqlite: str, client: Client, tmp_path: Path
) -> None:
    record = next_run(client)
    params_file = tmp_path / "params.json"
    params_file.write_text(json.dumps(record.config))
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = child_env(sqlite, record, params_file)
    env["OPENSWEEP_LOG_FLUSH_INTERVAL"] = "60"  # rows stay in memory until the exit flush
    proc = subprocess.Popen(
        [sys.executable, str(script), "50", "wait"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        assert proc.stdout.readline().strip() == "logged"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signal.SIGTERM
    assert len(client.history(record.id)) == 50
