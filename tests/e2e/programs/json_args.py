"""A command-mode program that takes its parameters as one JSON argument (${args_json})."""

import json
import sys

import opensweep as wandb

params = json.loads(sys.argv[sys.argv.index("--cfg") + 1])
run = wandb.init()
wandb.log({"loss": params["a"] * 10 + len(params["opt"])})
run.finish()
