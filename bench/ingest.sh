#!/usr/bin/env bash
# ingest: the highest telemetry rate hecs-control stores with no growing backlog, on SQLite and
# on PostgreSQL, against the broker's own ceiling measured in the same run. Target (issue 3):
# 50,000 msg/s stored on SQLite, or 80 % of what the broker delivers, whichever is lower.
#
# Three phases, each with a fresh private Mosquitto (127.0.0.1, no persistence, $SYS every 1 s):
#   broker    a plain subscriber (mosquitto_sub, QoS 1, one byte per message to a file) instead
#             of hecs-control: what the broker delivers on this machine is the ceiling;
#   sqlite    hecs-control with its defaults (SQLite in the temp dir, one worker per core);
#   postgres  hecs-control on a private PostgreSQL 15 (bench/lib/postgres.bash: initdb as user
#             postgres under /dev/shm, own port, stopped and removed at the end).
# Each phase climbs a ladder of offered rates. A step starts AGENTS simulated agents (hecs-sim,
# QoS 1, realistic payloads) with interval AGENTS / rate, waits WARMUP s, then measures a window
# of STEP s; the agents stop after it. A phase ends at its first saturated step.
#   sent       telemetry PUBLISHes the broker received: $SYS/broker/publish/messages/received
#              (snapshots are taken as it is published) minus hecs-control's publishes (acks);
#   delivered  broker phase: messages the plain subscriber got;
#   stored     hecs_ingest_messages_stored_total delta / window.
# A step is sustained when delivered (broker) or stored (hecs-control) is at least 95 % of sent
# (of the offered rate instead, when the broker counted more than the generator offered),
# nothing was dropped (broker or ingest), no store error, and hecs_ingest_backlog at the end is
# not above its start value + max(2500, rate / 10). CPU (utime+stime, % of one core) of every
# process is recorded per step, with "other": the rest of the machine's busy time (/proc/stat).
# At the saturating step of each hecs-control phase (or its last step), perf record (DWARF call
# graphs) samples hecs-control for PERF s while the load goes on; the top of the profile goes to
# the output and its main frames to the results. After its ladder, each hecs-control phase also
# measures hecs-control alone: stopped, its persistent broker session queues 100,000 messages;
# restarted, it drains them with no load generator running (only Mosquitto beside it), which
# separates its own ceiling from the CPU it shares with hecs-sim during the ladder.
# Appends one section to bench/RESULTS.md.
#   BIN=<dir with hecs-control, hecs-sim>      default: build/bin
#   HECS_BENCH_AGENTS=<n>                      simulated agents per step, default 1000
#   HECS_BENCH_SIMS=<n>                        hecs-sim processes sharing them, default 2
#   HECS_BENCH_RATES="<msg/s> ..."             offered rates, ascending;
#                                              default "2000 5000 8000 12000 20000 30000 40000"
#   HECS_BENCH_STEP_SECONDS=<n>                window per step, default 15
#   HECS_BENCH_WARMUP_SECONDS=<n>              after the agents connect, default 5
#   HECS_BENCH_PHASES="broker sqlite postgres" default: all three
#   HECS_BENCH_PAYLOAD=realistic|minimal       default realistic
#   HECS_BENCH_PERF_SECONDS=<n>                profile length, 0: no profile; default 10
#   HECS_BENCH_DRAIN=0|1                       drain measure after each hecs-control ladder, default 1
#   HECS_BENCH_BROKER_INFLIGHT=<n>             Mosquitto max_inflight_messages (0: no limit);
#                                              default unset: Mosquitto's default, 20
# Default run: about 6 minutes. Loopback only; everything started is stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BIN=${BIN:-build/bin}
AGENTS=${HECS_BENCH_AGENTS:-1000}
NSIMS=${HECS_BENCH_SIMS:-2}
RATES=${HECS_BENCH_RATES:-2000 5000 8000 12000 20000 30000 40000}
STEP=${HECS_BENCH_STEP_SECONDS:-15}
WARMUP=${HECS_BENCH_WARMUP_SECONDS:-5}
PHASES=${HECS_BENCH_PHASES:-broker sqlite postgres}
PAYLOAD=${HECS_BENCH_PAYLOAD:-realistic}
PERF_SECONDS=${HECS_BENCH_PERF_SECONDS:-10}
BROKER_INFLIGHT=${HECS_BENCH_BROKER_INFLIGHT:-}
DRAIN_ON=${HECS_BENCH_DRAIN:-1}
RESULTS=$ROOT/bench/RESULTS.md

