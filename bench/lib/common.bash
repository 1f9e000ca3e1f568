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
wait_http() {  # url timeout_s
  python3 - "$1" "$2" <<'PY'
import sys, time, urllib.request
url, deadline = sys.argv[1], time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            if r.status == 200: sys.exit(0)
    except Exception:
        pass
    time.sleep(0.2)
sys.exit(1)
PY
}
alive() { kill -0 "$1" 2>/dev/null || { echo "$2 exited early" >&2; exit 1; }; }

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

# hecs-control on SQLite in the temp dir, extra flags passed on; sets HTTP_PORT, CONTROL_PID.
start_control() {
  HTTP_PORT=$(free_port)
  mkdir -p "$TMP/control"
  "$BIN/hecs-control" --data-dir "$TMP/control" --http-listen "127.0.0.1:$HTTP_PORT" \
    --mqtt-url "mqtt://127.0.0.1:$MQTT_PORT" "$@" >"$TMP/control.log" 2>&1 &
  CONTROL_PID=$!
  PIDS+=("$CONTROL_PID")
  wait_http "http://127.0.0.1:$HTTP_PORT/healthz" 20 || { echo "hecs-control not healthy" >&2; exit 1; }
}

# One unlabelled series of hecs-control's /metrics (0 when absent).
control_metric() {
  python3 - "http://127.0.0.1:$HTTP_PORT/metrics" "$1" <<'PY'
import sys, urllib.request
text = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
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

# Starts AGENTS simulated agents (telemetry every INTERVAL s) and waits until all are connected.
# Mosquitto and hecs-sim each hold one descriptor per agent (hecs-sim needs 20 more of its own):
# the soft limit goes up to the hard one, and the fleet is split over as many hecs-sim processes
# as that limit requires (one, below the broker's own ceiling). Sets SIM_PIDS, SIMS and
# CONNECT_S (the slowest process's time to connect its agents).
start_sim_fleet() {  # agents interval
  local agents=$1 interval=$2 limit per_sim i first next t
  ulimit -n "$(ulimit -Hn)"
  limit=$(ulimit -n)
  if (( agents + 200 > limit )); then
    echo "$agents agents: Mosquitto would need more than the $limit descriptors allowed" >&2
    exit 2
  fi
  per_sim=$(( limit - 20 ))
  SIMS=$(( (agents + per_sim - 1) / per_sim ))
  SIM_PIDS=()
  for (( i = 0; i < SIMS; i++ )); do
    first=$(( i * agents / SIMS )); next=$(( (i + 1) * agents / SIMS ))
    "$BIN/hecs-sim" --count $(( next - first )) --first-index "$first" --interval "$interval" \
      --ramp $(( 2000 / SIMS )) --seed 1 --mqtt-url "mqtt://127.0.0.1:$MQTT_PORT" \
      --log-level error >"$TMP/sim-$i.log" 2>&1 &
    SIM_PIDS+=($!)
    PIDS+=($!)
  done
  CONNECT_S=0
  for (( i = 0; i < SIMS; i++ )); do
    for _ in $(seq 1 300); do
      grep -q "agents connected in" "$TMP/sim-$i.log" && break
      alive "${SIM_PIDS[$i]}" hecs-sim
      sleep 0.5
    done
    t=$(sed -nE "s/.*agents connected in ([0-9.]+) s.*/\1/p" "$TMP/sim-$i.log")
    [[ -n $t ]] || { echo "hecs-sim $i did not connect all its agents in 150 s" >&2; exit 1; }
    CONNECT_S=$(awk -v a="$CONNECT_S" -v b="$t" 'BEGIN {print (b > a) ? b : a}')
  done
  echo "all $agents agents connected in $CONNECT_S s ($SIMS hecs-sim processes)"
}
