# Helpers of bench/ingest.sh (sourced after bench/lib/common.bash, not run): a broker that
# publishes its $SYS counters every second, a plain counting subscriber, hecs-sim fleets that
# come and go per step, and snapshots of counters and CPU ticks taken at both ends of a window.
# shellcheck shell=bash

# A private Mosquitto as start_mosquitto makes it, plus $SYS every second, which a second
# subscriber writes to $TMP/sys.out as "<unix time> <topic> <value>" lines (about 4 a second),
# and max_inflight_messages when BROKER_INFLIGHT is set (Mosquitto's default: 20 QoS 1 messages
# un-acknowledged per client). Sets MQTT_PORT, MOSQUITTO_PID, SYS_PID.
start_broker() {
  MQTT_PORT=$(free_port)
  printf '%s\n' "listener $MQTT_PORT 127.0.0.1" "allow_anonymous true" "persistence false" \
    "max_queued_messages 100000" ${BROKER_INFLIGHT:+"max_inflight_messages $BROKER_INFLIGHT"} \
    "sys_interval 1" "log_dest stderr" >"$TMP/mosquitto.conf"
  mosquitto -c "$TMP/mosquitto.conf" >"$TMP/mosquitto.log" 2>&1 &
  MOSQUITTO_PID=$!
  PIDS+=("$MOSQUITTO_PID")
  wait_tcp "$MQTT_PORT" 10 || { echo "mosquitto did not listen on $MQTT_PORT" >&2; exit 1; }
  : >"$TMP/sys.out"
  # shellcheck disable=SC2016  # $SYS is a topic, not a variable
  mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -i hecs-bench-sys -v -F '%U %t %p' \
    -t '$SYS/broker/publish/messages/#' \
    >"$TMP/sys.out" 2>"$TMP/sys-sub.log" &
  SYS_PID=$!
  PIDS+=("$SYS_PID")
}

# Latest "<time> <value>" of one $SYS/broker/<name> counter (0 0 before its first publication).
sys_counter() {
  awk -v t="\$SYS/broker/$1" '$2 == t {ts = $1; v = $3} END {print (ts == "" ? 0 : ts), v + 0}' \
    "$TMP/sys.out"
}

# The plain subscriber of the broker phase: every telemetry message, QoS 1 (as hecs-control
# subscribes), one byte ("x", no newline) appended to $TMP/count.out per message, so the file's
# size is the count. Sets SUB_PID.
start_counter() {
  : >"$TMP/count.out"
  mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -i hecs-bench-counter -q 1 -N -F x \
    -t 'hecs/v1/dev/+/up/telemetry' >"$TMP/count.out" 2>"$TMP/counter.log" &
  SUB_PID=$!
  PIDS+=("$SUB_PID")
  sleep 0.5
  alive "$SUB_PID" mosquitto_sub
}

# AGENTS simulated agents over N hecs-sim processes, telemetry every INTERVAL s (± 10 %), and
# waits until each process reports all its agents connected. Sets SIM_PIDS.
start_sims() {  # agents interval processes
  local agents=$1 interval=$2 n=$3 i first next
  SIM_PIDS=()
  for (( i = 0; i < n; i++ )); do
    first=$(( i * agents / n )); next=$(( (i + 1) * agents / n ))
    "$BIN/hecs-sim" --count $(( next - first )) --first-index "$first" --interval "$interval" \
      --ramp $(( 2000 / n )) --seed 1 --payload "$PAYLOAD" \
      --mqtt-url "mqtt://127.0.0.1:$MQTT_PORT" --log-level error >"$TMP/sim-$i.log" 2>&1 &
    SIM_PIDS+=($!)
    PIDS+=($!)
  done
  for (( i = 0; i < n; i++ )); do
    for _ in $(seq 1 120); do
      grep -q "agents connected in" "$TMP/sim-$i.log" && continue 2
      alive "${SIM_PIDS[$i]}" hecs-sim
      sleep 0.5
    done
    echo "hecs-sim $i did not connect its agents in 60 s" >&2
    exit 1
  done
}

# Sum of utime+stime (clock ticks) of the given processes; gone ones count 0.
ticks_of() {
  local t=0 p v
  for p in "$@"; do
    [[ $p =~ ^[0-9]+$ && -r /proc/$p/stat ]] || continue
    v=$(cpu_ticks "$p" 2>/dev/null) || v=0
    [[ $v =~ ^[0-9]+$ ]] || v=0
    t=$(( t + v ))
  done
  echo "$t"
}

# "<busy> <total>" clock ticks of the whole machine (all CPUs) from /proc/stat.
machine_ticks() {
  awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' \
    /proc/stat
}

# "<stored> <backlog> <dropped> <telemetry received> <acks sent> <store errors>" from /metrics.
control_sample() {
  curl -sf --max-time 5 "http://127.0.0.1:$HTTP_PORT/metrics" | awk '
    $1 == "hecs_ingest_messages_stored_total" {s = $2}
    $1 == "hecs_ingest_backlog" {b = $2}
    $1 == "hecs_ingest_dropped_total" {d = $2}
    $1 == "hecs_mqtt_messages_received_total{kind=\"telemetry\"}" {r = $2}
    $1 == "hecs_acks_sent_total" {a = $2}
    $1 == "hecs_ingest_store_errors_total" {e = $2}
    END {printf "%d %d %d %d %d %d\n", s, b, d, r, a, e}'
}

# One line of counters; snapshot_fields names them (same order). Processes that a phase does
# not run (CONTROL_PID, SUB_PID, postgres) are empty and count 0.
# shellcheck disable=SC2034  # used by bench/ingest.sh
snapshot_fields="wall ctl mosq sim sub pg busy total recv_ts recv sent_ts sent drop_ts drop \
delivered stored backlog dropped received acks errors"
# The snapshot is taken just after Mosquitto publishes its $SYS counters (every second), so
# that they and the other counters describe the same instant.
snapshot() {
  local wall c m s u g ctl_line delivered=0 seen
  seen=$(grep -c 'publish/messages/received' "$TMP/sys.out" || true)
  for _ in $(seq 1 75); do
    (( $(grep -c 'publish/messages/received' "$TMP/sys.out" || true) > seen )) && break
    sleep 0.02
  done
  wall=$(date +%s.%N)
  c=$(ticks_of "${CONTROL_PID:-}"); m=$(ticks_of "$MOSQUITTO_PID"); s=$(ticks_of "${SIM_PIDS[@]}")
  u=$(ticks_of "${SUB_PID:-}")
  # shellcheck disable=SC2046
  g=$(ticks_of $(postgres_pids))
  if [[ -n ${SUB_PID:-} ]]; then delivered=$(stat -c %s "$TMP/count.out"); fi
  if [[ -n ${CONTROL_PID:-} ]]; then ctl_line=$(control_sample); else ctl_line="0 0 0 0 0 0"; fi
  echo "$wall $c $m $s $u $g $(machine_ticks) $(sys_counter publish/messages/received)" \
    "$(sys_counter publish/messages/sent) $(sys_counter publish/messages/dropped)" \
    "$delivered $ctl_line"
}
