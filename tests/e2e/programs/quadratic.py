"""A command-mode program: reads --x=... --y=... like a W&B script and logs a metric."""

import argparse

import opensweep as wandb

parser = argparse.ArgumentParser()
parser.add_argument("--x", type=float, required=True)
parser.add_argument("--y", type=int, default=0)
parser.add_argument("--epochs", type=int, default=3)
args = parser.parse_args()

run = wandb.init()
assert wandb.config.x == args.x  # the params file and the argv agree
for epoch in range(args.epochs):
    wandb.log({"epoch": epoch, "loss": (args.x - 0.3) ** 2 + args.y + 1.0 / (epoch + 1)})
run.finish()
