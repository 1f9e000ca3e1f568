#!/usr/bin/env bash
# admin_panel: the Fleet page of the admin panel with a large fleet (issue 7, point 8), measured in
# Debian's headless Chromium driven by playwright-core (bench/admin_panel.mjs).
#
# A fresh private Mosquitto and hecs-control (SQLite in the temp dir, plain MQTT and HTTP,
# serving the built panel), then DEVICES simulated agents (hecs-sim, telemetry every 60 s); once
# all are online, the superadmin signs in and, REPEATS times:
#   first render   a fresh load of /fleet (the panel's files from hecs-control, session kept)
#                  until the first device row is in the page; navigation start -> that mutation,
#                  read from the page's own clock (performance.now());
#   all listed     the same load until the list knows the whole fleet (its total, from the API);
#   scroll         the list scrolled from top to bottom one screen per animation frame, as a fast
#                  wheel would, until the fleet's last device (by the list's order) is shown: time,
#                  frames, the longest frame and the 95th percentile frame, the frames it waited at
#                  the end of the rows loaded so far (the next page not there yet), and the most
#                  rows the page held at once (a virtualised list keeps that near one screen).
# Medians of the REPEATS loads are reported with each reading. Loopback only; everything started is
# stopped on exit.
#   BIN=<dir with hecs-control, hecs-sim>       default: build/bin
#   WEB=<built panel>                           default: build/web/admin
#   NODE_MODULES=<dir with playwright-core>     default: build/web/admin-work/node_modules
#   HECS_BENCH_PANEL_DEVICES=<n>                default 10000
#   HECS_BENCH_PANEL_REPEATS=<n>                default 3
#   HECS_BENCH_RESULTS=<file>                   default: bench/RESULTS.md
# Default run: about 2 minutes.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BIN=${BIN:-build/bin}
WEB=${WEB:-build/web/admin}
NODE_MODULES=${NODE_MODULES:-build/web/admin-work/node_modules}
DEVICES=${HECS_BENCH_PANEL_DEVICES:-10000}
REPEATS=${HECS_BENCH_PANEL_REPEATS:-3}
RESULTS=${HECS_BENCH_RESULTS:-$ROOT/bench/RESULTS.md}
CHROMIUM=${HECS_CHROMIUM:-/usr/bin/chromium}

for b in hecs-control hecs-sim; do
  [[ -x $BIN/$b ]] || { echo "missing $BIN/$b (set BIN=)" >&2; exit 2; }
done
[[ -f $WEB/index.html ]] || { echo "the panel is not built in $WEB (ninja -C build hecs_web_admin)" >&2; exit 2; }
[[ -d $NODE_MODULES/playwright-core ]] || { echo "no playwright-core in $NODE_MODULES (set NODE_MODULES=)" >&2; exit 2; }
[[ -x $CHROMIUM ]] || { echo "no $CHROMIUM: run scripts/install-deps.sh" >&2; exit 2; }
for c in mosquitto python3 node; do
  command -v "$c" >/dev/null || { echo "missing $c" >&2; exit 2; }
done

# shellcheck source=bench/lib/common.bash
source "$ROOT/bench/lib/common.bash"

start_mosquitto
start_control --log-level warn --web-root "$(cd "$WEB" && pwd)"
KEY=$(grep '^hecs_' "$TMP/control/admin-credentials" | tail -n 1)
PASSWORD=$(sed -n 's/^password: //p' "$TMP/control/admin-credentials")
start_sim_fleet "$DEVICES" 60

online() {
  python3 - "http://127.0.0.1:$HTTP_PORT/api/v1/devices?online=true&limit=1" "$KEY" <<'PY'
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
print(json.load(urllib.request.urlopen(req, timeout=10))["total"])
PY
}
for _ in $(seq 1 120); do
  (( $(online) >= DEVICES )) && break
  sleep 0.5
done
(( $(online) >= DEVICES )) || { echo "only $(online) of $DEVICES devices online" >&2; exit 1; }
echo "all $DEVICES devices online"

OUT=$(HECS_WEB_NODE_MODULES=$(cd "$NODE_MODULES" && pwd) HECS_CHROMIUM=$CHROMIUM \
  timeout -k 5 600 node "$ROOT/bench/admin_panel.mjs" "http://127.0.0.1:$HTTP_PORT" admin "$PASSWORD" \
  "$DEVICES" "$REPEATS" | tee /dev/stderr | grep '^result ')

field() { sed -nE "s/.*(^| )$1=([^ ]+).*/\\2/p" <<<"$2"; }
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
col() {  # name -> "median (r1, r2, …)"
  local values="" line
  while read -r line; do values+="$(field "$1" "$line") "; done <<<"$OUT"
  echo "$(median "$values") ($(sed -E 's/ $//; s/ /, /g' <<<"$values"))"
}

TABLE="| figure ($DEVICES devices, median of $REPEATS loads) | value |
|---|---|
| first render: navigation → first device row, ms | $(col first_row_ms) |
| navigation → list knows the whole fleet (total shown), ms | $(col total_ms) |
| scroll top → last device shown, ms | $(col scroll_ms) |
| frames during the scroll | $(col frames) |
| longest frame, ms | $(col max_frame_ms) |
| 95th percentile frame, ms | $(col p95_frame_ms) |
| frames in which rows in view were not read yet (the loading placeholder showed) | $(col stalled) |
| most device rows in the page at once | $(col max_rows) |
| device pages fetched during the scroll | $(col pages) |"
echo "$TABLE"

append_results "Admin panel: Fleet page with $DEVICES devices (headless Chromium)" \
  "bench/admin_panel.sh" \
  "a fresh private Mosquitto and hecs-control (SQLite in the temp dir, plain MQTT and HTTP, serving the built panel from $WEB); $DEVICES hecs-sim agents, telemetry every 60 s, all online; Debian's Chromium $("$CHROMIUM" --version 2>/dev/null | awk '{print $2}') headless (playwright-core), 1280×800, signed in as the superadmin. Each load is a fresh navigation to /fleet with the session kept; times are the page's own clock (performance.now(), from navigation start). The scroll moves the list's scroll container by one client height per animation frame until the last device is in the page." \
  "$TABLE"