for b in hecs-control hecs-sim; do
  [[ -x $BIN/$b ]] || { echo "missing $BIN/$b (set BIN=)" >&2; exit 2; }
done
for c in mosquitto mosquitto_sub curl; do
  command -v "$c" >/dev/null || { echo "missing $c (mosquitto, mosquitto-clients, curl)" >&2; exit 2; }
done
if (( PERF_SECONDS > 0 )) && ! command -v perf >/dev/null; then
  echo "perf not found: no profile (install linux-perf, or HECS_BENCH_PERF_SECONDS=0)" >&2
  PERF_SECONDS=0
fi
for r in $RATES; do
  (( r * 100 <= AGENTS * 10000 )) ||
    { echo "rate $r needs an interval under 0.01 s (hecs-sim's minimum): raise HECS_BENCH_AGENTS" >&2; exit 2; }
done

# shellcheck source=bench/lib/common.bash
source "$ROOT/bench/lib/common.bash"
# shellcheck source=bench/lib/postgres.bash
source "$ROOT/bench/lib/postgres.bash"
# shellcheck source=bench/lib/ingest.bash
source "$ROOT/bench/lib/ingest.bash"

for phase in $PHASES; do
  case $phase in broker | sqlite | postgres) ;; *) echo "unknown phase $phase" >&2; exit 2 ;; esac
done
[[ " $PHASES " != *" postgres "* ]] || require_postgres

# PostgreSQL is not our child: stop it before common.bash's cleanup (which keeps the exit code).
ingest_cleanup() {
  local rc=$?
  set +e
  stop_postgres
  (exit "$rc")
  cleanup
}
trap ingest_cleanup EXIT

# Each libmosquitto client holds 3 descriptors, Mosquitto one per client.
ulimit -n "$(ulimit -Hn)"
(( AGENTS * 3 / NSIMS + 100 < $(ulimit -n) )) ||
  { echo "$AGENTS agents over $NSIMS hecs-sim processes exceed ulimit -n $(ulimit -n)" >&2; exit 2; }

CLK=$(getconf CLK_TCK)
NCPU=$(nproc)
CONTROL_PID=""; SUB_PID=""; SIM_PIDS=()
ROWS=()        # Markdown rows of the step table
PROFILES=""    # Markdown list of profile tops
PERF_CPU=""
declare -A BEST SAT MAXGOT COST DRAIN

