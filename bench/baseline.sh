#!/usr/bin/env bash
# Idle footprint baseline: one hecs-agent (default telemetry interval) + hecs-control
# against a private Mosquitto, all on 127.0.0.1. Appends a section to bench/RESULTS.md.
#   BIN=<dir with hecs-agent, hecs-control>   default: build/bin (relative to repo root)
#   HECS_BENCH_IDLE_SECONDS=<n>               idle window, default 60
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BIN=${BIN:-build/bin}
IDLE=${HECS_BENCH_IDLE_SECONDS:-60}
RESULTS=$ROOT/bench/RESULTS.md

[[ $IDLE =~ ^[0-9]+$ && $IDLE -gt 0 ]] || { echo "HECS_BENCH_IDLE_SECONDS must be a positive integer" >&2; exit 2; }
for b in hecs-agent hecs-control; do
  [[ -x $BIN/$b ]] || { echo "missing $BIN/$b (set BIN=)" >&2; exit 2; }
done
for t in mosquitto python3 strip; do
  command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 2; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hecs-bench.XXXXXX")
PIDS=()
cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  if [[ $rc -ne 0 ]]; then
    echo "baseline failed (rc=$rc); last log lines:" >&2
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
  python3 - "$1" "$2" <<'EOF'
import socket, sys, time
port, deadline = int(sys.argv[1]), time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close(); sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
EOF
}
wait_http() {  # url timeout_s
  python3 - "$1" "$2" <<'EOF'
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
EOF
}
alive() { kill -0 "$1" 2>/dev/null || { echo "$2 exited early" >&2; exit 1; }; }

# kB fields from smaps_rollup / status
smaps_kb() { awk -v k="$2:" '$1==k {print $2}' "/proc/$1/smaps_rollup"; }
status_kb() { awk -v k="$2:" '$1==k {print $2}' "/proc/$1/status"; }
# utime+stime in clock ticks (fields 14,15; strip "pid (comm)" first, comm may hold spaces)
cpu_ticks() { sed -E 's/^.*\) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k/1024}'; }

# --- Mosquitto (no persistence, logs to stderr) ---
MQTT_PORT=$(free_port)
cat >"$TMP/mosquitto.conf" <<EOF
listener $MQTT_PORT 127.0.0.1
allow_anonymous true
persistence false
log_dest stderr
EOF
mosquitto -c "$TMP/mosquitto.conf" >"$TMP/mosquitto.log" 2>&1 &
PIDS+=($!)
wait_tcp "$MQTT_PORT" 10 || { echo "mosquitto did not listen on $MQTT_PORT" >&2; exit 1; }

# --- hecs-control ---
HTTP_PORT=$(free_port)
mkdir -p "$TMP/control" "$TMP/agent"
"$BIN/hecs-control" --data-dir "$TMP/control" --http-listen "127.0.0.1:$HTTP_PORT" \
  --mqtt-url "mqtt://127.0.0.1:$MQTT_PORT" >"$TMP/control.log" 2>&1 &
CONTROL_PID=$!
PIDS+=($CONTROL_PID)
wait_http "http://127.0.0.1:$HTTP_PORT/healthz" 20 || { echo "hecs-control not healthy" >&2; exit 1; }

# --- hecs-agent (default telemetry interval) ---
"$BIN/hecs-agent" --state-dir "$TMP/agent" --mqtt-url "mqtt://127.0.0.1:$MQTT_PORT" \
  >"$TMP/agent.log" 2>&1 &
AGENT_PID=$!
PIDS+=($AGENT_PID)
TELEMETRY_INTERVAL=$("$BIN/hecs-agent" --help | sed -nE 's/.*--telemetry-interval [^=]*=([0-9]+).*/\1/p')

# Let start-up (connect, inventory) settle before the idle window.
sleep 3
alive "$AGENT_PID" hecs-agent; alive "$CONTROL_PID" hecs-control
CLK=$(getconf CLK_TCK)
T0=$(date +%s.%N); A0=$(cpu_ticks "$AGENT_PID"); C0=$(cpu_ticks "$CONTROL_PID")
echo "idle window: ${IDLE}s (agent pid $AGENT_PID, control pid $CONTROL_PID, mqtt :$MQTT_PORT, http :$HTTP_PORT)"
sleep "$IDLE"
alive "$AGENT_PID" hecs-agent; alive "$CONTROL_PID" hecs-control
T1=$(date +%s.%N); A1=$(cpu_ticks "$AGENT_PID"); C1=$(cpu_ticks "$CONTROL_PID")

