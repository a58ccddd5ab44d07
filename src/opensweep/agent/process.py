"""Child processes for command-mode runs: start, stream output to a log file, stop politely."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from opensweep.orphans import die_with_parent


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the child gets SIGKILL if the agent dies (kill -9), so no orphan holds a GPU."""
    die_with_parent(signal.SIGKILL)


class ChildProcess:
    """One run's process. Its stdout and stderr go to ``log_path`` (and to ``echo`` if given)."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        log_path: Path,
        echo: IO[str] | None = None,
        cwd: str | None = None,
    ) -> None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path
        self._log = log_path.open("ab")
        self._echo = echo
        try:
            self._proc = subprocess.Popen(
                list(argv),
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                # Own process group: the agent decides which signals reach the child.
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        except OSError:
            self._log.close()
            raise
        self._pump = threading.Thread(target=self._copy_output, daemon=True)
        self._pump.start()
        self._term_sent_at: float | None = None

    @property
    def pid(self) -> int:
        return self._proc.pid

    def _copy_output(self) -> None:
        assert self._proc.stdout is not None
        for line in iter(self._proc.stdout.readline, b""):
            self._log.write(line)
            self._log.flush()
            if self._echo is not None:
                with contextlib.suppress(Exception):
                    self._echo.write(line.decode(errors="replace"))
                    self._echo.flush()
        self._proc.stdout.close()

    def poll(self) -> int | None:
        return self._proc.poll()

    def wait(self, timeout: float | None = None) -> int | None:
        try:
            return self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def send(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, sig)

    def terminate(self, term_timeout: float) -> None:
        """SIGTERM now; SIGKILL once ``term_timeout`` seconds passed (checked by ``escalate``)."""
        if self._term_sent_at is None:
            self._term_sent_at = time.monotonic()
            self.send(signal.SIGTERM)
        self.escalate(term_timeout)

    def escalate(self, term_timeout: float) -> None:
        if (
            self._term_sent_at is not None
            and self.poll() is None
            and time.monotonic() - self._term_sent_at >= term_timeout
        ):
            self.send(signal.SIGKILL)

    def close(self) -> int:
        code = self._proc.wait()
        self._pump.join(timeout=5)
        self._log.close()
        return code
