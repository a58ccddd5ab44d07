"""Logs which device the agent gave this run (CUDA_VISIBLE_DEVICES)."""

import os

import opensweep

run = opensweep.init()
opensweep.log({"device": int(os.environ["CUDA_VISIBLE_DEVICES"]), "loss": opensweep.config.x})
run.finish()
