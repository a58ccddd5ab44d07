#!/usr/bin/env bash
# The demo behind `make demo`: one sweep, two agent processes sharing one SQLite file.
set -euo pipefail
cd "$(dirname "$0")"
export OPENSWEEP_URL="sqlite:///$PWD/opensweep.db"

echo "== creating the sweep (sweep.yaml) on $OPENSWEEP_URL"
SWEEP_ID=$(opensweep sweep sweep.yaml --id-only)
echo "   sweep id: $SWEEP_ID"

echo "== two agents in parallel"
opensweep agent "$SWEEP_ID" --quiet --heartbeat-interval 2 &
first=$!
opensweep agent "$SWEEP_ID" --quiet --heartbeat-interval 2 &
second=$!
trap 'kill $first $second 2>/dev/null || true' INT TERM
wait "$first" "$second"

echo "== results"
opensweep show "$SWEEP_ID" --top 10