# Stored (or delivered) rate at the step, verdict, row.
evaluate() {  # phase rate snapshot0 snapshot1 max-backlog busiest-threads
  awk -v phase="$1" -v rate="$2" -v a="$3" -v b="$4" -v maxb="$5" -v threads="$6" \
    -v clk="$CLK" -v ncpu="$NCPU" \
    -v names="$snapshot_fields" '
    BEGIN {
      n = split(names, f, " "); split(a, x, " "); split(b, y, " ")
      for (i = 1; i <= n; i++) { A[f[i]] = x[i]; B[f[i]] = y[i]; D[f[i]] = y[i] - x[i] }
      e = D["wall"]
      cpu_c = 100 * D["ctl"] / clk / e; cpu_m = 100 * D["mosq"] / clk / e
      cpu_s = 100 * D["sim"] / clk / e; cpu_u = 100 * D["sub"] / clk / e
      cpu_g = 100 * D["pg"] / clk / e
      machine = (D["total"] > 0) ? 100 * ncpu * D["busy"] / D["total"] : 0
      other = machine - cpu_c - cpu_m - cpu_s - cpu_u - cpu_g; if (other < 0) other = 0
      acks = D["acks"] / e
      recv = D["recv"] / e
      sent = recv - acks; if (sent < 0) sent = 0
      # Judged against what was offered when the broker counted more (its $SYS counters have
      # been seen 12 % above the generator'"'"'s schedule at a step, which read as a false saturation).
      expect = (sent < rate) ? sent : rate
      slack = rate / 10; if (slack < 2500) slack = 2500
      why = ""
      if (phase == "broker") {
        got = D["delivered"] / e
        if (got < 0.95 * expect) why = why sprintf("delivered %.0f %% of sent; ", 100 * got / expect)
        backlog = "-"
        side = sprintf("subscriber %.0f", cpu_u)
      } else {
        got = D["stored"] / e
        if (got < 0.95 * expect) why = why sprintf("stored %.0f %% of sent; ", (expect > 0) ? 100 * got / expect : 0)
        if (B["backlog"] > A["backlog"] + slack) why = why sprintf("backlog %d -> %d; ", A["backlog"], B["backlog"])
        if (D["dropped"] > 0) why = why sprintf("%d dropped by ingest; ", D["dropped"])
        if (D["errors"] > 0) why = why sprintf("%d store errors; ", D["errors"])
        backlog = sprintf("%d -> %d (max %d)", A["backlog"], B["backlog"], maxb)
        side = (phase == "postgres") ? sprintf("PostgreSQL %.0f", cpu_g) : "-"
      }
      if (D["drop"] > 0) why = why sprintf("%d dropped by broker; ", D["drop"])
      verdict = (why == "") ? "sustained" : "SATURATED: " substr(why, 1, length(why) - 2)
      if (sent < 0.9 * rate) verdict = verdict sprintf(" (load generator short: %.0f %% of offered)", 100 * sent / rate)
      ctl = (phase == "broker") ? "-" : sprintf("%.0f (%s)", cpu_c, threads)
      us = (got > 0) ? 1e4 / got : 0  # CPU % of one core -> microseconds per message
      printf "%.0f %d %.0f %.0f %.0f %.0f|| %s | %d | %.0f | %.0f | %s | %.0f | %s | %.0f | %.0f | %s | %.0f | %.0f | %s |\n", \
        got, (why == "") ? 1 : 0, cpu_c * us, cpu_m * us, cpu_s * us, (cpu_u + cpu_g) * us, phase, rate, sent, got, backlog, acks, ctl, cpu_m, cpu_s, side, \
        other, machine, verdict
    }'
}

# Samples hecs-control for PERF_SECONDS while the load goes on (DWARF call graphs: the
# binaries have no frame pointers), and measures its CPU meanwhile.
profile_record() {  # phase
  local t0 t1 w0 w1
  t0=$(ticks_of "$CONTROL_PID"); w0=$(date +%s.%N)
  perf record -q --call-graph dwarf,8192 -F 499 -p "$CONTROL_PID" -o "$TMP/perf-$1.data" \
    -- sleep "$PERF_SECONDS" >/dev/null 2>&1 || { echo "perf record failed" >&2; return 0; }
  t1=$(ticks_of "$CONTROL_PID"); w1=$(date +%s.%N)
  PERF_CPU=$(awk -v t=$(( t1 - t0 )) -v k="$CLK" -v a="$w0" -v b="$w1" 'BEGIN {printf "%.0f", 100 * t / k / (b - a)}')
}

