#!/usr/bin/env bash
# connections: N simulated agents (hecs-sim) connected to a private Mosquitto, telemetry every
# 10 s, with hecs-control on SQLite. Measures the time to connect all, then CPU (% of one core)
# and RSS of hecs-control and Mosquitto over a steady window. Target (issue 3): hecs-control
# under 0.5 core and 300 MB at 10,000 agents. Appends a section to bench/RESULTS.md.
# With HECS_BENCH_TLS=1 the same fleet then runs again over mTLS (DESIGN §3) against a fresh
# secured set-up (hecs-control's device CA, HTTPS, and the Mosquitto configuration it writes):
# the agents enrol first (timed apart, not in the connect figure), then connect with their
# certificates; both columns go into one section.
#   BIN=<dir with hecs-control, hecs-sim>      default: build/bin
#   HECS_BENCH_AGENTS=<n>                      default: 10000
#   HECS_BENCH_WINDOW_SECONDS=<n>              steady window, default 60
#   HECS_BENCH_TLS=0|1                         also the mTLS run, default 0
#   HECS_BENCH_ENROLL_CONCURRENCY=<n>          enrolment requests in flight (TLS), default 16
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BIN=${BIN:-build/bin}
AGENTS=${HECS_BENCH_AGENTS:-10000}
WINDOW=${HECS_BENCH_WINDOW_SECONDS:-60}
TLS=${HECS_BENCH_TLS:-0}
ENROLL_CONCURRENCY=${HECS_BENCH_ENROLL_CONCURRENCY:-16}
INTERVAL=10
RESULTS=$ROOT/bench/RESULTS.md

[[ $TLS == 0 || $TLS == 1 ]] || { echo "HECS_BENCH_TLS must be 0 or 1" >&2; exit 2; }
for b in hecs-control hecs-sim; do
  [[ -x $BIN/$b ]] || { echo "missing $BIN/$b (set BIN=)" >&2; exit 2; }
done
# shellcheck source=bench/lib/common.bash
source "$ROOT/bench/lib/common.bash"
CLK=$(getconf CLK_TCK)
declare -A R  # R[<run>.<figure>]

sim_ticks() { local t=0 p; for p in "${SIM_PIDS[@]}"; do t=$(( t + $(cpu_ticks "$p") )); done; echo "$t"; }
sim_rss() { local t=0 p; for p in "${SIM_PIDS[@]}"; do t=$(( t + $(status_kb "$p" VmRSS) )); done; echo "$t"; }

# One interval after the fleet connected, the steady window of run $1 (plain or tls), whose
# Mosquitto logs to $2.
measure() {
  local run=$1 c m c0 m0 s0 c1 m1 s1 t0 t1 stored0 stored1
  sleep "$INTERVAL"
  c0=$(cpu_ticks "$CONTROL_PID"); m0=$(cpu_ticks "$MOSQUITTO_PID"); s0=$(sim_ticks)
  stored0=$(control_metric hecs_ingest_messages_stored_total)
  t0=$(date +%s.%N)
  local c_peak=0 m_peak=0 c_anon=0 c_file=0
  for _ in $(seq 1 "$WINDOW"); do
    sleep 1
    alive "$CONTROL_PID" hecs-control; alive "$MOSQUITTO_PID" mosquitto
    c=$(status_kb "$CONTROL_PID" VmRSS); m=$(status_kb "$MOSQUITTO_PID" VmRSS)
    if (( c > c_peak )); then
      c_peak=$c; c_anon=$(status_kb "$CONTROL_PID" RssAnon); c_file=$(status_kb "$CONTROL_PID" RssFile)
    fi
    (( m > m_peak )) && m_peak=$m
  done
  t1=$(date +%s.%N)
  c1=$(cpu_ticks "$CONTROL_PID"); m1=$(cpu_ticks "$MOSQUITTO_PID"); s1=$(sim_ticks)
  stored1=$(control_metric hecs_ingest_messages_stored_total)
  R[$run.sim_rss]=$(sim_rss)
  R[$run.backlog]=$(control_metric hecs_ingest_backlog)
  R[$run.online]=$(control_metric hecs_devices_online)
  R[$run.connect]=$CONNECT_S
  R[$run.dropped]="$(grep -c "Outgoing messages are being dropped for client hecs-control" "$2" || true) lines"
  R[$run.sims]=$SIMS
  R[$run.c_peak]=$c_peak; R[$run.c_anon]=$c_anon; R[$run.c_file]=$c_file; R[$run.m_peak]=$m_peak
  read -r "R[$run.c_cpu]" "R[$run.m_cpu]" "R[$run.s_cpu]" "R[$run.rate]" "R[$run.window]" < <(
    awk -v c=$((c1 - c0)) -v m=$((m1 - m0)) -v s=$((s1 - s0)) -v k="$CLK" -v t0="$t0" \
      -v t1="$t1" -v n=$((stored1 - stored0)) \
      'BEGIN {e=t1-t0; printf "%.1f %.1f %.1f %.0f %.1f\n", 100*c/k/e, 100*m/k/e, 100*s/k/e, n/e, e}')
}

