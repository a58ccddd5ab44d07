"""A command-mode program that logs one row and then hangs (its agent gets kill -9)."""

import time

import opensweep

run = opensweep.init()
opensweep.log({"loss": 1.0})
run.flush()
time.sleep(3600)