A_RSS=$(smaps_kb "$AGENT_PID" Rss);   A_PSS=$(smaps_kb "$AGENT_PID" Pss)
A_HWM=$(status_kb "$AGENT_PID" VmHWM)
C_RSS=$(smaps_kb "$CONTROL_PID" Rss); C_PSS=$(smaps_kb "$CONTROL_PID" Pss)
read -r A_CPU A_CPU_MIN C_CPU C_CPU_MIN ELAPSED < <(awk -v a=$((A1 - A0)) -v c=$((C1 - C0)) -v k="$CLK" -v t0="$T0" -v t1="$T1" \
  'BEGIN {e=t1-t0; printf "%.2f %.3f %.2f %.3f %.1f\n", a/k, a/k*60/e, c/k, c/k*60/e, e}')

# Agent connected? (best effort: the broker logs each client connect)
CONNECTED=$(grep -c 'New client connected' "$TMP/mosquitto.log" || true)

strip -o "$TMP/hecs-agent.stripped" "$BIN/hecs-agent"
A_SIZE=$(stat -c %s "$TMP/hecs-agent.stripped")
A_SIZE_UNSTRIPPED=$(stat -c %s "$BIN/hecs-agent")
A_SIZE_MIB=$(awk -v b="$A_SIZE" 'BEGIN {printf "%.2f", b/1048576}')

# --- report ---
TABLE=$(cat <<EOF
| figure | value | unit |
|---|---|---|
| agent RSS (idle) | $A_RSS ($(mib "$A_RSS") MiB) | kB |
| agent PSS (idle) | $A_PSS ($(mib "$A_PSS") MiB) | kB |
| agent peak RSS (VmHWM) | $A_HWM ($(mib "$A_HWM") MiB) | kB |
| agent CPU, idle | $A_CPU_MIN ($A_CPU s over ${ELAPSED} s) | CPU s per idle minute |
| agent binary, stripped | $A_SIZE ($A_SIZE_MIB MiB; unstripped $A_SIZE_UNSTRIPPED) | bytes |
| control RSS (idle, 1 agent) | $C_RSS ($(mib "$C_RSS") MiB) | kB |
| control PSS (idle, 1 agent) | $C_PSS ($(mib "$C_PSS") MiB) | kB |
| control CPU, idle | $C_CPU_MIN ($C_CPU s over ${ELAPSED} s) | CPU s per idle minute |
EOF
)
echo "$TABLE"

COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ $COMMIT != unknown && -n $(git status --porcelain 2>/dev/null) ]]; then COMMIT="$COMMIT-dirty"; fi
CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
if [[ ${MAKELEVEL:-} ]]; then HOW="make bench"; else HOW="bench/baseline.sh"; fi

if [[ ! -f $RESULTS ]]; then
  cat >"$RESULTS" <<'EOF'
# HECS benchmark results

Figures appended by the scripts in `bench/` (run them with `make bench`), newest last.
Each section records the commit, machine and exact command. Absolute numbers depend on
the machine and its load: compare figures only within one run (same machine, same session),
and prefer medians over several runs to a single reading.
EOF
fi
cat >>"$RESULTS" <<EOF

## baseline — $(date -u '+%Y-%m-%d %H:%M:%S UTC')

- commit: \`$COMMIT\`
- machine: $(nproc) CPU(s), $CPU_MODEL, kernel $(uname -r); load average at end $LOAD
- command: \`$HOW\` (\`BIN=$BIN HECS_BENCH_IDLE_SECONDS=$IDLE bench/baseline.sh\`, from the repo root)
- setup: private Mosquitto on 127.0.0.1 (no persistence), hecs-control (defaults, SQLite in a temp dir),
  one hecs-agent with its default telemetry interval (${TELEMETRY_INTERVAL:-?} s); broker saw $CONNECTED client connection(s).
  Idle window ${ELAPSED} s, measured after 3 s of start-up. RSS/PSS from /proc/PID/smaps_rollup, peak from VmHWM,
  CPU = (utime+stime) delta / CLK_TCK scaled to one minute. Single reading, not a median.
- note: shared, noisy machine (other builds were running); treat CPU figures as an upper bound.

$TABLE
EOF
echo "appended to $RESULTS"