# The figures of run $1 for the table, one per line, in the order of `rows` below.
figures() {
  local r=$1
  echo "$AGENTS (hecs-control counts ${R[$r.online]} online)"
  echo "${R[$r.connect]} s; ${R[$r.drops]} connection requests dropped meanwhile by a full accept queue (each retried by the client's kernel after 1 s, then 3 s, 7 s…)"
  echo "${R[$r.c_cpu]} % of one core (target < 50 %)"
  echo "$(mib "${R[$r.c_peak]}") MiB (target < 300 MB): $(mib "${R[$r.c_anon]}") MiB anonymous (heap, stacks), $(mib "${R[$r.c_file]}") MiB file pages (code, and the SQLite database read through mmap)"
  echo "${R[$r.m_cpu]} % of one core"
  echo "$(mib "${R[$r.m_peak]}") MiB"
  echo "${R[$r.s_cpu]} % of one core"
  echo "$(mib "${R[$r.sim_rss]}") MiB, $(awk -v k="${R[$r.sim_rss]}" -v n="$AGENTS" 'BEGIN {printf "%.1f", k/n}') KiB per agent"
  echo "${R[$r.rate]} msg/s (expected $AGENTS / $INTERVAL s); ingest backlog at end ${R[$r.backlog]}"
  echo "${R[$r.dropped]}"
}
rows=("simulated agents connected" "time to connect all (ramp 2000/s in all)"
      "hecs-control CPU, steady" "hecs-control RSS, peak in window" "Mosquitto CPU, steady"
      "Mosquitto RSS, peak in window" "hecs-sim CPU (load generator)"
      "hecs-sim RSS at the end of the window" "telemetry stored"
      "Mosquitto log: \"Outgoing messages are being dropped for client hecs-control\" (its queue limit, max_queued_messages)")

# ---- plain MQTT ----
start_mosquitto
# shellcheck disable=SC2119  # start_control takes extra flags, none here
start_control
D0=$(listen_drops)
start_sim_fleet "$AGENTS" "$INTERVAL"
R[plain.drops]=$(( $(listen_drops) - D0 ))
measure plain "$TMP/mosquitto.log"

if [[ $TLS == 1 ]]; then
  stop_pids "${SIM_PIDS[@]}" "$CONTROL_PID" "$MOSQUITTO_PID"
  # ---- mTLS: enrol (timed apart), then the same fleet with its certificates ----
  start_secure_control tls
  STATE=$TMP/tls-state
  (umask 077; enrollment_token "$AGENTS" >"$TMP/tls-token")
  SIM_EXTRA_FDS=$ENROLL_CONCURRENCY plan_sim_fleet "$AGENTS"
  ENROLL_PIDS=()
  for (( i = 0; i < SIMS; i++ )); do
    first=$(( i * AGENTS / SIMS )); next=$(( (i + 1) * AGENTS / SIMS ))
    "$BIN/hecs-sim" --count $(( next - first )) --first-index "$first" --seed 1 \
      --mqtt-url "$MQTTS_URL" --ca-file "$CA_FILE" --state-dir "$STATE" --enroll-only \
      --enroll-url "$CONTROL_URL" --enroll-token-file "$TMP/tls-token" \
      --enroll-concurrency "$ENROLL_CONCURRENCY" --log-level error >"$TMP/enrol-$i.log" 2>&1 &
    ENROLL_PIDS+=($!)
    PIDS+=($!)
  done
  ENROLLED=0; ENROLL_FAILED=0; ENROLL_S=0
  for (( i = 0; i < SIMS; i++ )); do
    wait "${ENROLL_PIDS[$i]}" || { echo "hecs-sim --enroll-only $i failed" >&2; exit 1; }
    n=$(sim_field "$TMP/enrol-$i.log" enrolled); ENROLLED=$(( ENROLLED + ${n:-0} ))
    n=$(sim_field "$TMP/enrol-$i.log" enroll_failed); ENROLL_FAILED=$(( ENROLL_FAILED + ${n:-0} ))
    ENROLL_S=$(awk -v a="$ENROLL_S" -v b="$(sim_field "$TMP/enrol-$i.log" enroll_seconds)" \
      'BEGIN {print (b > a) ? b : a}')
  done
  stop_pids "${ENROLL_PIDS[@]}"
  (( ENROLLED == AGENTS )) || { echo "only $ENROLLED of $AGENTS agents enrolled" >&2; exit 1; }
  echo "all $AGENTS agents enrolled in $ENROLL_S s"
  SIM_MQTT_URL=$MQTTS_URL SIM_LOG=tls-sim SIM_ARGS=(--ca-file "$CA_FILE" --state-dir "$STATE")
  D0=$(listen_drops)
  start_sim_fleet "$AGENTS" "$INTERVAL"
  R[tls.drops]=$(( $(listen_drops) - D0 ))
  measure tls "$TMP/tls-mosquitto.log"
  TLS_FAILURES=0
  stop_pids "${SIM_PIDS[@]}"  # the summary lines
  for (( i = 0; i < SIMS; i++ )); do
    n=$(sim_field "$TMP/tls-sim-$i.log" tls_failures); TLS_FAILURES=$(( TLS_FAILURES + ${n:-0} ))
  done
