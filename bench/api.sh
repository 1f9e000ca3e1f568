#!/usr/bin/env bash
# api: wrk against the REST API with N devices registered while their telemetry flows:
# GET /api/v1/devices/{id} and a filtered page of GET /api/v1/devices. Reports requests/s and
# p50/p99/p99.9. Target (issue 3): 20,000 req/s and p99 under 10 ms for the single device.
#   BIN=<dir with hecs-control, hecs-sim>      default: build/bin
#   HECS_BENCH_AGENTS=<n>                      default: 10000
#   HECS_BENCH_WRK_SECONDS=<n>                 per endpoint, default 20
#   HECS_BENCH_WRK_CONNECTIONS=<n>             wrk connections, default 32
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BIN=${BIN:-build/bin}
AGENTS=${HECS_BENCH_AGENTS:-10000}
SECONDS_EACH=${HECS_BENCH_WRK_SECONDS:-20}
CONNECTIONS=${HECS_BENCH_WRK_CONNECTIONS:-32}
RESULTS=$ROOT/bench/RESULTS.md
for b in hecs-control hecs-sim; do
  [[ -x $BIN/$b ]] || { echo "missing $BIN/$b (set BIN=)" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "missing wrk (scripts/install-deps.sh installs it)" >&2; exit 2; }

# shellcheck source=bench/lib/common.bash
source "$ROOT/bench/lib/common.bash"
start_mosquitto
start_control
start_sim_fleet "$AGENTS" 10
for _ in $(seq 1 100); do
  (( $(control_metric hecs_devices) >= AGENTS )) && break
  sleep 0.2
done
KEY=$(grep '^hecs_' "$TMP/control/admin-credentials")
URL="http://127.0.0.1:$HTTP_PORT"
DEVICE=$(python3 - "$URL/api/v1/devices?limit=1" "$KEY" <<'PY'
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
print(json.load(urllib.request.urlopen(req, timeout=5))["items"][0]["id"])
PY
)

run_wrk() {  # path
  wrk -t 1 -c "$CONNECTIONS" -d "${SECONDS_EACH}s" -H "Authorization: Bearer $KEY" \
    -s "$ROOT/bench/lib/percentiles.lua" "$URL$1" | grep '^hecs-wrk:'
}
field() { sed -nE "s/.* $1=([0-9.]+).*/\\1/p" <<<"$2"; }

ONE=$(run_wrk "/api/v1/devices/$DEVICE")
PAGE=$(run_wrk "/api/v1/devices?online=true&q=sim-00&limit=50")
echo "$ONE"; echo "$PAGE"

TABLE=$(cat <<EOT
| endpoint | requests/s | p50 ms | p99 ms | p99.9 ms | errors / non-2xx |
|---|---|---|---|---|---|
| GET /api/v1/devices/{id} (target 20,000 req/s, p99 < 10 ms) | $(field rps "$ONE") | $(field p50 "$ONE") | $(field p99 "$ONE") | $(field p999 "$ONE") | $(field errors "$ONE") / $(field non2xx "$ONE") |
| GET /api/v1/devices?online=true&q=sim-00&limit=50 | $(field rps "$PAGE") | $(field p50 "$PAGE") | $(field p99 "$PAGE") | $(field p999 "$PAGE") | $(field errors "$PAGE") / $(field non2xx "$PAGE") |
EOT
)
echo "$TABLE"
append_results "api" \
  "BIN=$BIN HECS_BENCH_AGENTS=$AGENTS HECS_BENCH_WRK_SECONDS=$SECONDS_EACH bench/api.sh" \
  "private Mosquitto, hecs-control (defaults: SQLite, one worker per core) with $AGENTS devices registered by hecs-sim, whose telemetry (every 10 s) keeps flowing; wrk, 1 thread, $CONNECTIONS connections, ${SECONDS_EACH} s per endpoint, with a bearer key; everything on this machine's 2 cores, so wrk and hecs-sim take CPU from hecs-control. Single reading." \
  "$TABLE"
