#!/usr/bin/env bash
# tasks: one task fanned out to a whole fleet (issue 6, point 9). Target: all 10,000 results
# stored within 3 s of the POST, on this 2-core machine.
#
# Per fleet: a fresh private Mosquitto (127.0.0.1, no persistence; Mosquitto's defaults, as
# hecs-control's generated configuration: 20 QoS 1 messages in flight per client) and
# hecs-control (SQLite in the temp dir, plain MQTT and HTTP); then the fleet, and once every
# device is online, REPEATS tasks one after the other, each to the whole fleet:
#   sim N     N simulated agents (hecs-sim, one process per ~20,000 descriptors) that verify
#             every command with the control plane's keys (--command-keys-file) and answer each
#             task as hecs-agent answers a run shorter than its 200 ms output flush: one message,
#             "succeeded" carrying OUTPUT bytes of stdout;
#   agent N   N real hecs-agent processes (plain mode, --command-keys-file), running the task
#             for real (`uname -a`, under its supervisor process).
# A task is `{"target": {"selector": "!hecs-bench-none"}, "command": {"argv": ["uname", "-a"]},
# "confirm": true}`: the selector matches every device (none has that tag), so it also resolves
# the whole fleet. Measured per task (a Python helper, one HTTP connection):
#   POST answered     the POST's round trip: target resolved, task and its N runs stored;
#   all stored        POST sent -> the first GET /api/v1/tasks/{id} (polled every 100 ms: each GET
#                     counts the task's runs, so faster polling costs hecs-control measurably) whose
#                     counts show N succeeded, answer received (an upper bound, by < 100 ms + a GET);
#   last stored (db)  POST sent -> the largest task_runs.updated_at of the task, read from the
#                     SQLite file afterwards (read-only): when the batch that made the run final
#                     was written (the time is taken as the batch's transaction starts);
#   all acked         POST sent -> the first /metrics poll (every 50 ms, once all are stored) with
#                     hecs_acks_pending at 0: acks leave from a low-priority thread, so this is
#                     when every agent may drop its result ("-" for a build without the gauge);
#   per device        p50 / p99 over the N runs of POST -> sent_at (the time of the dispatch pass,
#                     taken before it signs its commands; a null one, counted apart, would be
#                     a regression of the fix in 89982e6), POST -> ended_at (the
#                     agent's own clock: same machine), POST -> stored (updated_at, as above; the
#                     API has no stored-at time, so it is read from the database);
#   CPU               utime+stime (/proc/PID/stat) of hecs-control, Mosquitto and the fleet's
#                     processes between the POST and the "all stored" poll;
#   counters          hecs-control's /metrics deltas over the same window: task commands sent,
#                     acks sent, result messages stored.
# Medians of the REPEATS tasks are reported, each reading beside them. With PERF=1, one more task
# to the largest simulated fleet runs under perf record (DWARF call graphs) of hecs-control, and
# the top of its profile is appended too.
#   BIN=<dir with hecs-control, hecs-sim, hecs-agent>   default: build/bin
#   HECS_BENCH_TASK_SIZES="<n> ..."       simulated fleets, default "1000 10000"
#   HECS_BENCH_TASK_AGENTS=<n>            real hecs-agent processes, default 20 (0: none)
#   HECS_BENCH_TASK_REPEATS=<n>           tasks per fleet, default 3
#   HECS_BENCH_TASK_OUTPUT=<bytes>        fake stdout per simulated run, default 64
#   HECS_BENCH_TASK_INTERVAL=<s>          telemetry interval of the fleet, default 60
#   HECS_BENCH_TASK_VERIFY=0|1            simulated agents verify commands, default 1
#   HECS_BENCH_TASK_PERF=0|1              profile one more task, default 0
#   HECS_BENCH_BROKER_INFLIGHT=<n>        Mosquitto max_inflight_messages; default unset (20)
#   HECS_BENCH_RESULTS=<file>             default: bench/RESULTS.md
# Default run: about 5 minutes. Loopback only; everything started is stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BIN=${BIN:-build/bin}
SIZES=${HECS_BENCH_TASK_SIZES:-1000 10000}
REAL_AGENTS=${HECS_BENCH_TASK_AGENTS:-20}
REPEATS=${HECS_BENCH_TASK_REPEATS:-3}
OUTPUT=${HECS_BENCH_TASK_OUTPUT:-64}
INTERVAL=${HECS_BENCH_TASK_INTERVAL:-60}
VERIFY=${HECS_BENCH_TASK_VERIFY:-1}
PERF=${HECS_BENCH_TASK_PERF:-0}
BROKER_INFLIGHT=${HECS_BENCH_BROKER_INFLIGHT:-}
RESULTS=${HECS_BENCH_RESULTS:-$ROOT/bench/RESULTS.md}  # where the section is appended

