"""Several OS processes claim from one sweep at once: every grid point is handed out once."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from opensweep.client.local import LocalClient
from opensweep.core.model import RunState, SweepState

CLAIMER = Path(__file__).with_name("claimer.py")
PROCESSES = 4

pytestmark = pytest.mark.slow  # real OS processes


def test_processes_sharing_a_store_get_each_grid_point_once(store_url: str, tmp_path: Path) -> None:
    config = {
        "method": "grid",
        "parameters": {
            "a": {"values": [1, 2, 3, 4]},
            "b": {"values": ["x", "y", "z"]},
            "c": {"values": [True, False]},
        },
    }
    with LocalClient(store_url) as client:
        sweep = client.create_sweep(config)
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, str(CLAIMER), store_url, sweep.id, f"agent-{i}", str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(PROCESSES)
    ]
    try:
        deadline = time.monotonic() + 120
        while len(list(tmp_path.glob("go.*.ready"))) < PROCESSES:
            assert time.monotonic() < deadline, "the claiming processes did not start"
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            time.sleep(0.01)
        go.touch()
        outputs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
    claimed = [json.loads(line) for out, _ in outputs for line in out.splitlines() if line.strip()]
    points = sorted((c["a"], c["b"], c["c"]) for c in claimed)
    assert points == sorted(itertools.product([1, 2, 3, 4], ["x", "y", "z"], [True, False]))
    with LocalClient(store_url) as client:
        runs = client.list_runs(sweep.id)
        assert len(runs) == 24
        assert {r.state for r in runs} == {RunState.FINISHED}
        assert client.get_sweep(sweep.id).state is SweepState.FINISHED
