#!/usr/bin/env bash
# api: wrk against the REST API with N devices registered while their telemetry flows:
# GET /api/v1/devices/{id} and a filtered page of GET /api/v1/devices. Reports requests/s and
# p50/p99/p99.9. Target (issue 3): 20,000 req/s and p99 under 10 ms for the single device.
# Issue 5: the single device again with a session cookie and a bearer session token beside the
# API key (target: no credential's p99 more than 1 ms above the key's), /healthz (no
# credential at all) for scale, and the latency of a login (Argon2id, m=19 MiB, t=2, p=1).
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

# A user to log in as, and its sessions: a cookie one and a bearer one.
PASSWORD=$(sed -n 's/^password: //p' "$TMP/control/admin-credentials")
login() {  # mode → the session token
  python3 - "$URL/api/v1/auth/login" "$PASSWORD" "$1" <<'PY'
import json, sys, urllib.request
body = json.dumps({"username": "admin", "password": sys.argv[2], "mode": sys.argv[3]}).encode()
req = urllib.request.Request(sys.argv[1], data=body, headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=10) as r:
    reply = json.load(r)
    if sys.argv[3] == "token":
        print(reply["token"])
    else:
        print(r.headers["Set-Cookie"].split(";")[0])
PY
}
COOKIE=$(login cookie)
TOKEN=$(login token)

run_wrk() {  # path [header]
  wrk -t 1 -c "$CONNECTIONS" -d "${SECONDS_EACH}s" -H "${2:-Authorization: Bearer $KEY}" \
    -s "$ROOT/bench/lib/percentiles.lua" "$URL$1" | grep '^hecs-wrk:'
}
field() { sed -nE "s/.* $1=([0-9.]+).*/\\1/p" <<<"$2"; }

ONE=$(run_wrk "/api/v1/devices/$DEVICE")
PAGE=$(run_wrk "/api/v1/devices?online=true&q=sim-00&limit=50")
HEALTH=$(run_wrk "/healthz" "X-None: 1")
echo "$ONE"; echo "$PAGE"; echo "$HEALTH"

# The three credentials on the same route, interleaved in ROUNDS rounds of SECONDS_EACH/2 s
# each and in a rotating order, so that the machine's drift hits them alike; medians of the
# rounds.
ROUNDS=${HECS_BENCH_AUTH_ROUNDS:-5}
declare -A RPS P99
CREDS=(key cookie token)
for round in $(seq 1 "$ROUNDS"); do
  # Each round starts with another credential: the last of a round ran slower in every round
  # of a first version of this loop, whichever credential it was.
  for i in 0 1 2; do
    cred=${CREDS[$(( (round + i) % 3 ))]}
    case $cred in
      key) header="Authorization: Bearer $KEY" ;;
      cookie) header="Cookie: $COOKIE" ;;
      token) header="Authorization: Bearer $TOKEN" ;;
    esac
    out=$(wrk -t 1 -c "$CONNECTIONS" -d "$(( (SECONDS_EACH + 1) / 2 ))s" -H "$header" \
      -s "$ROOT/bench/lib/percentiles.lua" "$URL/api/v1/devices/$DEVICE" | grep '^hecs-wrk:')
    echo "$cred: $out"
    [[ $(sed -nE 's/.* non2xx=([0-9]+).*/\1/p' <<<"$out") == 0 ]] || { echo "non-2xx answers" >&2; exit 1; }
    RPS[$cred]+="$(sed -nE 's/.* rps=([0-9.]+).*/\1/p' <<<"$out") "
    P99[$cred]+="$(sed -nE 's/.* p99=([0-9.]+).*/\1/p' <<<"$out") "
  done
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# Logins one after the other: each is one Argon2id verification (and a session written).
LOGIN=$(python3 - "$URL/api/v1/auth/login" "$PASSWORD" <<'PY'
import json, statistics, sys, time, urllib.request
body = json.dumps({"username": "admin", "password": sys.argv[2], "mode": "token"}).encode()
times = []
for _ in range(30):
    req = urllib.request.Request(sys.argv[1], data=body, headers={"Content-Type": "application/json"})
    t0 = time.perf_counter()
    urllib.request.urlopen(req, timeout=10).read()
    times.append((time.perf_counter() - t0) * 1000)
times.sort()
print(f"median={statistics.median(times):.1f} p90={times[26]:.1f} max={times[-1]:.1f}")
PY
)
echo "login: $LOGIN"

TABLE=$(cat <<EOT
| endpoint | requests/s | p50 ms | p99 ms | p99.9 ms | errors / non-2xx |
|---|---|---|---|---|---|
| GET /api/v1/devices/{id} (target 20,000 req/s, p99 < 10 ms) | $(field rps "$ONE") | $(field p50 "$ONE") | $(field p99 "$ONE") | $(field p999 "$ONE") | $(field errors "$ONE") / $(field non2xx "$ONE") |
| GET /api/v1/devices?online=true&q=sim-00&limit=50 | $(field rps "$PAGE") | $(field p50 "$PAGE") | $(field p99 "$PAGE") | $(field p999 "$PAGE") | $(field errors "$PAGE") / $(field non2xx "$PAGE") |
| GET /healthz, no credential | $(field rps "$HEALTH") | $(field p50 "$HEALTH") | $(field p99 "$HEALTH") | $(field p999 "$HEALTH") | $(field errors "$HEALTH") / $(field non2xx "$HEALTH") |

GET /api/v1/devices/{id} by credential, $ROUNDS interleaved rounds of $(( (SECONDS_EACH + 1) / 2 )) s (target: no p99 more than 1 ms above the API key's):

| credential | median requests/s | median p99 ms | p99 of each round, ms |
|---|---|---|---|
| API key | $(median "${RPS[key]}") | $(median "${P99[key]}") | ${P99[key]} |
| session cookie | $(median "${RPS[cookie]}") | $(median "${P99[cookie]}") | ${P99[cookie]} |
| bearer session token | $(median "${RPS[token]}") | $(median "${P99[token]}") | ${P99[token]} |

Login (POST /api/v1/auth/login, Argon2id m=19 MiB t=2 p=1, 30 in a row, ms): $LOGIN
EOT
)
echo "$TABLE"
append_results "api" \
  "BIN=$BIN HECS_BENCH_AGENTS=$AGENTS HECS_BENCH_WRK_SECONDS=$SECONDS_EACH bench/api.sh" \
  "private Mosquitto, hecs-control (defaults: SQLite, one worker per core) with $AGENTS devices registered by hecs-sim, whose telemetry (every 10 s) keeps flowing; wrk, 1 thread, $CONNECTIONS connections, ${SECONDS_EACH} s per endpoint, with a bearer key; everything on this machine's 2 cores, so wrk and hecs-sim take CPU from hecs-control. Single reading." \
  "$TABLE"
