"""Many agents, one server, PostgreSQL: no point twice, no row lost or doubled, crashes reaped.

Real processes only: ``opensweep server`` subprocesses (killed with -9 and restarted), agent
processes running the SDK (function mode) and ``opensweep agent`` (command mode).
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from opensweep.core.model import RunState, SweepState

from .conftest import PROGRAMS, Agents, ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def grid(n_x: int, n_y: int = 1, **extra: object) -> dict[str, object]:
    parameters: dict[str, object] = {"x": {"values": list(range(n_x))}}
    if n_y > 1:
        parameters["y"] = {"values": [f"y{j}" for j in range(n_y)]}
    return {
        "method": "grid",
        "metric": {"name": "loss", "goal": "minimize"},
        "parameters": parameters,
        **extra,
    }


def wait_until(predicate: object, timeout: float, what: str, step: float = 0.05) -> float:
    """Poll ``predicate`` until true; returns the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():  # type: ignore[operator]
            return time.monotonic() - started
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_eight_agents_share_a_64_point_grid(pg_server: ServerProcess, agents: Agents) -> None:
    pg_server.start()
    with pg_server.client() as client:
        sweep = client.create_sweep(grid(8, 8))
        procs = [agents.function_agent(sweep.id, rows=3, delay=0.0) for _ in range(8)]
        agents.wait(procs, timeout=240)
        runs = client.list_runs(sweep.id)
        points = Counter((r.config["x"], r.config["y"]) for r in runs)
        assert len(runs) == 64
        assert len(points) == 64 and set(points.values()) == {1}  # each point exactly once
        assert {r.state for r in runs} == {RunState.FINISHED}
        assert len({r.agent_id for r in runs}) > 1  # the work was shared
        assert all(len(client.history(r.id)) == 3 for r in runs)
        assert client.get_sweep(sweep.id).state is SweepState.FINISHED


def test_server_killed_mid_sweep_loses_and_doubles_no_row(
    pg_server: ServerProcess, agents: Agents
) -> None:
    rows = 200
    pg_server.start()
    with pg_server.client(retry_for=60) as client:
        sweep = client.create_sweep(grid(8))
        procs = [agents.function_agent(sweep.id, rows=rows, delay=0.01) for _ in range(4)]

        def logging_underway() -> bool:
            agents.check_alive()
            return sum(r.last_seq >= 1 for r in client.list_runs(sweep.id)) >= 2

        wait_until(logging_underway, 120, "agents to be logging")
        assert client.get_sweep(sweep.id).state is SweepState.RUNNING  # really mid-sweep
        pg_server.kill9()
        time.sleep(1.5)  # agents keep logging into their buffers while the server is gone
        pg_server.start()  # same port, same database
        agents.wait(procs, timeout=240)

        runs = client.list_runs(sweep.id)
        assert len(runs) == 8
        assert sorted(r.config["x"] for r in runs) == list(range(8))
        assert {r.state for r in runs} == {RunState.FINISHED}, [r.error for r in runs]
        for run in runs:
            steps = [row.step for row in client.history(run.id)]
            assert steps == list(range(rows)), run.id  # every accepted row, exactly once
        assert client.get_sweep(sweep.id).state is SweepState.FINISHED
    assert pg_server.starts == 2


def test_killed_agent_run_is_crashed_within_the_timeout_and_the_sweep_goes_on(
    postgres_url: str, tmp_path: object
) -> None:
    from pathlib import Path

    workdir = Path(str(tmp_path))
    server = ServerProcess(postgres_url, workdir, heartbeat_timeout=3.0)
    group = Agents(server, workdir)
    try:
        server.start()
        with server.client() as client:
            sweep = client.create_sweep(grid(6, program=str(PROGRAMS / "hang.py")))
            victim = group.cli_agent(sweep.id)  # command mode: its program hangs after a row

            def victim_logged() -> bool:
                group.check_alive()
                return any(r.last_seq >= 0 for r in client.list_runs(sweep.id))

            wait_until(victim_logged, 120, "the victim's run to log")
            (doomed,) = client.list_runs(sweep.id)
            survivor = group.function_agent(sweep.id, rows=2, delay=0.0)
            victim.kill()  # SIGKILL: no goodbye, no finish_run
            victim.wait()
            killed_at = time.monotonic()
            wait_until(
                lambda: client.get_run(doomed.id).state is RunState.CRASHED,
                server.heartbeat_timeout + 5,
                "the dead agent's run to be reaped",
            )
            elapsed = time.monotonic() - killed_at
            assert elapsed <= server.heartbeat_timeout + 2.5, elapsed
            group.wait([survivor], timeout=180)
            runs = client.list_runs(sweep.id)
            states = Counter(r.state for r in runs)
            assert states == Counter({RunState.FINISHED: 5, RunState.CRASHED: 1})
            assert "heartbeat" in (client.get_run(doomed.id).error or "")
            # settled by whichever call ended the last run, else by the server's next reap
            sweep_state = client.get_sweep(sweep.id).state
            if sweep_state is not SweepState.FINISHED:
                time.sleep(server.heartbeat_timeout / 2)  # two reaps at timeout / 4
                sweep_state = client.get_sweep(sweep.id).state
            assert sweep_state is SweepState.FINISHED, server.output()[-3000:]
    finally:
        group.cleanup()
        server.stop()
