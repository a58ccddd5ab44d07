"""Processes that must not outlive the process that started them (Linux ``PR_SET_PDEATHSIG``).

A training command the agent started, or a worker of ``opensweep server --workers N``, left
running after its parent was killed with ``kill -9`` holds a GPU, or keeps serving the port a
restarted server wants. Elsewhere this does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL, *, parent_pid: int | None = None) -> None:
    """Ask the kernel to send ``sig`` to this process when its parent dies.

    ``parent_pid``: the parent this process should have; if it is already gone (it died
    before this call, so the kernel will never signal), exit now.
    """
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, int(sig))
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)
