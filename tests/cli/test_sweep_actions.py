"""`opensweep sweep --pause/--resume/--rerun-crashed` and `opensweep validate`, in-process."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from opensweep.cli.main import main
from opensweep.client.local import LocalClient
from opensweep.controller.clock import FakeClock
from opensweep.core.model import RunState, SweepState

GRID = {"method": "grid", "parameters": {"a": {"values": [1, 2]}}}


def test_pause_resume_and_rerun_crashed(sqlite_url: str) -> None:
    clock = FakeClock(1000.0)
    client = LocalClient(sqlite_url, clock=clock, heartbeat_timeout=10)
    sweep = client.create_sweep(GRID)
    first = client.next_run(sweep.id, "agent-1")
    assert first is not None
    clock.advance(11)  # its agent went silent: reaped as crashed
    second = client.next_run(sweep.id, "agent-2")
    assert second is not None and client.get_run(first.id).state is RunState.CRASHED
    assert client.next_run(sweep.id, "agent-2") is None  # both grid points are used

    runner = CliRunner()
    paused = runner.invoke(main, ["sweep", "--pause", sweep.id, "--url", sqlite_url])
    assert paused.exit_code == 0 and "paused" in paused.output
    assert client.get_sweep(sweep.id).state is SweepState.PAUSED
    resumed = runner.invoke(main, ["sweep", "--resume", sweep.id, "--url", sqlite_url])
    assert resumed.exit_code == 0 and "running" in resumed.output

    rerun = runner.invoke(main, ["sweep", "--rerun-crashed", sweep.id, "--url", sqlite_url])
    assert rerun.exit_code == 0, rerun.output
    assert "1 crashed run(s)" in rerun.output
    again = client.next_run(sweep.id, "agent-3")
    assert again is not None and again.config == first.config  # the crashed point, once more
    client.close()


def test_validate_lists_every_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump(
            {"method": "grid", "parameters": {"lr": {"min": 1.0, "max": 0.1}}, "run_cap": 0}
        )
    )
    result = CliRunner().invoke(main, ["validate", str(bad)])
    assert result.exit_code == 2
    assert "parameters.lr" in result.output and "run_cap" in result.output
    good = tmp_path / "good.yaml"
    good.write_text(
        "method: random\n"
        "parameters:\n  lr: {distribution: log_uniform_values, min: 1e-5, max: 1e-1}\n"
    )
    ok = CliRunner().invoke(main, ["validate", str(good)])
    assert ok.exit_code == 0 and "lr: log_uniform_values" in ok.output
