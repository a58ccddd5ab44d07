"""Real subprocesses for end-to-end tests: the CLI and agents, cleaned up afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path


class Procs:
    """Starts subprocesses with the test's store URL and kills whatever is left at the end."""

    def __init__(self, url: str, cwd: Path) -> None:
        self.url = url
        self.cwd = cwd
        self.env = {
            **os.environ,
            "OPENSWEEP_URL": url,
            "OPENSWEEP_LOG_DIR": str(cwd / "logs"),
            "OPENSWEEP_HEARTBEAT_INTERVAL": "0.5",
            "PYTHONUNBUFFERED": "1",
        }
        self.started: list[subprocess.Popen[str]] = []

    def cli(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "opensweep", *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"opensweep {args} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def start(self, argv: Sequence[str]) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            list(argv),
            env=self.env,
            cwd=self.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.started.append(proc)
        return proc

    def agent(self, sweep_id: str, *extra: str) -> subprocess.Popen[str]:
        return self.start([sys.executable, "-m", "opensweep", "agent", sweep_id, "--quiet", *extra])

    def wait_all(self, procs: Sequence[subprocess.Popen[str]], timeout: float = 180) -> list[str]:
        outputs = []
        for p in procs:
            out, _ = p.communicate(timeout=timeout)
            outputs.append(out)
            assert p.returncode == 0, out
        return outputs

    def cleanup(self) -> None:
        for p in self.started:
            if p.poll() is None:
                p.kill()
                p.wait()
