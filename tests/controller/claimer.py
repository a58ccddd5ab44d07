"""A claiming agent for the concurrency test: claims and finishes runs until none are left.

Usage: python claimer.py URL SWEEP_ID AGENT_ID GO_FILE. Touches GO_FILE.AGENT_ID.ready, waits for
GO_FILE so that every process starts claiming at once, then prints one JSON config per claimed run.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from opensweep.client.local import LocalClient


def main() -> None:
    url, sweep_id, agent_id, go_file = sys.argv[1:5]
    client = LocalClient(url)
    Path(f"{go_file}.{agent_id}.ready").touch()
    deadline = time.monotonic() + 60
    while not Path(go_file).exists():
        if time.monotonic() > deadline:
            raise SystemExit("no go signal")
        time.sleep(0.005)
    try:
        while (run := client.next_run(sweep_id, agent_id)) is not None:
            print(json.dumps(dict(run.config), sort_keys=True), flush=True)
            client.finish_run(run.id, exit_code=0)
    finally:
        client.close()


if __name__ == "__main__":
    main()
