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

# shellcheck source=bench/lib/common.bash
source "$ROOT/bench/lib/common.bash"

start_mosquitto
start_control
mkdir -p "$TMP/agent"

# --- hecs-agent (default telemetry interval) ---
# Plain MQTT: the agent takes the control plane's command keys from its file, or it would
# refuse every (signed) ack and resend its outbox.
"$BIN/hecs-agent" --state-dir "$TMP/agent" --mqtt-url "mqtt://127.0.0.1:$MQTT_PORT" \
  --command-keys-file "$TMP/control/pki/signing-keys.json" >"$TMP/agent.log" 2>&1 &
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

append_results "baseline" "BIN=$BIN HECS_BENCH_IDLE_SECONDS=$IDLE bench/baseline.sh" \
  "private Mosquitto on 127.0.0.1 (no persistence), hecs-control (defaults, SQLite in a temp dir), one hecs-agent with its default telemetry interval (${TELEMETRY_INTERVAL:-?} s); broker saw $CONNECTED client connection(s). Idle window ${ELAPSED} s after 3 s of start-up. RSS/PSS from /proc/PID/smaps_rollup, peak from VmHWM, CPU = (utime+stime) delta / CLK_TCK per minute. Single reading, not a median." \
  "$TABLE"
