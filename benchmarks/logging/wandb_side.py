"""The W&B side: ``wandb.log`` in offline mode, timed like opensweep's. Prints one JSON line.

Runs in the virtualenv from requirements.txt (see RESULTS.md): ``python wandb_side.py N DIR``.
"""

from __future__ import annotations

import json
import os
import sys
import time

from measure import time_calls, timer_overhead_ns


def main() -> None:
    n, out_dir = int(sys.argv[1]), sys.argv[2]
    os.environ.update(WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DIR=out_dir)
    import wandb

    started = time.perf_counter()
    run = wandb.init(project="logging-bench", dir=out_dir, mode="offline")
    init_s = time.perf_counter() - started
    result = time_calls(run.log, n)
    t0 = time.perf_counter()
    run.finish()
    finish_s = time.perf_counter() - t0
    total = result["calls"] + 1_000  # warmup rows are written too
    result.update(
        name=f"wandb {wandb.__version__} offline",
        init_s=init_s,
        finish_s=finish_s,
        rows_per_s=total / (result["loop_s"] + finish_s),
        timer_overhead_ns=timer_overhead_ns(),
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