# Prints the top of the profile (run once the load has stopped), adds its figures to PROFILES.
# The MQTT frames: libmosquitto's before issue 4 (kept for older binaries given in BIN), the
# project's own client after.
PERF_FRAMES="Ingest::Impl::write DeviceStore::ingest sqlite3_step sqlite3WalFrames \
sqlite3WalDefaultHook sqlite3PcacheFetchStress __libc_pread64 PQexecPrepared pqWait \
Ingest::Impl::on_message mosquitto_loop_read MqttClient::publish Client::consume Client::publish"
profile_report() {  # phase rate
  local data=$TMP/perf-$1.data self incl f p
  [[ -f $data ]] || return 0
  perf report -i "$data" --no-children --stdio -g none --sort dso,symbol 2>/dev/null |
    { grep -E '^ +[0-9.]+%' || true; } | sed -E 's/ +- +- *$//; s/ +$//' >"$TMP/perf-self.txt"
  perf report -i "$data" --children --stdio -g none --sort symbol 2>/dev/null |
    { grep -E '^ +[0-9.]+%' || true; } | sed -E 's/ +$//' >"$TMP/perf-children.txt"
  echo "--- perf: hecs-control, $1 phase, offered $2 msg/s, ${PERF_SECONDS} s; hecs-control used $PERF_CPU % of one core meanwhile"
  echo "self time (dso, symbol):"
  head -30 "$TMP/perf-self.txt" | cut -c1-160 || true
  echo "inclusive time (children), frames above 4 %:"
  awk '$1 + 0 >= 4 && !/ 0x0000/' "$TMP/perf-children.txt" | head -60 | cut -c1-200 || true
  echo "call chains of the top self-time symbols:"
  perf report -i "$data" --no-children --stdio --percent-limit 2.5 -g caller,1,callee,function,percent \
    --sort symbol 2>/dev/null | grep -v -e '^#' -e '^$' | head -100 | cut -c1-200 || true
  self=$(awk 'NR <= 8 {pct = $1; dso = $2; $1 = ""; $2 = ""; $3 = "";
    sub(/^ +/, ""); printf "%s %s (%s); ", pct, $0, dso}' "$TMP/perf-self.txt")
  incl=""
  for f in $PERF_FRAMES; do
    p=$(grep -F "$f" "$TMP/perf-children.txt" | awk 'NR == 1 {print $1}' || true)
    [[ -n $p ]] && incl+="$f $p; "
  done
  PROFILES+="- $1, offered $2 msg/s, hecs-control at $PERF_CPU % of one core while profiled. Inclusive: ${incl%; }. Self: ${self%; }"$'\n'
  rm -f "$data"
}

# "<tid> <ns on CPU> <ns runnable, waiting for a CPU>" for each thread (/proc/.../schedstat).
thread_sched() {
  local t
  [[ -n $1 && -d /proc/$1/task ]] || return 0
  for t in /proc/"$1"/task/*; do
    echo "${t##*/} $(cut -d' ' -f1,2 "$t/schedstat" 2>/dev/null)"
  done
}
# "<on>/<waiting>, <on>/<waiting>": % of the window the two busiest threads spent on a CPU and
# runnable but waiting for one.
busiest_threads() {  # before after seconds
  awk -v e="$3" 'NR == FNR {r[$1] = $2; w[$1] = $3; next}
    ($1 in r) {on = ($2 - r[$1]) / 1e7 / e; wait = ($3 - w[$1]) / 1e7 / e; print on + wait, on, wait}' \
    <(printf '%s\n' "$1") <(printf '%s\n' "$2") | sort -rn | head -2 |
    awk '{printf "%s%.0f/%.0f", (NR > 1 ? ", " : ""), $2, $3}'
}

