#!/usr/bin/env bash
# enrol: N simulated agents (hecs-sim) enrol with one auto-approve token against a fresh secured
# hecs-control (device CA, HTTPS, SQLite) and the Mosquitto it configured (mTLS only), then
# connect over mTLS (DESIGN §3). Measures the time until all are enrolled and until all are
# connected, enrolment requests/s, and hecs-control's CPU and RSS while they enrol. One run per
# concurrency, each against a fresh control plane. Appends a section to bench/RESULTS.md.
#   BIN=<dir with hecs-control, hecs-sim>          default: build/bin
#   HECS_BENCH_AGENTS=<n>                          default: 1000
#   HECS_BENCH_ENROLL_CONCURRENCY="<n> ..."        requests in flight, one run each; default 8
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BIN=${BIN:-build/bin}
AGENTS=${HECS_BENCH_AGENTS:-1000}
CONCURRENCY=${HECS_BENCH_ENROLL_CONCURRENCY:-8}
RESULTS=$ROOT/bench/RESULTS.md

[[ $AGENTS =~ ^[0-9]+$ && $AGENTS -gt 0 && $AGENTS -le 18000 ]] \
  || { echo "HECS_BENCH_AGENTS must be 1..18000 (one hecs-sim process)" >&2; exit 2; }
for b in hecs-control hecs-sim; do
  [[ -x $BIN/$b ]] || { echo "missing $BIN/$b (set BIN=)" >&2; exit 2; }
done
for t in mosquitto python3; do
  command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 2; }
done
# shellcheck source=bench/lib/common.bash
source "$ROOT/bench/lib/common.bash"
ulimit -n "$(ulimit -Hn)"
CLK=$(getconf CLK_TCK)

# Waits (0.2 s steps, up to $3 s) for $2 in log $1 while hecs-sim $4 runs; samples hecs-control's
# RSS meanwhile into C_PEAK, C_ANON, C_FILE.
wait_line() {
  local log=$1 text=$2 limit=$3 sim=$4 c
  for _ in $(seq 1 $(( limit * 5 ))); do
    grep -q "$text" "$log" && return 0
    alive "$sim" hecs-sim; alive "$CONTROL_PID" hecs-control; alive "$MOSQUITTO_PID" mosquitto
    c=$(status_kb "$CONTROL_PID" VmRSS)
    if (( c > C_PEAK )); then
      C_PEAK=$c; C_ANON=$(status_kb "$CONTROL_PID" RssAnon); C_FILE=$(status_kb "$CONTROL_PID" RssFile)
    fi
    sleep 0.2
  done
  echo "hecs-sim: no \"$text\" within $limit s" >&2
  exit 1
}

