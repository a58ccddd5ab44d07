"""Records with every field set (and a NaN, an infinity), for codec tests on each side."""

from __future__ import annotations

import math

from opensweep.core.model import Run, RunState, Sweep, SweepState

FULL_RUN = Run(
    id="r1",
    name="run",
    config={"lr": 0.1, "n": 3, "x": [math.inf]},
    state=RunState.STOPPED,
    created_at=10.0,
    sweep_id="s1",
    updated_at=11.5,
    project="p",
    entity="e",
    agent_id="a",
    heartbeat_at=10.5,
    finished_at=12.0,
    exit_code=-9,
    stop_reason="hyperband",
    error="tb",
    notes="grid",
    summary={"loss": math.nan, "acc": 0.5},
    last_seq=7,
    seed=123,
)
FULL_SWEEP = Sweep(
    id="s1",
    name="sw",
    config={"method": "grid", "v": -math.inf},
    state=SweepState.PAUSED,
    seed=42,
    created_at=1.5,
    updated_at=2.25,
    project="p",
    entity=None,
)
