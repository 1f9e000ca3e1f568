#!/usr/bin/env bash
# `make demo`: Mosquitto, hecs-control on SQLite and three local agents, all on loopback.
# State lives in .demo/ (kept between runs, so the admin key stays the same). Ctrl-C stops
# everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-build/bin}
DEMO=${HECS_DEMO_DIR:-.demo}
MQTT_PORT=${HECS_DEMO_MQTT_PORT:-1883}
HTTP_PORT=${HECS_DEMO_HTTP_PORT:-8080}
AGENTS=${HECS_DEMO_AGENTS:-3}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$MQTT_PORT" "$HTTP_PORT"; do
  if port_busy "$p"; then
    echo "demo: port $p is already in use; set HECS_DEMO_MQTT_PORT / HECS_DEMO_HTTP_PORT" >&2
    exit 1
  fi
done

mkdir -p "$DEMO/mosquitto" "$DEMO/control" "$DEMO/logs"
pids=()
stop_all() {
  trap - INT TERM EXIT
  echo
  echo "demo: stopping ${#pids[@]} processes"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "demo: stopped (state kept in $DEMO/; remove it for a fresh start)"
}
trap 'stop_all; exit 0' INT TERM
trap 'stop_all' EXIT

cat >"$DEMO/mosquitto/mosquitto.conf" <<CONF
# Demo broker: plain MQTT on loopback only (TLS and ACLs come with enrolment, issue 4).
listener $MQTT_PORT 127.0.0.1
allow_anonymous true
max_packet_size 1048576
persistence true
persistence_location $PWD/$DEMO/mosquitto/
log_dest stderr
CONF
# Started as root, Mosquitto runs as user "mosquitto": it must own its persistence directory.
if [[ $(id -u) -eq 0 ]] && id mosquitto >/dev/null 2>&1; then
  chown mosquitto: "$DEMO/mosquitto"
fi
/usr/sbin/mosquitto -c "$DEMO/mosquitto/mosquitto.conf" >"$DEMO/logs/mosquitto.log" 2>&1 &
pids+=($!)

wait_port() {
  for _ in $(seq 1 100); do port_busy "$1" && return 0; sleep 0.1; done
  echo "demo: $2 did not start; see $DEMO/logs/" >&2
  exit 1
}
wait_port "$MQTT_PORT" mosquitto

"$BIN/hecs-control" --data-dir "$DEMO/control" --http-listen "127.0.0.1:$HTTP_PORT" \
  --mqtt-url "mqtt://127.0.0.1:$MQTT_PORT" >"$DEMO/logs/control.log" 2>&1 &
pids+=($!)
wait_port "$HTTP_PORT" hecs-control

for i in $(seq 1 "$AGENTS"); do
  "$BIN/hecs-agent" --state-dir "$DEMO/agent-$i" --mqtt-url "mqtt://127.0.0.1:$MQTT_PORT" \
    --telemetry-interval 5 >"$DEMO/logs/agent-$i.log" 2>&1 &
  pids+=($!)
done

key=$(grep '^hecs_' "$DEMO/control/admin-credentials")
cat <<MSG

HECS demo is running: Mosquitto, hecs-control (SQLite) and $AGENTS agents.

  REST API     http://127.0.0.1:$HTTP_PORT/api/v1/devices
  Admin key    $key
               (also in $DEMO/control/admin-credentials)
  Metrics      http://127.0.0.1:$HTTP_PORT/metrics
  Logs         $DEMO/logs/

Try, in another terminal:

  export HECS_URL=http://127.0.0.1:$HTTP_PORT HECS_API_KEY=$key
  $BIN/hecsctl devices list
  $BIN/hecsctl devices show <ID>
  curl -H "Authorization: Bearer \$HECS_API_KEY" \$HECS_URL/api/v1/devices

Press Ctrl-C to stop everything.
MSG

# Exit (and clean up) as soon as any of our processes dies, or on Ctrl-C.
wait -n "${pids[@]}" || true
echo "demo: a process exited unexpectedly; see $DEMO/logs/" >&2
exit 1
