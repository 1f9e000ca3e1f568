#!/usr/bin/env bash
# connections: N simulated agents (hecs-sim) connected to a private Mosquitto, telemetry every
# 10 s, with hecs-control on SQLite. Measures the time to connect all, then CPU (% of one core)
# and RSS of hecs-control and Mosquitto over a steady window. Target (issue 3): hecs-control
# under 0.5 core and 300 MB at 10,000 agents. Appends a section to bench/RESULTS.md.
#   BIN=<dir with hecs-control, hecs-sim>      default: build/bin
#   HECS_BENCH_AGENTS=<n>                      default: 10000
#   HECS_BENCH_WINDOW_SECONDS=<n>              steady window, default 60
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BIN=${BIN:-build/bin}
AGENTS=${HECS_BENCH_AGENTS:-10000}
WINDOW=${HECS_BENCH_WINDOW_SECONDS:-60}
INTERVAL=10
RESULTS=$ROOT/bench/RESULTS.md

for b in hecs-control hecs-sim; do
  [[ -x $BIN/$b ]] || { echo "missing $BIN/$b (set BIN=)" >&2; exit 2; }
done
# shellcheck source=bench/lib/common.bash
source "$ROOT/bench/lib/common.bash"
start_mosquitto
start_control

start_sim_fleet "$AGENTS" "$INTERVAL"
sleep "$INTERVAL"

CLK=$(getconf CLK_TCK)
sim_ticks() { local t=0 p; for p in "${SIM_PIDS[@]}"; do t=$(( t + $(cpu_ticks "$p") )); done; echo "$t"; }
C0=$(cpu_ticks "$CONTROL_PID"); M0=$(cpu_ticks "$MOSQUITTO_PID"); S0=$(sim_ticks)
STORED0=$(control_metric hecs_ingest_messages_stored_total)
T0=$(date +%s.%N)
C_PEAK=0; M_PEAK=0; C_ANON=0; C_FILE=0
for _ in $(seq 1 "$WINDOW"); do
  sleep 1
  alive "$CONTROL_PID" hecs-control; alive "$MOSQUITTO_PID" mosquitto
  c=$(status_kb "$CONTROL_PID" VmRSS); m=$(status_kb "$MOSQUITTO_PID" VmRSS)
  if (( c > C_PEAK )); then
    C_PEAK=$c; C_ANON=$(status_kb "$CONTROL_PID" RssAnon); C_FILE=$(status_kb "$CONTROL_PID" RssFile)
  fi
  (( m > M_PEAK )) && M_PEAK=$m
done
T1=$(date +%s.%N)
C1=$(cpu_ticks "$CONTROL_PID"); M1=$(cpu_ticks "$MOSQUITTO_PID"); S1=$(sim_ticks)
STORED1=$(control_metric hecs_ingest_messages_stored_total)
BACKLOG=$(control_metric hecs_ingest_backlog)
ONLINE=$(control_metric hecs_devices_online)

read -r C_CPU M_CPU S_CPU RATE ELAPSED < <(awk -v c=$((C1 - C0)) -v m=$((M1 - M0)) \
  -v s=$((S1 - S0)) -v k="$CLK" -v t0="$T0" -v t1="$T1" -v n=$((STORED1 - STORED0)) \
  'BEGIN {e=t1-t0; printf "%.1f %.1f %.1f %.0f %.1f\n", 100*c/k/e, 100*m/k/e, 100*s/k/e, n/e, e}')

TABLE=$(cat <<EOF
| figure | value |
|---|---|
| simulated agents connected | $AGENTS (hecs-control counts $ONLINE online) |
| time to connect all (ramp 2000/s in all) | $CONNECT_S s |
| hecs-control CPU, steady | $C_CPU % of one core (target < 50 %) |
| hecs-control RSS, peak in window | $(mib "$C_PEAK") MiB (target < 300 MB): $(mib "$C_ANON") MiB anonymous (heap, stacks), $(mib "$C_FILE") MiB file pages (code, and the SQLite database read through mmap) |
| Mosquitto CPU, steady | $M_CPU % of one core |
| Mosquitto RSS, peak in window | $(mib "$M_PEAK") MiB |
| hecs-sim CPU (load generator, $SIMS processes) | $S_CPU % of one core |
| telemetry stored | $RATE msg/s (expected $AGENTS / $INTERVAL s); ingest backlog at end $BACKLOG |
EOF
)
echo "$TABLE"
append_results "connections" \
  "BIN=$BIN HECS_BENCH_AGENTS=$AGENTS HECS_BENCH_WINDOW_SECONDS=$WINDOW bench/connections.sh" \
  "private Mosquitto on 127.0.0.1 (no persistence), hecs-control (defaults: SQLite, one worker per core), hecs-sim with $AGENTS agents, realistic payloads, telemetry every $INTERVAL s ± 10 %, QoS 1, all on this machine's 2 cores. Window ${ELAPSED} s, starting one interval after the last connection. CPU = (utime+stime) delta / CLK_TCK / window; RSS = VmRSS sampled every second. Single reading." \
  "$TABLE"
