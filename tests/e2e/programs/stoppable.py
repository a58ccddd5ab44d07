"""A curve that hyperband should stop: bad configs stay bad. Catches Exception on purpose."""

import time

import opensweep

run = opensweep.init()
quality = float(opensweep.config.quality)
for step in range(60):
    try:  # noqa: SIM105 - the broad handler is the point of this program
        opensweep.log({"loss": quality + 1.0 / (step + 1)})
    except Exception:  # a user's broad handler must not swallow the stop
        pass
    time.sleep(0.05)
run.finish()
