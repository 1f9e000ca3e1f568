# Shared by the scripts in bench/ (sourced, not run): a temp dir whose processes are stopped on
# exit, helpers to pick ports, wait for servers, read /proc, start the servers, and append a
# section to bench/RESULTS.md. The caller sets ROOT, BIN and RESULTS first.
# shellcheck shell=bash

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hecs-bench.XXXXXX")
PIDS=()
CLEANUP_HOOKS=()  # functions run after PIDS are stopped (a script's own namespaces, servers)
cleanup() {
  local rc=$? hook
  trap - EXIT INT TERM
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  for hook in "${CLEANUP_HOOKS[@]}"; do "$hook" || true; done
  if [[ $rc -ne 0 ]]; then
    echo "$(basename "$0") failed (rc=$rc); last log lines:" >&2
    for f in "$TMP"/*.log; do [[ -f $f ]] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }; done
  fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
wait_tcp() {  # port timeout_s
  python3 - "$1" "$2" <<'PY'
import socket, sys, time
port, deadline = int(sys.argv[1]), time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close(); sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
PY
}
wait_http() {  # url timeout_s (https:// verified with $CA_FILE)
  python3 - "$1" "$2" "${CA_FILE:-}" <<'PY'
import ssl, sys, time, urllib.request
url, deadline = sys.argv[1], time.time() + float(sys.argv[2])
ctx = ssl.create_default_context(cafile=sys.argv[3]) if url.startswith("https:") else None
while time.time() < deadline:
    try:
        with urllib.request.urlopen(url, timeout=1, context=ctx) as r:
            if r.status == 200: sys.exit(0)
    except Exception:
        pass
    time.sleep(0.2)
sys.exit(1)
PY
}
alive() { kill -0 "$1" 2>/dev/null || { echo "$2 exited early" >&2; exit 1; }; }

# Connection requests the kernel dropped because a listener's accept queue was full (TcpExt
# ListenDrops, whole machine): each costs its client a SYN retransmission, 1 s then doubling.
listen_drops() {
  awk '$1 == "TcpExt:" { if (!n) { for (i = 2; i <= NF; i++) if ($i == "ListenDrops") c = i; n = 1 } else print $c }' /proc/net/netstat
}

# kB fields from smaps_rollup / status
smaps_kb() { awk -v k="$2:" '$1==k {print $2}' "/proc/$1/smaps_rollup"; }
status_kb() { awk -v k="$2:" '$1==k {print $2}' "/proc/$1/status"; }
# utime+stime in clock ticks (fields 14,15; strip "pid (comm)" first, comm may hold spaces)
cpu_ticks() { sed -E 's/^.*\) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k/1024}'; }

# A private Mosquitto on a free loopback port, no persistence; sets MQTT_PORT, MOSQUITTO_PID.
start_mosquitto() {
  MQTT_PORT=$(free_port)
  printf '%s\n' "listener $MQTT_PORT 127.0.0.1" "allow_anonymous true" "persistence false" \
    "max_queued_messages 100000" "log_dest stderr" >"$TMP/mosquitto.conf"
  mosquitto -c "$TMP/mosquitto.conf" >"$TMP/mosquitto.log" 2>&1 &
  MOSQUITTO_PID=$!
  PIDS+=("$MOSQUITTO_PID")
  wait_tcp "$MQTT_PORT" 10 || { echo "mosquitto did not listen on $MQTT_PORT" >&2; exit 1; }
}

# hecs-control on SQLite in the temp dir, plain HTTP and MQTT, extra flags passed on; sets
# HTTP_PORT, CONTROL_PID.
start_control() {
  HTTP_PORT=$(free_port)
  mkdir -p "$TMP/control"
  "$BIN/hecs-control" --data-dir "$TMP/control" --http-listen "127.0.0.1:$HTTP_PORT" \
    --http-plain --mqtt-url "mqtt://127.0.0.1:$MQTT_PORT" "$@" >"$TMP/control.log" 2>&1 &
  CONTROL_PID=$!
  PIDS+=("$CONTROL_PID")
  wait_http "http://127.0.0.1:$HTTP_PORT/healthz" 20 || { echo "hecs-control not healthy" >&2; exit 1; }
}

# The secured set-up of DESIGN §3, as tests/support/hecs.cpp Control::start_secure() makes it,
# in $TMP/$1 (default secure): hecs-control writes its keys and Mosquitto's configuration
# (--init-only: mTLS only, ACL, CRL), Mosquitto starts from it, then hecs-control (SQLite, HTTPS)
# connects over mTLS; extra flags go to hecs-control. Sets MQTT_PORT, HTTP_PORT, MOSQUITTO_PID,
# CONTROL_PID, CONTROL_DIR, CONTROL_URL (https://localhost:port), CA_FILE (the CA of both the
# REST API and the broker), MQTTS_URL and ADMIN_KEY.
start_secure_control() {
  local name=${1:-secure}
  shift || true
  MQTT_PORT=$(free_port)
  HTTP_PORT=$(free_port)
  CONTROL_DIR=$TMP/$name
  mkdir -p "$CONTROL_DIR"
  # shellcheck disable=SC2054  # the comma is the value's (--tls-names a,b)
  local common=(--data-dir "$CONTROL_DIR" --broker-listen "127.0.0.1:$MQTT_PORT"
                --broker-user "$(id -un)" --tls-names localhost,127.0.0.1)
  "$BIN/hecs-control" "${common[@]}" --init-only >"$TMP/$name-init.log" 2>&1 \
    || { echo "hecs-control --init-only failed" >&2; cat "$TMP/$name-init.log" >&2; exit 1; }
  mosquitto -c "$CONTROL_DIR/broker/mosquitto.conf" >"$TMP/$name-mosquitto.log" 2>&1 &
  MOSQUITTO_PID=$!
  PIDS+=("$MOSQUITTO_PID")
  wait_tcp "$MQTT_PORT" 10 || { echo "mosquitto did not listen on $MQTT_PORT" >&2; exit 1; }
  MQTTS_URL=mqtts://localhost:$MQTT_PORT
  CONTROL_URL=https://localhost:$HTTP_PORT
  CA_FILE=$CONTROL_DIR/pki/ca.pem
  "$BIN/hecs-control" "${common[@]}" --mqtt-url "$MQTTS_URL" \
    --http-listen "127.0.0.1:$HTTP_PORT" "$@" >"$TMP/$name-control.log" 2>&1 &
  CONTROL_PID=$!
  PIDS+=("$CONTROL_PID")
  wait_http "$CONTROL_URL/healthz" 30 || { echo "hecs-control not healthy" >&2; exit 1; }
  ADMIN_KEY=$(grep '^hecs_' "$CONTROL_DIR/admin-credentials" | tail -n 1)
}

# Stops some of our processes now (and forgets them, so the exit trap never signals a reused
# pid): SIGTERM, 10 s, then SIGKILL. Also used by bench/lib/ingest.bash.
stop_pids() {
  local p q keep=()
  for p in "$@"; do kill "$p" 2>/dev/null || true; done
  for p in "$@"; do
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  for q in "${PIDS[@]}"; do
    for p in "$@"; do [[ $q == "$p" ]] && continue 2; done
    keep+=("$q")
  done
  PIDS=("${keep[@]}")
}

# An auto-approved enrolment token for $1 devices (an hour), from the secured control plane.
enrollment_token() {
  python3 - "$CONTROL_URL/api/v1/enrollment-tokens" "$CA_FILE" "$ADMIN_KEY" "$1" <<'PY'
import json, ssl, sys, urllib.request
url, ca, key, uses = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
body = json.dumps({"auto_approve": True, "max_uses": uses, "expires_in_s": 3600}).encode()
req = urllib.request.Request(url, body, {"Authorization": "Bearer " + key,
                                         "Content-Type": "application/json"})
ctx = ssl.create_default_context(cafile=ca)
print(json.load(urllib.request.urlopen(req, timeout=10, context=ctx))["token"])
PY
}

# The summary field $2 of hecs-sim's log $1 ("" when absent).
sim_field() { sed -nE "s/.*hecs-sim summary:.* $2=([-0-9.]+).*/\1/p" "$1" | tail -n 1; }

# One unlabelled series of hecs-control's /metrics (0 when absent); over HTTPS with $CA_FILE
# when CONTROL_URL is set (start_secure_control).
control_metric() {
  python3 - "${CONTROL_URL:-http://127.0.0.1:$HTTP_PORT}/metrics" "$1" "${CA_FILE:-}" <<'PY'
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[3]) if sys.argv[3] else None
text = urllib.request.urlopen(sys.argv[1], timeout=5, context=ctx).read().decode()
for line in text.splitlines():
    if line.startswith(sys.argv[2] + " "):
        print(int(float(line.split()[1]))); break
else:
    print(0)
PY
}