# hecs-control without the load generator beside it: stopped, it keeps its broker session, in
# which Mosquitto queues up to max_queued_messages (100,000) telemetry messages from the agents;
# started again, it drains them with only Mosquitto beside it. Rate = stored between 10 % and
# 90 % of the queue, over the time between those two samples.
DRAIN_QUEUE=100000
drain_measure() {  # phase
  local fill=10000 start_args=() st b n=0 still=0 last=-1 total lo=-1 hi=-1 e i
  local -a T S C M H K
  [[ $1 == postgres ]] && start_args=(--db "$PG_URL")
  stop_pids "$CONTROL_PID"; CONTROL_PID=""
  start_sims "$AGENTS" "$(awk -v a="$AGENTS" -v r="$fill" 'BEGIN {printf "%.4f", a / r}')" "$NSIMS"
  sleep $(( DRAIN_QUEUE / fill + 2 ))
  stop_pids "${SIM_PIDS[@]}"; SIM_PIDS=()
  start_control "${start_args[@]}"
  while (( n < 300 )); do  # polls every 0.2 s, at most about 60 s
    read -r st b _ < <(control_sample)
    T[n]=$(date +%s.%N); S[n]=${st:-0}; C[n]=$(ticks_of "$CONTROL_PID")
    M[n]=$(ticks_of "$MOSQUITTO_PID"); H[n]=$(thread_sched "$CONTROL_PID"); K[n]=$(machine_ticks)
    if (( S[n] > 0 )) && [[ ${b:-1} == 0 && ${S[n]} == "$last" ]]; then still=$(( still + 1 )); else still=0; fi
    last=${S[n]}; n=$(( n + 1 ))
    (( still >= 5 )) && break
    sleep 0.2
  done
  total=${S[n-1]}
  for (( i = 0; i < n; i++ )); do
    (( lo < 0 && S[i] * 10 >= total )) && lo=$i
    (( S[i] * 10 <= total * 9 )) && hi=$i
  done
  if (( lo < 0 || hi <= lo )); then DRAIN[$1]="-"; return 0; fi
  e=$(awk -v a="${T[lo]}" -v b="${T[hi]}" 'BEGIN {print b - a}')
  DRAIN[$1]=$(awk -v s=$(( S[hi] - S[lo] )) -v c=$(( C[hi] - C[lo] )) -v m=$(( M[hi] - M[lo] )) \
    -v k="$CLK" -v e="$e" -v total="$total" -v threads="$(busiest_threads "${H[lo]}" "${H[hi]}" "$e")" \
    -v k0="${K[lo]}" -v k1="${K[hi]}" -v ncpu="$NCPU" 'BEGIN {
      split(k0, a, " "); split(k1, b, " ")
      machine = (b[2] > a[2]) ? 100 * ncpu * (b[1] - a[1]) / (b[2] - a[2]) : 0
      rest = machine - 100 * (c + m) / k / e; if (rest < 0) rest = 0
      printf "%.0f msg/s (%d messages queued; 10-90 %% of them in %.1f s); meanwhile hecs-control %.0f %% CPU (busiest threads, on CPU / waiting for a CPU: %s), Mosquitto %.0f %%, rest of machine %.0f %%", \
        s / e, total, e, 100 * c / k / e, threads, 100 * m / k / e, rest }')
  echo "$1, drain without load generator: ${DRAIN[$1]}"
}

