"""Runs inside out/wandb-venv (W&B's `sweeps`): answers hyperband_stop_runs over stdin/stdout.

One JSON object per line in: {"config": {...}, "runs": [{"name", "state", "values"}]}.
One JSON line out: {"stop": [names]}. Only the standard library and `sweeps` are imported.
"""

from __future__ import annotations

import json
import sys

from sweeps import RunState, SweepRun
from sweeps.hyperband_stopping import hyperband_stop_runs


def main() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        metric = request["config"]["metric"]["name"]
        runs = [
            SweepRun(
                name=r["name"],
                state=RunState(r["state"]),
                history=[{metric: v} for v in r["values"]],
            )
            for r in request["runs"]
        ]
        stop = [run.name for run in hyperband_stop_runs(runs, request["config"])]
        sys.stdout.write(json.dumps({"stop": stop}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