# Appends "## <title> — <date>" with commit, machine, command, setup text and table.
append_results() {  # title command setup table
  local commit cpu_model how
  commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  if [[ $commit != unknown && -n $(git status --porcelain 2>/dev/null) ]]; then commit="$commit-dirty"; fi
  cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
  if [[ ${MAKELEVEL:-} ]]; then how="make bench"; else how="$(basename "$0")"; fi
  if [[ ! -f $RESULTS ]]; then
    printf '%s\n' "# HECS benchmark results" "" \
      "Figures appended by the scripts in \`bench/\` (run them with \`make bench\`), newest last." \
      "Each section records the commit, machine and exact command. Compare figures only within" \
      "one run (same machine, same session), and prefer medians over single readings." >"$RESULTS"
  fi
  {
    printf '\n## %s — %s\n\n' "$1" "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    printf -- '- commit: `%s`\n' "$commit"
    printf -- '- machine: %s CPU(s), %s, kernel %s; load average at end %s\n' "$(nproc)" \
      "$cpu_model" "$(uname -r)" "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf -- '- command: `%s` (`%s`, from the repo root)\n' "$how" "$2"
    printf -- '- setup: %s\n\n%s\n' "$3" "$4"
  } >>"$RESULTS"
  echo "appended to $RESULTS"
}

