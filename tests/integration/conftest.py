"""Real processes for reliability tests: ``opensweep server`` on PostgreSQL, and agents."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from opensweep.client.http import HttpClient
from opensweep.server.auth import new_token

PROGRAMS = Path(__file__).parent / "programs"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``opensweep server`` as a subprocess that can be killed -9 and started again."""

    def __init__(self, db_url: str, workdir: Path, *, heartbeat_timeout: float = 60.0) -> None:
        self.db_url = db_url
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = new_token()
        self.token_file = workdir / "token"
        self.token_file.write_text(self.token + "\n")
        self.heartbeat_timeout = heartbeat_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = (self.workdir / f"server-{self.starts}.log").open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "opensweep",
                "server",
                "--db",
                self.db_url,
                "--port",
                str(self.port),
                "--token-file",
                str(self.token_file),
                "--heartbeat-timeout",
                str(self.heartbeat_timeout),
                "--log-level",
                "warning",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.output()}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"server did not come up: {self.output()}")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def output(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.workdir.glob("server-*.log"))
        )

    def client(self, **kwargs: object) -> HttpClient:
        return HttpClient(self.url, token=self.token, **kwargs)  # type: ignore[arg-type]


class Agents:
    """Agent processes talking to one server; whatever is left is killed at the end."""

    def __init__(self, server: ServerProcess, workdir: Path) -> None:
        self.workdir = workdir
        self.env = {
            **os.environ,
            "OPENSWEEP_URL": server.url,
            "OPENSWEEP_TOKEN": server.token,
            "OPENSWEEP_LOG_DIR": str(workdir / "logs"),
            "OPENSWEEP_HEARTBEAT_INTERVAL": "0.5",
            "PYTHONUNBUFFERED": "1",
        }
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, argv: Sequence[str], **env: str) -> subprocess.Popen[bytes]:
        index = len(self.procs)
        log = (self.workdir / f"agent-{index}.log").open("wb")
        proc = subprocess.Popen(
            list(argv),
            env={**self.env, **env},
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def function_agent(
        self, sweep_id: str, rows: int, delay: float, **env: str
    ) -> subprocess.Popen[bytes]:
        program = str(PROGRAMS / "function_agent.py")
        return self.start([sys.executable, program, sweep_id, str(rows), str(delay)], **env)

    def cli_agent(self, sweep_id: str, *extra: str) -> subprocess.Popen[bytes]:
        return self.start([sys.executable, "-m", "opensweep", "agent", sweep_id, "--quiet", *extra])

    def output(self, proc: subprocess.Popen[bytes]) -> str:
        index = self.procs.index(proc)
        return (self.workdir / f"agent-{index}.log").read_text(errors="replace")

    def check_alive(self) -> None:
        """Fail now, with its output, if an agent already exited with an error."""
        for proc in self.procs:
            code = proc.poll()
            if code not in (None, 0, -9):
                raise AssertionError(f"agent exited with {code}:\n{self.output(proc)[-3000:]}")

    def wait(self, procs: Sequence[subprocess.Popen[bytes]], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for proc in procs:
            remaining = max(0.1, deadline - time.monotonic())
            try:
                code = proc.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                raise AssertionError(f"agent still running:\n{self.output(proc)[-3000:]}") from None
            assert code == 0, self.output(proc)[-3000:]

    def cleanup(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture
def pg_server(postgres_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(postgres_url, tmp_path)
    yield server
    server.stop()


@pytest.fixture
def agents(pg_server: ServerProcess, tmp_path: Path) -> Iterator[Agents]:
    group = Agents(pg_server, tmp_path)
    yield group
    group.cleanup()
