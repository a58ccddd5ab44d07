"""How a run ended, as the agent records it."""

from __future__ import annotations

from typing import NamedTuple

from opensweep.core.model import Run, RunState
from opensweep.sdk.writer import LentRows


class Outcome(NamedTuple):
    """What ``finish_run`` is told (state, exit code, error) and, in function mode, what the
    user's function left: its last rows, to write with the end, or the run already ended by
    its ``finish()``."""

    state: RunState | None
    exit_code: int | None
    error: str | None
    last_rows: LentRows | None = None
    ended: Run | None = None
