"""CPU per trial through ``opensweep server`` on PostgreSQL, by process: the server, the PostgreSQL
backends and the agents. On a machine whose cores all the processes of a trial share, CPU per
trial says more than trials/s, which moves with whatever else runs.

    .venv/bin/python benchmarks/system/cpu_per_trial.py [--trials 3000] [--agents 4] [--client-loop]

To compare two commits, run it alternately with ``PYTHONPATH=<other checkout>/src`` (the server
and the agents inherit it). Reads /proc (Linux). PostgreSQL CPU counts every ``postgres``
process, background ones included.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench  # this directory's benchmark helpers

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pattern: str) -> float:
    """User + system CPU of the live processes whose command line matches ``pattern``."""
    pids = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout
    total = 0.0
    for pid in pids.split():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # ended meanwhile
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=3000)
    parser.add_argument("--agents", type=int, default=4)
    parser.add_argument(
        "--client-loop", action="store_true", help="the bare Client loop instead of the agent"
    )
    args = parser.parse_args()
    with bench.pg_schema(bench.DEFAULT_PG) as url, bench.opensweep_server(url) as server:
        before = cpu_seconds("opensweep server"), cpu_seconds("^postgres"), os.times()
        rate = bench.opensweep_trials(
            server,
            args.agents,
            args.trials,
            {"OPENSWEEP_TOKEN": bench.TOKEN},
            "opensweep-client-trials" if args.client_loop else "opensweep-trials",
        )
        after = cpu_seconds("opensweep server"), cpu_seconds("^postgres"), os.times()
    agents = sum(after[2][2:4]) - sum(before[2][2:4])  # children's user + system
    per_trial = [1000 * (after[i] - before[i]) / args.trials for i in (0, 1)]
    print(
        f"{args.agents} agents: {rate:.1f} trials/s; CPU per trial: server {per_trial[0]:.2f} ms, "
        f"PostgreSQL {per_trial[1]:.2f} ms, agents {1000 * agents / args.trials:.2f} ms "
        f"(load {os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