# How many hecs-sim processes $1 agents need: Mosquitto and hecs-sim each hold one descriptor
# per agent (hecs-sim 20 more of its own, and SIM_EXTRA_FDS for enrolment): the soft limit goes
# up to the hard one, and the fleet is split over as many processes as that limit requires
# (one, below the broker's own ceiling). Sets SIMS.
plan_sim_fleet() {
  local agents=$1 limit per_sim
  ulimit -n "$(ulimit -Hn)"
  limit=$(ulimit -n)
  if (( agents + 200 > limit )); then
    echo "$agents agents: Mosquitto would need more than the $limit descriptors allowed" >&2
    exit 2
  fi
  per_sim=$(( limit - 20 - ${SIM_EXTRA_FDS:-0} ))
  SIMS=$(( (agents + per_sim - 1) / per_sim ))
}

# Starts AGENTS simulated agents (telemetry every INTERVAL s) and waits until all are connected,
# split over processes as plan_sim_fleet says. Plain MQTT to $MQTT_PORT unless SIM_MQTT_URL is
# set; SIM_ARGS (an array) goes to every hecs-sim (--ca-file, --state-dir for mTLS); logs are
# $TMP/${SIM_LOG:-sim}-<i>.log. Sets SIM_PIDS, SIMS and CONNECT_S (the slowest process's time
# to connect its agents).
start_sim_fleet() {  # agents interval
  local agents=$1 interval=$2 i first next t log
  plan_sim_fleet "$agents"
  SIM_PIDS=()
  for (( i = 0; i < SIMS; i++ )); do
    first=$(( i * agents / SIMS )); next=$(( (i + 1) * agents / SIMS ))
    "$BIN/hecs-sim" --count $(( next - first )) --first-index "$first" --interval "$interval" \
      --ramp $(( 2000 / SIMS )) --seed 1 --mqtt-url "${SIM_MQTT_URL:-mqtt://127.0.0.1:$MQTT_PORT}" \
      --log-level error ${SIM_ARGS[@]+"${SIM_ARGS[@]}"} >"$TMP/${SIM_LOG:-sim}-$i.log" 2>&1 &
    SIM_PIDS+=($!)
    PIDS+=($!)
  done
  CONNECT_S=0
  for (( i = 0; i < SIMS; i++ )); do
    log=$TMP/${SIM_LOG:-sim}-$i.log
    for _ in $(seq 1 300); do
      grep -q "agents connected in" "$log" && break
      alive "${SIM_PIDS[$i]}" hecs-sim
      sleep 0.5
    done
    t=$(sed -nE "s/.*agents connected in ([0-9.]+) s.*/\1/p" "$log")
    [[ -n $t ]] || { echo "hecs-sim $i did not connect all its agents in 150 s" >&2; exit 1; }
    CONNECT_S=$(awk -v a="$CONNECT_S" -v b="$t" 'BEGIN {print (b > a) ? b : a}')
  done
  echo "all $agents agents connected in $CONNECT_S s ($SIMS hecs-sim processes)"
}