for b in hecs-control hecs-sim hecs-agent; do
  [[ -x $BIN/$b ]] || { echo "missing $BIN/$b (set BIN=)" >&2; exit 2; }
done
for c in mosquitto python3; do
  command -v "$c" >/dev/null || { echo "missing $c" >&2; exit 2; }
done
if (( PERF )) && ! command -v perf >/dev/null; then
  echo "perf not found: no profile (install linux-perf, or HECS_BENCH_TASK_PERF=0)" >&2
  PERF=0
fi

# shellcheck source=bench/lib/common.bash
source "$ROOT/bench/lib/common.bash"

CONTROL_PID=""; SIM_PIDS=(); AGENT_PIDS=()
ROWS=()
PROFILE=""

# A private Mosquitto as start_mosquitto makes it, with max_inflight_messages when asked.
start_task_broker() {
  MQTT_PORT=$(free_port)
  printf '%s\n' "listener $MQTT_PORT 127.0.0.1" "allow_anonymous true" "persistence false" \
    "max_queued_messages 100000" ${BROKER_INFLIGHT:+"max_inflight_messages $BROKER_INFLIGHT"} \
    "log_dest stderr" >"$TMP/mosquitto.conf"
  mosquitto -c "$TMP/mosquitto.conf" >"$TMP/mosquitto.log" 2>&1 &
  MOSQUITTO_PID=$!
  PIDS+=("$MOSQUITTO_PID")
  wait_tcp "$MQTT_PORT" 10 || { echo "mosquitto did not listen on $MQTT_PORT" >&2; exit 1; }
}

# One task to the whole fleet, measured; prints one line of key=value figures.
cat >"$TMP/fanout.py" <<'PY'
import json, os, sqlite3, sys, time, http.client

host, port, key, n, db, pids = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]
groups = {}  # name -> pids (comma-separated lists, "name:pid,pid;name:pid")
for part in pids.split(";"):
    name, _, ids = part.partition(":")
    groups[name] = [int(p) for p in ids.split(",") if p]
clk = os.sysconf("SC_CLK_TCK")
conn = http.client.HTTPConnection(host, port, timeout=60)
auth = {"Authorization": "Bearer " + key}

def call(method, path, body=None):
    headers = dict(auth)
    if body is not None:
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    return r.status, data

def ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except OSError:
        return 0

def cpu():
    return {name: sum(ticks(p) for p in ps) for name, ps in groups.items()}

def metrics():
    _, text = call("GET", "/metrics")
    out = {}
    for line in text.decode().splitlines():
        for name in ("hecs_task_commands_sent_total", "hecs_acks_sent_total", "hecs_acks_pending",
                     "hecs_acks_overdue_total",
                     "hecs_task_results_stored_total", "hecs_task_results_ignored_total"):
            if line.startswith(name + " "):
                out[name] = float(line.split()[1])
    return out

body = json.dumps({"target": {"selector": "!hecs-bench-none"},
                   "command": {"argv": ["uname", "-a"]}, "confirm": True})
m0 = metrics(); c0 = cpu()
t0 = time.time() * 1000
status, data = call("POST", "/api/v1/tasks", body)
t_post = time.time() * 1000
if status != 201:
    sys.exit(f"POST /api/v1/tasks: {status} {data[:300]!r}")
task = json.loads(data)["id"]
deadline = time.time() + 300
counts = {}
while True:
    _, data = call("GET", f"/api/v1/tasks/{task}")
    t_all = time.time() * 1000
    counts = json.loads(data)["counts"]
    if counts["succeeded"] >= n or counts["queued"] + counts["sent"] + counts["running"] == 0:
        break
    if time.time() > deadline:
        sys.exit(f"task {task}: not done after 300 s: {counts}")
    time.sleep(0.1)
c1 = cpu(); m1 = metrics()
# Acks leave from a low-priority thread: when none waits any more, every stored result is
# acknowledged (a hecs-control without the gauge sent them before "all stored": no reading).
t_acked = None
m2 = m1
if "hecs_acks_pending" in m1:
    while True:
        t_acked = time.time() * 1000
        m2 = metrics()
        if m2.get("hecs_acks_pending", 0) == 0 or time.time() > deadline:
            break
        time.sleep(0.05)