run_phase() {
  local phase=$1 rate interval s0 s1 th0 th1 threads maxb b line res got ok i profiled us_c us_m us_s us_o
  start_broker
  case $phase in
    broker) start_counter ;;
    sqlite) rm -rf "$TMP/control"; start_control ;;
    postgres) start_postgres; rm -rf "$TMP/control"; start_control --db "$PG_URL" ;;
  esac
  BEST[$phase]=0; SAT[$phase]=""; MAXGOT[$phase]=0
  for rate in $RATES; do
    interval=$(awk -v a="$AGENTS" -v r="$rate" 'BEGIN {printf "%.4f", a / r}')
    start_sims "$AGENTS" "$interval" "$NSIMS"
    sleep "$WARMUP"
    s0=$(snapshot); th0=$(thread_sched "${CONTROL_PID:-}"); maxb=0
    for (( i = 0; i < STEP; i++ )); do
      sleep 1
      alive "$MOSQUITTO_PID" mosquitto
      if [[ -n $CONTROL_PID ]]; then
        alive "$CONTROL_PID" hecs-control
        b=$(control_sample | cut -d' ' -f2)
        (( ${b:-0} > maxb )) && maxb=$b
      fi
    done
    s1=$(snapshot); th1=$(thread_sched "${CONTROL_PID:-}")
    threads=""
    [[ -n $th0 ]] && threads=$(busiest_threads "$th0" "$th1" \
      "$(awk -v a="${s0%% *}" -v b="${s1%% *}" 'BEGIN {print b - a}')")
    res=$(evaluate "$phase" "$rate" "$s0" "$s1" "$maxb" "$threads")
    read -r got ok us_c us_m us_s us_o <<<"${res%%||*}"; line=${res#*||}
    ROWS+=("|$line")
    echo "$phase, offered $rate msg/s:$line"
    (( got > MAXGOT[$phase] )) && MAXGOT[$phase]=$got
    if (( ok )); then
      if (( got > BEST[$phase] )); then
        BEST[$phase]=$got
        COST[$phase]="hecs-control $us_c, Mosquitto $us_m, hecs-sim $us_s"
        [[ $phase == broker ]] && COST[$phase]="Mosquitto $us_m, hecs-sim $us_s, subscriber $us_o"
        [[ $phase == postgres ]] && COST[$phase]+=", PostgreSQL $us_o"
      fi
    else
      SAT[$phase]="$got msg/s at offered $rate"
    fi
    profiled=0
    if [[ -n $CONTROL_PID ]] && (( PERF_SECONDS > 0 )) &&
      { (( ! ok )) || [[ $rate == "${RATES##* }" ]]; }; then
      profile_record "$phase"; profiled=1
    fi
    stop_pids "${SIM_PIDS[@]}"; SIM_PIDS=()
    (( profiled )) && profile_report "$phase" "$rate"
    (( ok )) || break
    if [[ -n $CONTROL_PID ]]; then  # let the batches in flight land before the next step
      for _ in $(seq 1 50); do
        b=$(control_sample | cut -d' ' -f2)
        [[ $b == 0 ]] && break
        sleep 0.2
      done
    fi
  done
  if [[ -n $CONTROL_PID ]] && (( DRAIN_ON )); then drain_measure "$phase"; fi
  stop_pids ${CONTROL_PID:-} ${SUB_PID:-} "$SYS_PID" "$MOSQUITTO_PID"
  CONTROL_PID=""; SUB_PID=""
  [[ $phase == postgres ]] && stop_postgres
  return 0
}

for phase in $PHASES; do
  echo "== phase $phase"
  run_phase "$phase"
done

# Summary: the broker's ceiling, each store's highest sustained rate, the target.
CEIL=${MAXGOT[broker]:-}
summary_row() {  # phase label
  local best=${BEST[$1]:-} sat=${SAT[$1]:-}
  [[ -n $best ]] || return 0
  local frac="-"
  [[ -n $CEIL && $CEIL -gt 0 ]] && frac=$(awk -v b="$best" -v c="$CEIL" 'BEGIN {printf "%.0f %%", 100 * b / c}')
  echo "| $2: highest rate stored with no growing backlog | $best msg/s ($frac of the broker's ceiling) |"
  echo "| $2: at the first saturated step | ${sat:-not reached (the ladder ends at ${RATES##* } msg/s)} |"
  echo "| $2: CPU per message at the highest sustained step | ${COST[$1]:--} µs |"
  [[ -z ${DRAIN[$1]:-} ]] || echo "| $2: hecs-control alone, draining its broker queue (no load generator running) | ${DRAIN[$1]} |"
}
TARGET_LINE="-"
if [[ -n $CEIL && -n ${BEST[sqlite]:-} ]]; then
  TARGET_LINE=$(awk -v c="$CEIL" -v s="${BEST[sqlite]}" 'BEGIN {
    t = 0.8 * c; if (t > 50000) t = 50000
    printf "min(50,000, 80 %% of %d) = %.0f msg/s: %s (SQLite %d msg/s)", c, t, (s >= t) ? "met" : "MISSED", s }')
