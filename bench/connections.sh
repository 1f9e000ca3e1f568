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
# Mosquitto holds one descriptor per agent, hecs-sim three (libmosquitto adds a socketpair per
# client). Raise the soft limit to the hard one, and split the fleet over as many hecs-sim
# processes as that limit requires.
ulimit -n "$(ulimit -Hn)"
LIMIT=$(ulimit -n)
if (( AGENTS + 200 > LIMIT )); then
  echo "HECS_BENCH_AGENTS=$AGENTS: Mosquitto would need more than the $LIMIT descriptors allowed" >&2
  exit 2
fi
PER_SIM=$(( (LIMIT - 200) / 3 ))
SIMS=$(( (AGENTS + PER_SIM - 1) / PER_SIM ))

# shellcheck source=bench/lib/common.bash
source "$ROOT/bench/lib/common.bash"
start_mosquitto
start_control

SIM_PIDS=()
for (( i = 0; i < SIMS; i++ )); do
  first=$(( i * AGENTS / SIMS )); next=$(( (i + 1) * AGENTS / SIMS ))
  "$BIN/hecs-sim" --count $(( next - first )) --first-index "$first" --interval "$INTERVAL" \
    --ramp $(( 2000 / SIMS )) --seed 1 --mqtt-url "mqtt://127.0.0.1:$MQTT_PORT" \
    --log-level error >"$TMP/sim-$i.log" 2>&1 &
  SIM_PIDS+=($!)
  PIDS+=($!)
done

# Time to connect all: the slowest hecs-sim's own figure (each counts its CONNACKs).
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
echo "all $AGENTS agents connected in $CONNECT_S s ($SIMS hecs-sim processes); settling"
sleep "$INTERVAL"

CLK=$(getconf CLK_TCK)
sim_ticks() { local t=0 p; for p in "${SIM_PIDS[@]}"; do t=$(( t + $(cpu_ticks "$p") )); done; echo "$t"; }
C0=$(cpu_ticks "$CONTROL_PID"); M0=$(cpu_ticks "$MOSQUITTO_PID"); S0=$(sim_ticks)
STORED0=$(control_metric hecs_ingest_messages_stored_total)
T0=$(date +%s.%N)
C_PEAK=0; M_PEAK=0
for _ in $(seq 1 "$WINDOW"); do
  sleep 1
  alive "$CONTROL_PID" hecs-control; alive "$MOSQUITTO_PID" mosquitto
  c=$(status_kb "$CONTROL_PID" VmRSS); m=$(status_kb "$MOSQUITTO_PID" VmRSS)
  (( c > C_PEAK )) && C_PEAK=$c
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
| hecs-control RSS, peak in window | $(mib "$C_PEAK") MiB (target < 300 MB) |
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