conn.close()

rows = sqlite3.connect(f"file:{db}?mode=ro", uri=True).execute(
    "SELECT sent_at, ended_at, updated_at FROM task_runs WHERE task_id = ?", (task,)).fetchall()
def pct(values, p):  # nearest rank
    values = sorted(values)
    if not values:
        return float("nan")
    return values[max(0, min(len(values) - 1, -(-len(values) * p // 100) - 1))]
sent = [r[0] - t0 for r in rows if r[0] is not None]
ended = [r[1] - t0 for r in rows if r[1] is not None]
stored = [r[2] - t0 for r in rows]
d = lambda k: int(m1.get(k, 0) - m0.get(k, 0))
out = {
    "task": task, "n": n, "succeeded": counts["succeeded"], "failed_or_other": n - counts["succeeded"],
    "sent_null": n - len(sent),
    "post_ms": round(t_post - t0), "all_ms": round(t_all - t0), "last_db_ms": round(max(stored)),
    "acked_ms": round(t_acked - t0) if t_acked is not None else "-",
    "sent_p50": round(pct(sent, 50)), "sent_p99": round(pct(sent, 99)),
    "ended_p50": round(pct(ended, 50)), "ended_p99": round(pct(ended, 99)),
    "stored_p50": round(pct(stored, 50)), "stored_p99": round(pct(stored, 99)),
    "commands": d("hecs_task_commands_sent_total"), "acks": d("hecs_acks_sent_total"),
    "results": d("hecs_task_results_stored_total"), "ignored": d("hecs_task_results_ignored_total"),
    # Acks sent at normal priority, having waited 2 s, from the POST until all were acked.
    "overdue": int(m2.get("hecs_acks_overdue_total", 0) - m0.get("hecs_acks_overdue_total", 0)),
}
for name in groups:
    out["cpu_" + name] = round((c1[name] - c0[name]) / clk, 2)
print(" ".join(f"{k}={v}" for k, v in out.items()))
PY

field() { sed -nE "s/.*(^| )$1=([^ ]+).*/\\2/p" <<<"$2"; }
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

online() {
  python3 - "http://127.0.0.1:$HTTP_PORT/api/v1/devices?online=true&limit=1" "$KEY" <<'PY'
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
print(json.load(urllib.request.urlopen(req, timeout=10))["total"])
PY
}

# The fleet's pids, comma-separated.
fleet_pids() { local IFS=,; echo "${SIM_PIDS[*]}${AGENT_PIDS[*]}"; }

start_agents() {  # count
  local i dir
  AGENT_PIDS=()
  for (( i = 0; i < $1; i++ )); do
    dir=$TMP/agent-$i
    mkdir -p "$dir"
    "$BIN/hecs-agent" --state-dir "$dir" --enroll-file "" --mqtt-url "mqtt://127.0.0.1:$MQTT_PORT" \
      --command-keys-file "$TMP/control/pki/signing-keys.json" --telemetry-interval "$INTERVAL" \
      --log-level warn >"$TMP/agent-$i.log" 2>&1 &
    AGENT_PIDS+=($!)
    PIDS+=($!)
  done
}

# One fleet: broker, control plane, fleet, REPEATS measured tasks; a table row.
run_fleet() {  # sim|agent count
  local kind=$1 n=$2 r line all=() post=() db=() s50=() s99=() e50=() e99=() t50=() t99=()
  local cc=() cm=() cf=() cmds=() acks=() res=() nulls=() acked=() overdue=() fails=0 label
  start_task_broker
  rm -rf "$TMP/control"
  start_control --log-level warn
  KEY=$(grep '^hecs_' "$TMP/control/admin-credentials" | tail -n 1)
  SIM_PIDS=(); AGENT_PIDS=()
  if [[ $kind == sim ]]; then
    SIM_ARGS=(--task-output "$OUTPUT")
    (( VERIFY )) && SIM_ARGS+=(--command-keys-file "$TMP/control/pki/signing-keys.json")
    start_sim_fleet "$n" "$INTERVAL"
    label="$n simulated agents"
  else
    start_agents "$n"
    label="$n hecs-agent processes"
  fi
  for _ in $(seq 1 600); do
    (( $(online) >= n )) && break
    sleep 0.2
  done
  (( $(online) >= n )) || { echo "only $(online) of $n devices online" >&2; exit 1; }
  sleep 3  # the hellos' "keys" commands and resend checks settle
  for (( r = 1; r <= REPEATS; r++ )); do
    line=$(python3 "$TMP/fanout.py" 127.0.0.1 "$HTTP_PORT" "$KEY" "$n" "$TMP/control/hecs.db" \
      "control:$CONTROL_PID;mosquitto:$MOSQUITTO_PID;fleet:$(fleet_pids)")
    echo "$label, task $r: $line"
    all+=("$(field all_ms "$line")"); post+=("$(field post_ms "$line")")
    db+=("$(field last_db_ms "$line")"); acked+=("$(field acked_ms "$line")")
    overdue+=("$(field overdue "$line")")
    s50+=("$(field sent_p50 "$line")"); s99+=("$(field sent_p99 "$line")")
    e50+=("$(field ended_p50 "$line")"); e99+=("$(field ended_p99 "$line")")
    t50+=("$(field stored_p50 "$line")"); t99+=("$(field stored_p99 "$line")")
    cc+=("$(field cpu_control "$line")"); cm+=("$(field cpu_mosquitto "$line")")
    cf+=("$(field cpu_fleet "$line")")
    cmds+=("$(field commands "$line")"); acks+=("$(field acks "$line")")
    res+=("$(field results "$line")"); nulls+=("$(field sent_null "$line")")
    fails=$(( fails + $(field failed_or_other "$line") ))
    sleep 3  # the last acks go out; the next task starts from a quiet system
  done
  if [[ $kind == sim && $n == "${SIZES##* }" ]] && (( PERF )); then
    profile "$n"
  fi
  m() { median "$*"; }
  # "-": a hecs-control without hecs_acks_pending (BIN= an older build)
  ma() { if [[ " $* " == *" - "* ]]; then echo "-"; else median "$*"; fi; }
  ROWS+=("| $label | $(m "${post[@]}") (${post[*]}) | $(m "${all[@]}") (${all[*]}) | $(m "${db[@]}") (${db[*]}) | $(ma "${acked[@]}") (${acked[*]}); overdue ${overdue[*]} | $(m "${s50[@]}") / $(m "${s99[@]}") | $(m "${e50[@]}") / $(m "${e99[@]}") | $(m "${t50[@]}") / $(m "${t99[@]}") (p99 ${t99[*]}) | $(m "${cc[@]}") (${cc[*]}) | $(m "${cm[@]}") | $(m "${cf[@]}") | $(m "${cmds[@]}") / $(m "${acks[@]}") / $(m "${res[@]}") | ${nulls[*]} | $fails |")
  echo "${ROWS[-1]}"
  stop_pids ${SIM_PIDS[@]+"${SIM_PIDS[@]}"} ${AGENT_PIDS[@]+"${AGENT_PIDS[@]}"}
  stop_pids "$CONTROL_PID" "$MOSQUITTO_PID"
  SIM_PIDS=(); AGENT_PIDS=(); CONTROL_PID=""
}

# One more task under perf record; the top of the profile goes to PROFILE.
profile() {  # n
  local line
  perf record -q --call-graph dwarf,8192 -F 499 -p "$CONTROL_PID" -o "$TMP/perf.data" \
    >/dev/null 2>&1 &
  local perf_pid=$!
  sleep 1
  line=$(python3 "$TMP/fanout.py" 127.0.0.1 "$HTTP_PORT" "$KEY" "$1" "$TMP/control/hecs.db" \
    "control:$CONTROL_PID;mosquitto:$MOSQUITTO_PID;fleet:$(fleet_pids)")
  sleep 1
  kill -INT "$perf_pid" 2>/dev/null || true
  wait "$perf_pid" 2>/dev/null || true
  echo "profiled task: $line"
  # Whole reports to files first: head on a pipe would end perf with SIGPIPE.
  perf report -i "$TMP/perf.data" --no-children --stdio -g none --sort symbol \
    >"$TMP/perf-self.all" 2>/dev/null || true
  perf report -i "$TMP/perf.data" --children --stdio -g none --sort symbol \
    >"$TMP/perf-children.all" 2>/dev/null || true
  grep -E '^ +[0-9.]+%' "$TMP/perf-self.all" | sed -E 's/ +$//' | cut -c1-150 | sed -n 1,25p \
    >"$TMP/perf-self.txt" || true
  # Inclusive: the project's own frames only (not Asio's, not lambdas), 3 % and more.
  grep -E '^ +[0-9.]+%' "$TMP/perf-children.all" | sed -E 's/ +$//; s/ {2,}- +- *$//' |
    awk '$1 + 0 >= 3 && $4 ~ /^hecs::/ && $0 !~ /lambda|invoke|operator\(\)|_M_invoke/' |
    cut -c1-150 | sed -n 1,30p >"$TMP/perf-children.txt" || true
  echo "self:"; cat "$TMP/perf-self.txt"; echo "inclusive:"; cat "$TMP/perf-children.txt"
  PROFILE=$'\n'"Profile of hecs-control during one more task to $1 simulated agents (perf record --call-graph dwarf -F 499; all stored in $(field all_ms "$line") ms under the profiler; % of its samples). Self time, top 12: "
  PROFILE+=$(head -12 "$TMP/perf-self.txt" | awk '{pct = $1; $1 = ""; $2 = ""; sub(/^ +/, ""); printf "%s %s; ", pct, $0}')
  PROFILE+=$'\n\n'"Inclusive (children), frames of 3 % and more: "
  PROFILE+=$(awk '{pct = $1; $1 = ""; $2 = ""; $3 = ""; sub(/^ +/, ""); printf "%s %s; ", pct, $0}' "$TMP/perf-children.txt")
  rm -f "$TMP/perf.data"
}

for n in $SIZES; do
  echo "== $n simulated agents"
  run_fleet sim "$n"
done
if (( REAL_AGENTS > 0 )); then
  echo "== $REAL_AGENTS hecs-agent processes"
  run_fleet agent "$REAL_AGENTS"
fi

TABLE=$(
  echo "| fleet | POST answered, ms | POST → all N stored (poll), ms | POST → last stored (db), ms | POST → all acked, ms | per device POST → sent p50 / p99, ms | POST → ended (agent clock) p50 / p99, ms | POST → stored p50 / p99, ms | CPU s hecs-control | CPU s Mosquitto | CPU s fleet | task commands / acks / results stored | runs with sent_at null, per task | runs not succeeded |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
  [[ -z $PROFILE ]] || printf '%s\n' "$PROFILE"
)
echo "$TABLE"
append_results "tasks" \
  "BIN=$BIN HECS_BENCH_TASK_SIZES=\"$SIZES\" HECS_BENCH_TASK_AGENTS=$REAL_AGENTS HECS_BENCH_TASK_REPEATS=$REPEATS HECS_BENCH_TASK_OUTPUT=$OUTPUT HECS_BENCH_TASK_INTERVAL=$INTERVAL HECS_BENCH_TASK_VERIFY=$VERIFY HECS_BENCH_TASK_PERF=$PERF${BROKER_INFLIGHT:+ HECS_BENCH_BROKER_INFLIGHT=$BROKER_INFLIGHT} bench/tasks.sh" \
  "per fleet a fresh private Mosquitto on 127.0.0.1 (no persistence, max_inflight_messages ${BROKER_INFLIGHT:-20 (default)}) and hecs-control (SQLite in the temp dir, plain MQTT, one worker per core); the fleet (hecs-sim agents that $( (( VERIFY )) && echo "verify every command with the control plane's keys" || echo "read commands unverified") and answer each task with one message, \"succeeded\" carrying $OUTPUT bytes of stdout; or real hecs-agent processes running \`uname -a\`), telemetry every ${INTERVAL} s; once all are online, $REPEATS tasks one after the other, each {\"target\": {\"selector\": \"!hecs-bench-none\"} (the whole fleet), \"command\": {\"argv\": [\"uname\", \"-a\"]}, \"confirm\": true}. Medians of the $REPEATS tasks, each reading in parentheses. POST answered = its round trip (target resolved, N runs stored); all stored = POST sent → first GET /api/v1/tasks/{id} (polled every 100 ms) counting N succeeded; last stored (db) = POST sent → max(task_runs.updated_at), read from the SQLite file (the time the batch that stored the final state began); all acked = POST sent → first /metrics poll (every 50 ms, after all stored) with hecs_acks_pending 0: every result acknowledged, with the acks sent at normal priority after waiting 2 s (hecs_acks_overdue_total) per task; per device: POST → sent_at (one time per dispatch pass, taken before its commands are signed), → ended_at (reported by the agent, same machine clock), → updated_at (stored; the API has no stored-at time). CPU = utime+stime from /proc/PID/stat between the POST and the last poll; counters = /metrics deltas over that window. Everything on this machine's $(nproc) cores." \
  "$TABLE"
