"""``opensweep server``: safe defaults, tokens, a real server process whose logs hold no token."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from opensweep.cli.server_cmd import (
    MAX_DEFAULT_WORKERS,
    default_db_url,
    default_workers,
    is_loopback,
    redact,
    server,
)
from opensweep.client.http import HttpClient
from opensweep.client.local import LocalClient
from opensweep.testing.servers import free_port
from opensweep.wire.models import API_PREFIX


def test_refuses_a_public_address_without_a_token(tmp_path: Path) -> None:
    runner = CliRunner()
    for host in ("0.0.0.0", "192.0.2.10", "::", "my-host.example"):
        result = runner.invoke(
            server,
            ["--host", host, "--db", f"sqlite:///{tmp_path / 'x.db'}"],
            env={"OPENSWEEP_TOKEN": None},
        )
        assert result.exit_code == 2, (host, result.output)
        assert "refusing to serve" in result.output and "--new-token" in result.output
    assert not (tmp_path / "x.db").exists()  # refused before touching anything


def test_new_token_prints_one_and_writes_a_private_file(tmp_path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(server, ["--new-token"])
    assert first.exit_code == 0
    token = first.output.strip()
    assert len(token) >= 40 and " " not in token
    target = tmp_path / "token"
    written = runner.invoke(server, ["--new-token", "--token-file", str(target)])
    assert written.exit_code == 0
    assert target.read_text().strip() in written.output
    assert target.read_text().strip() != token
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    again = runner.invoke(server, ["--new-token", "--token-file", str(target)])
    assert again.exit_code == 2 and "not overwriting" in again.output


def test_helpers() -> None:
    assert default_db_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert default_db_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert default_db_url("sqlite:////tmp/a.db") == "sqlite:////tmp/a.db"
    assert default_db_url("http://server:8765").endswith("/opensweep.db")
    assert default_db_url(None) == f"sqlite:///{Path('opensweep.db').resolve()}"
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.5.0.1", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.1", "example.org"))
    assert redact("postgresql://user:s3cret@host/db") == "postgresql://user:***@host/db"
    assert redact("sqlite:///a.db") == "sqlite:///a.db"


def test_default_workers_follow_the_cores_on_postgresql(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(16)), raising=False)
    assert default_workers("postgresql://u@h/db") == MAX_DEFAULT_WORKERS
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0, 1}, raising=False)
    assert default_workers("postgresql+psycopg://u@h/db") == 2
    assert default_workers("postgres://u@h/db") == 2
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {3}, raising=False)
    assert default_workers("postgresql://u@h/db") == 1
    # SQLite: one process (its writers take turns; a :memory: database is per process).
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(16)), raising=False)
    assert default_workers("sqlite:////tmp/a.db") == 1
    assert default_workers("sqlite:///:memory:") == 1


def _wait_healthy(url: str, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.communicate()[0]}")
        try:
            if httpx.get(f"{url}{API_PREFIX}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("server did not become healthy")


@pytest.mark.slow
def test_server_process_serves_and_never_logs_tokens(tmp_path: Path) -> None:
    token = "cli-token-" + "z" * 30
    wrong = "wrong-token-" + "q" * 30
    (tmp_path / "token").write_text(token + "\n")
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "opensweep",
            "server",
            "--db",
            f"sqlite:///{tmp_path / 's.db'}",
            "--port",
            str(port),
            "--token-file",
            str(tmp_path / "token"),
            "--access-log",
            "--log-level",
            "debug",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "OPENSWEEP_TOKEN": ""},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        api = f"{url}{API_PREFIX}"
        assert httpx.get(f"{api}/sweeps").status_code == 401
        assert (
            httpx.get(f"{api}/sweeps", headers={"authorization": f"Bearer {wrong}"}).status_code
            == 401
        )
        good = httpx.post(
            f"{api}/runs", json={"name": "r"}, headers={"authorization": f"Bearer {token}"}
        )
        assert good.status_code == 201
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=20)
    assert "opensweep server on http://127.0.0.1" in output
    assert "POST /api/v1/runs" in output  # the access log is on...
    assert token not in output and wrong not in output  # ...and holds no token


def test_refuses_a_schema_newer_than_it_knows(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    LocalClient(f"sqlite:///{db}").close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE opensweep_schema_version SET version_num = '9999'")
    result = CliRunner().invoke(server, ["--db", f"sqlite:///{db}", "--port", str(free_port())])
    assert result.exit_code == 1, result.output
    assert "9999" in result.output or "newer" in result.output


@pytest.mark.slow
def test_several_worker_processes_share_one_database(tmp_path: Path) -> None:
    token = "workers-token-" + "w" * 30
    (tmp_path / "token").write_text(token)
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "opensweep",
            "server",
            "--db",
            f"sqlite:///{tmp_path / 'w.db'}",
            "--port",
            str(port),
            "--token-file",
            str(tmp_path / "token"),
            "--workers",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "OPENSWEEP_TOKEN": ""},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        with HttpClient(url, token=token) as client:
            runs = [client.start_run(name=f"r{i}") for i in range(20)]
            assert [client.get_run(r.id).name for r in runs] == [f"r{i}" for i in range(20)]
        assert httpx.get(f"{url}{API_PREFIX}/sweeps").status_code == 401  # workers check tokens
        # Nagle's algorithm is off on the shared socket: no ~40 ms delayed-ACK stall per answer.
        with httpx.Client(base_url=url) as raw:
            latencies = []
            for _ in range(30):
                started = time.perf_counter()
                raw.get(f"{API_PREFIX}/health")
                latencies.append(time.perf_counter() - started)
        assert sorted(latencies)[15] < 0.030, latencies
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=30)
    assert "workers: 2" in output
    assert output.count("Started server process") == 2


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
def test_workers_die_with_a_server_killed_with_sigkill(tmp_path: Path) -> None:
    """Workers left behind by ``kill -9`` would keep serving the port a restart needs."""
    port = free_port()
    argv = [sys.executable, "-m", "opensweep", "server", "--db", f"sqlite:///{tmp_path / 'x.db'}"]
    server_process = subprocess.Popen(
        [*argv, "--port", str(port), "--workers", "2", "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            workers = [p for p in _children(server_process.pid) if _alive(p)]
            with_health = False
            with contextlib.suppress(httpx.HTTPError):
                with_health = httpx.get(f"http://127.0.0.1:{port}{API_PREFIX}/health").is_success
            if with_health and len(workers) >= 2:
                break
            time.sleep(0.1)
        assert len(workers) >= 2, "the server did not start two workers"
        server_process.kill()
        server_process.wait(timeout=10)
        deadline = time.monotonic() + 15
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(p) for p in workers), "workers outlived their server"
    finally:
        server_process.kill()
        server_process.wait(timeout=10)
        for pid in workers:
            if _alive(pid):
                os.kill(pid, 9)
