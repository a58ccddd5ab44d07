"""An agent process in function mode: ``function_agent.py SWEEP_ID ROWS DELAY``.

Each trial logs ROWS rows (steps 0..ROWS-1), DELAY seconds apart, through the SDK. With
``HANG_AFTER_FIRST_ROW=1`` the first trial hangs after one row (to be killed with -9).
"""

import os
import sys
import time

import opensweep

sweep_id, rows, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
hang = os.environ.get("HANG_AFTER_FIRST_ROW") == "1"


def train() -> None:
    run = opensweep.init()
    for step in range(rows):
        opensweep.log({"loss": float(opensweep.config.x) + 1.0 / (step + 1), "i": step})
        if hang:
            run.flush()
            time.sleep(3600)
        if delay:
            time.sleep(delay)
    run.finish()


opensweep.agent(sweep_id, function=train)
