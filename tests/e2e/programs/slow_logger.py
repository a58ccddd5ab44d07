"""Logs one row every 50 ms, flushing as it goes, until killed (for kill -9 tests)."""

import time

import opensweep

run = opensweep.init()
for step in range(100_000):
    opensweep.log({"loss": 1.0 / (step + 1)})
    time.sleep(0.05)
