"""An agent process in function mode: `python function_agent.py SWEEP_ID [COUNT]`."""

import sys
import time

import opensweep


def train() -> None:
    run = opensweep.init()
    cfg = opensweep.config
    value = sum(float(v) for v in dict(cfg).values() if isinstance(v, int | float))
    for step in range(3):
        opensweep.log({"loss": value + step})
        time.sleep(0.01)
    run.finish()


count = int(sys.argv[2]) if len(sys.argv) > 2 else None
opensweep.agent(sys.argv[1], function=train, count=count)
