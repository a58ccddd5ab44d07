"""One agent process per GPU on this machine, each seeing only its own device."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

from opensweep.errors import InvalidRequest


def parse_gpus(spec: str) -> list[str]:
    """``"0,1,3"`` -> ["0", "1", "3"]; ``"4"`` alone means four devices 0..3."""
    text = spec.strip()
    if text.isdigit() and "," not in text:
        count = int(text)
        if count < 1:
            raise InvalidRequest(f"--gpus: need at least one device (got {spec!r})")
        return [str(i) for i in range(count)]
    devices = [d.strip() for d in text.split(",") if d.strip()]
    if not devices or len(set(devices)) != len(devices):
        raise InvalidRequest(
            f"--gpus: expected a count or distinct device ids like 0,1,3 (got {spec!r})"
        )
    return devices


def agent_argv(sweep_path: str, extra: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "opensweep", "agent", sweep_path, *extra]


def run_per_gpu(sweep_path: str, devices: Sequence[str], extra: Sequence[str]) -> int:
    """Start one agent per device and wait for all; Ctrl-C/SIGTERM reach every agent.

    Returns the worst exit code, so a launcher script fails when an agent failed.
    """
    procs: list[subprocess.Popen[bytes]] = []
    for device in devices:
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": device, "OPENSWEEP_DEVICE": device}
        procs.append(subprocess.Popen(agent_argv(sweep_path, extra), env=env))

    def forward(signum: int, _frame: object) -> None:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while any(p.poll() is None for p in procs):
            time.sleep(0.2)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return max((p.returncode or 0) for p in procs)