ROWS=()
for conc in $CONCURRENCY; do
  [[ $conc =~ ^[0-9]+$ && $conc -ge 1 && $conc -le 64 ]] \
    || { echo "HECS_BENCH_ENROLL_CONCURRENCY: $conc is not in 1..64" >&2; exit 2; }
  name=enrol-$conc
  start_secure_control "$name"
  (umask 077; enrollment_token "$AGENTS" >"$TMP/$name-token")
  RSS_BEFORE=$(status_kb "$CONTROL_PID" VmRSS)
  C_PEAK=$RSS_BEFORE; C_ANON=$(status_kb "$CONTROL_PID" RssAnon); C_FILE=$(status_kb "$CONTROL_PID" RssFile)
  log=$TMP/$name-sim.log
  C0=$(cpu_ticks "$CONTROL_PID"); M0=$(cpu_ticks "$MOSQUITTO_PID"); T0=$(date +%s.%N)
  # The ramp is above any enrolment rate: each agent connects as soon as it has its certificate.
  "$BIN/hecs-sim" --count "$AGENTS" --interval 10 --ramp 20000 --seed 1 \
    --mqtt-url "$MQTTS_URL" --ca-file "$CA_FILE" --state-dir "$TMP/$name-state" \
    --enroll-url "$CONTROL_URL" --enroll-token-file "$TMP/$name-token" \
    --enroll-concurrency "$conc" --log-level error >"$log" 2>&1 &
  SIM=$!
  PIDS+=("$SIM")
  wait_line "$log" "agents enrolled in" 600 "$SIM"
  C1=$(cpu_ticks "$CONTROL_PID"); M1=$(cpu_ticks "$MOSQUITTO_PID"); S1=$(cpu_ticks "$SIM")
  T1=$(date +%s.%N)
  wait_line "$log" "agents connected in" 120 "$SIM"
  ONLINE=0
  for _ in $(seq 1 50); do
    ONLINE=$(control_metric hecs_devices_online)
    (( ONLINE >= AGENTS )) && break
    sleep 0.2
  done
  stop_pids "$SIM"  # SIGTERM: the summary line
  enrolled=$(sim_field "$log" enrolled); failed=$(sim_field "$log" enroll_failed)
  enroll_s=$(sim_field "$log" enroll_seconds); connect_s=$(sim_field "$log" connect_seconds)
  tls_failures=$(sim_field "$log" tls_failures)
  [[ -n $enrolled && -n $enroll_s ]] || { echo "no summary from hecs-sim" >&2; tail "$log" >&2; exit 1; }
  read -r C_CPU M_CPU S_CPU RATE < <(awk -v c=$((C1 - C0)) -v m=$((M1 - M0)) -v s="$S1" \
    -v k="$CLK" -v t0="$T0" -v t1="$T1" -v n="$enrolled" -v e="$enroll_s" \
    'BEGIN {w=t1-t0; printf "%.0f %.0f %.0f %.0f\n", 100*c/k/w, 100*m/k/w, 100*s/k/w, n/e}')
  ROWS+=("| $conc | $enrolled of $AGENTS ($failed failed) | $enroll_s s | $RATE | $connect_s s ($ONLINE online; TLS failures $tls_failures) | $C_CPU % | $(mib "$RSS_BEFORE") → $(mib "$C_PEAK") MiB ($(mib "$C_ANON") anonymous, $(mib "$C_FILE") file) | $M_CPU % | $S_CPU % |")
  echo "${ROWS[-1]}"
  stop_pids "$CONTROL_PID" "$MOSQUITTO_PID"
done

TABLE="| requests in flight | enrolled | time until all enrolled | enrolment requests/s | time until all connected over mTLS (from the start) | hecs-control CPU while enrolling | hecs-control RSS: before → peak while enrolling | Mosquitto CPU while enrolling | hecs-sim CPU while enrolling |"
TABLE+=$'\n'"|---|---|---|---|---|---|---|---|---|"
for row in "${ROWS[@]}"; do TABLE+=$'\n'"$row"; done
echo "$TABLE"
append_results "enrol" \
  "BIN=$BIN HECS_BENCH_AGENTS=$AGENTS HECS_BENCH_ENROLL_CONCURRENCY=\"$CONCURRENCY\" bench/enrol.sh" \
  "per row a fresh secured set-up on 127.0.0.1: hecs-control --init-only writes its device CA and Mosquitto's configuration (TLS 1.2+, client certificates required, ACL, CRL), Mosquitto starts from it, hecs-control (defaults: SQLite in the temp dir, HTTPS, one worker per core) connects over mTLS. One token (auto_approve, max_uses $AGENTS); one hecs-sim process makes a P-256 key and a CSR per agent and posts them to POST /api/v1/enroll over kept-alive HTTPS connections (the given number in flight), stores key and certificate, and connects each agent over mTLS as soon as it has them (no ramp limit). Times are hecs-sim's (enroll_seconds, connect_seconds: from its start, 10 ms resolution); requests/s = enrolled / time until all enrolled. CPU = (utime+stime) delta / CLK_TCK from hecs-sim's start until its \"all enrolled\" line, % of one core (hecs-sim's own from its start); RSS = VmRSS sampled every 0.2 s. All on this machine's 2 cores: hecs-sim's key generation and TLS take CPU from hecs-control. Single reading per row." \
  "$TABLE"