fi

if [[ $TLS == 1 ]]; then
  mapfile -t P < <(figures plain)
  mapfile -t T < <(figures tls)
  TABLE="| figure | plain MQTT | mTLS |"$'\n'"|---|---|---|"
  for i in "${!rows[@]}"; do TABLE+=$'\n'"| ${rows[$i]} | ${P[$i]} | ${T[$i]} |"; done
  TABLE+=$'\n'"| enrolment before the mTLS run (not in its connect time) | - | $ENROLLED agents in $ENROLL_S s ($(awk -v n="$ENROLLED" -v s="$ENROLL_S" 'BEGIN {printf "%.0f", n/s}')/s, $ENROLL_CONCURRENCY requests in flight), $ENROLL_FAILED failed |"
  TABLE+=$'\n'"| TLS handshakes or sessions failed (hecs-sim) | - | $TLS_FAILURES |"
  SETUP="two runs one after the other, the same $AGENTS agents (hecs-sim, ${R[plain.sims]} process(es), realistic payloads, telemetry every $INTERVAL s ± 10 %, QoS 1), all on this machine's 2 cores. Plain: private Mosquitto on 127.0.0.1 (no persistence), hecs-control (defaults: SQLite, one worker per core, plain HTTP). mTLS: hecs-control --init-only writes the device CA and Mosquitto's configuration (TLS 1.2+ only, client certificate required, CN = username = client id, ACL file, CRL, persistence on), Mosquitto starts from it, hecs-control (HTTPS, SQLite) connects over mTLS; the agents enrol first with one auto-approve token (hecs-sim --enroll-only, P-256 keys, one CSR each), then connect with their certificates (TLS 1.3 negotiated). Windows ${R[plain.window]} s and ${R[tls.window]} s, each starting one interval after the last connection. CPU = (utime+stime) delta / CLK_TCK / window; RSS = VmRSS sampled every second; hecs-sim RSS = VmRSS of its processes at the end of the window. Single reading each."
else
  mapfile -t P < <(figures plain)
  TABLE="| figure | value |"$'\n'"|---|---|"
  for i in "${!rows[@]}"; do TABLE+=$'\n'"| ${rows[$i]} | ${P[$i]} |"; done
  SETUP="private Mosquitto on 127.0.0.1 (no persistence), hecs-control (defaults: SQLite, one worker per core), hecs-sim with $AGENTS agents (${R[plain.sims]} process(es)), realistic payloads, telemetry every $INTERVAL s ± 10 %, QoS 1, all on this machine's 2 cores. Window ${R[plain.window]} s, starting one interval after the last connection. CPU = (utime+stime) delta / CLK_TCK / window; RSS = VmRSS sampled every second. Single reading."
fi
echo "$TABLE"
append_results "connections" \
  "BIN=$BIN HECS_BENCH_AGENTS=$AGENTS HECS_BENCH_WINDOW_SECONDS=$WINDOW HECS_BENCH_TLS=$TLS$([[ $TLS == 1 ]] && echo " HECS_BENCH_ENROLL_CONCURRENCY=$ENROLL_CONCURRENCY") bench/connections.sh" \
  "$SETUP" "$TABLE"
