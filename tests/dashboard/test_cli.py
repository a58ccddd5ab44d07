"""``opensweep ui`` (a real server process) and ``opensweep importance`` (a rich table)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from opensweep.cli.ui_cmd import importance, ui
from opensweep.testing.servers import free_port

from .conftest import build_world

UI = "from opensweep.cli.ui_cmd import ui; ui()"


@pytest.fixture
def world_url(tmp_path: Path) -> tuple[str, str]:
    world = build_world(tmp_path / "db.sqlite", tmp_path / "logs", n_runs=16)
    world.client.close()
    return world.url, world.main.id


def test_importance_prints_the_table_for_a_sweep(world_url: tuple[str, str]) -> None:
    url, sweep_id = world_url
    result = CliRunner().invoke(
        importance, [f"demo/{sweep_id}", "--url", url], env={"COLUMNS": "160"}
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "val_loss: 17 runs" in lines[0]  # 16 + the running one
    rows = [line for line in lines if line.startswith("│")]
    assert rows[0].split("│")[1].strip() == "lr"  # most important first
    assert "log" in rows[0]
    assert "by category" in result.output and "= <img src=x onerror=alert(1)>" in result.output


def test_importance_reads_a_runs_csv(tmp_path: Path) -> None:
    path = tmp_path / "runs.csv"
    lines = ["id,name,state,config.x,config.kind,config.noise,summary.loss"]
    for i in range(40):
        x, kind, noise = i / 40, "ab"[i % 2], (i * 7919 % 40) / 40
        lines.append(f"r{i},n{i},finished,{x},{kind},{noise},{3 * x + 0.01 * noise}")
    path.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(importance, [str(path)])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if line.startswith("│")]
    assert rows[0].split("│")[1].strip() == "x"


def test_importance_errors_are_one_line(world_url: tuple[str, str], tmp_path: Path) -> None:
    url, _ = world_url
    result = CliRunner().invoke(importance, ["nope", "--url", url])
    assert result.exit_code == 1
    assert "not found" in result.output and "Traceback" not in result.output
    bad = tmp_path / "two.csv"
    bad.write_text("id,config.x,summary.a,summary.b\nr,1,2,3\n")
    result = CliRunner().invoke(importance, [str(bad)])
    assert result.exit_code == 2 and "--metric" in result.output


def test_ui_serves_the_dashboard_on_loopback(world_url: tuple[str, str], tmp_path: Path) -> None:
    url, sweep_id = world_url
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", UI, "--url", url, "--port", str(port), "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "opensweep ui did not start"
                time.sleep(0.1)
        assert page.status_code == 200 and "opensweep" in page.text
        sweeps = httpx.get(f"http://127.0.0.1:{port}/dashboard/api/sweeps", timeout=10).json()
        assert sweep_id in [s["id"] for s in sweeps["sweeps"]]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert f"http://127.0.0.1:{port}/" in out


def test_ui_with_a_server_url_only_opens_it() -> None:
    result = CliRunner().invoke(ui, ["--url", "http://127.0.0.1:9/", "--no-browser"])
    assert result.exit_code == 0
    assert "opening it in the browser" in result.output