fi
BROKER_NOTE="not measured (phase not run)"
if [[ -n $CEIL ]]; then
  BROKER_NOTE="$CEIL msg/s delivered; ${SAT[broker]:+saturated: ${SAT[broker]}}"
  [[ -n ${SAT[broker]} ]] || BROKER_NOTE+="not saturated by the ladder: a lower bound"
fi
TABLE=$(
  echo "| figure | value |"
  echo "|---|---|"
  echo "| broker ceiling (plain subscriber, QoS 1) | $BROKER_NOTE |"
  [[ -n $CEIL ]] && echo "| broker phase: CPU per message at the highest sustained step | ${COST[broker]:--} µs |"
  summary_row sqlite SQLite
  summary_row postgres PostgreSQL
  echo "| target (SQLite) | $TARGET_LINE |"
  echo
  echo "| phase | offered msg/s | sent msg/s | delivered / stored msg/s | ingest backlog start -> end (max) | acks/s | CPU % hecs-control (2 busiest threads: % on CPU / % runnable, waiting for a CPU) | CPU % Mosquitto | CPU % hecs-sim | CPU % other of ours | CPU % rest of machine | CPU % machine (of $((NCPU * 100))) | verdict |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
  if [[ -n $PROFILES ]]; then
    echo
    echo "Profiles of hecs-control (perf record --call-graph dwarf -F 499, ${PERF_SECONDS} s at the saturating or last step, load still on; % of its samples; inclusive = the frame and its callees, self = the 8 hottest symbols):"
    echo
    printf '%s' "$PROFILES"
  fi
)
echo "$TABLE"
INFLIGHT_TEXT=${BROKER_INFLIGHT:-"20 (Mosquitto's default)"}
append_results "ingest" \
  "BIN=$BIN HECS_BENCH_AGENTS=$AGENTS HECS_BENCH_SIMS=$NSIMS HECS_BENCH_RATES=\"$RATES\" HECS_BENCH_STEP_SECONDS=$STEP HECS_BENCH_WARMUP_SECONDS=$WARMUP HECS_BENCH_PHASES=\"$PHASES\" HECS_BENCH_PERF_SECONDS=$PERF_SECONDS${BROKER_INFLIGHT:+ HECS_BENCH_BROKER_INFLIGHT=$BROKER_INFLIGHT} bench/ingest.sh" \
  "three phases, each with a fresh private Mosquitto on 127.0.0.1 (no persistence, max_queued_messages 100000, max_inflight_messages $INFLIGHT_TEXT, \$SYS every 1 s): (1) broker: a plain subscriber (mosquitto_sub, QoS 1, 1 byte per message to a file) takes hecs-control's place; its delivered rate is the broker's ceiling on this machine; (2) hecs-control with its defaults (SQLite, WAL, in the temp dir on disk, one worker per core); (3) hecs-control on a private PostgreSQL 15 (defaults, data in /dev/shm). Offered rate = $AGENTS agents (hecs-sim, $NSIMS processes, $PAYLOAD payloads, QoS 1) / interval, restarted per step, ${WARMUP} s warm-up then a ${STEP} s window; a phase stops at its first saturated step. Sent = broker's \$SYS publish/messages/received rate minus hecs-control's acks; stored = hecs_ingest_messages_stored_total delta. Sustained = delivered/stored >= 95 % of sent, no drop, no store error, backlog at the end <= start + max(2500, rate/10). CPU = (utime+stime) delta / CLK_TCK / window, % of one core; hecs-control's two busiest threads from /proc/PID/task/*/schedstat (time on a CPU / time runnable but waiting for one); \"other of ours\" = the plain subscriber or PostgreSQL (all its processes); \"rest of machine\" = /proc/stat busy time not ours (other users of this shared machine). CPU per message = CPU % / stored (or delivered) rate. Drain: after its ladder, hecs-control is stopped, Mosquitto queues $DRAIN_QUEUE messages in its persistent session, and the restarted hecs-control drains them with no load generator running. Everything on this machine's $NCPU cores. Single reading per step." \
  "$TABLE"
