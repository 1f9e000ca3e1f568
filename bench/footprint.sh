#!/usr/bin/env bash
# footprint: hecs-agent against three Debian-packaged agents, prometheus-node-exporter,
# zabbix-agent (zabbix_agentd) and mender-client, measured in the same run by the same method.
# The four daemons run concurrently, each from its Debian (or our) binary in the foreground with
# a minimal config in the temp dir, each alone in its own network namespace joined to the host
# by a veth pair (link-local 169.254.x.0/30, IPv6 off, static neighbours: no link chatter).
# Their upstreams run on the host side: a private Mosquitto plus hecs-control (which acks
# telemetry: without acks hecs-agent resends after --ack-timeout), a Prometheus-like scraper, a
# stand-in Zabbix 6.0 server and a stand-in Mender server that has not accepted the device.
# Timeline: start all four, SETTLE (10) s of start-up, then a window of WINDOW s (default
# 2 x IDLE = 120 s: four telemetry intervals, one Zabbix RefreshActiveChecks). Each figure
# is summed over the daemon's whole process tree (the daemon and all its descendants, e.g.
# zabbix_agentd's 5 children):
#   idle RSS, PSS       sum of Rss, Pss over the tree (/proc/PID/smaps_rollup), read IDLE s
#                       into the window; RSS counts pages shared inside the tree once per process
#   peak RSS            sum of VmHWM over the tree (/proc/PID/status) at the end
#   CPU s / idle minute delta over the window of utime+stime+cutime+cstime summed over the tree
#                       (/proc/PID/stat, 10 ms ticks; reaped children count via their parent),
#                       / CLK_TCK, per 60 s. Secondary, finer: on-CPU ns of the live threads
#                       (/proc/PID/task/TID/schedstat)
#   stripped binary     bytes of `strip -o` of the main executable ($BIN/hecs-agent,
#                       /usr/bin/prometheus-node-exporter, /usr/sbin/zabbix_agentd, /usr/bin/mender)
#   bytes sent / hour   bytes of the frames the daemon's namespace sent during the window
#                       (rx_bytes of the host end of its veth: Ethernet, IP and TCP headers,
#                       handshakes and ACKs included) x 3600 / window. Pushed or pulled alike:
#                       node exporter is scraped every hecs-agent telemetry interval (same
#                       sampling rate; the notes give bytes per scrape to rescale to Prometheus'
#                       1 min default); zabbix_agentd pushes active checks carrying what one
#                       hecs-agent sample carries, at the same interval; mender-client is
#                       unenrolled (401) and retries its auth request. Clear text for all four.
# Secondary rows: processes/threads, installed package size (dpkg Installed-Size), stripped binary
# plus the shared libraries it maps, start-up bytes, packets per hour, what the upstream saw.
# Needs root (network namespaces; a private bind mount for mender). Takes WINDOW + about 15 s
# (some 2 min 15 s by default). Everything it starts is stopped, and its namespaces removed, on
# exit, Ctrl-C or failure. Appends a section to bench/RESULTS.md.
#   BIN=<dir with hecs-agent, hecs-control>   default: build/bin
#   HECS_BENCH_IDLE_SECONDS=<n>               RSS/PSS read n s into the window, default 60
#   HECS_BENCH_WINDOW_SECONDS=<n>             CPU and traffic window, default 2 x IDLE (>= IDLE)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BIN=${BIN:-build/bin}
IDLE=${HECS_BENCH_IDLE_SECONDS:-60}
[[ $IDLE =~ ^[0-9]+$ && $IDLE -gt 0 ]] || { echo "HECS_BENCH_IDLE_SECONDS must be a positive integer" >&2; exit 2; }
WINDOW=${HECS_BENCH_WINDOW_SECONDS:-$(( 2 * IDLE ))}
[[ $WINDOW =~ ^[0-9]+$ && $WINDOW -ge $IDLE ]] || { echo "HECS_BENCH_WINDOW_SECONDS must be an integer >= HECS_BENCH_IDLE_SECONDS" >&2; exit 2; }
# Every daemon's periodic sends start within ~5 s of launch: starting the window at 10 s keeps
# its edges between them.
SETTLE=10
RESULTS=$ROOT/bench/RESULTS.md
RSS_TARGET_KB=7812  # "RSS under 8 MB": 8,000,000 bytes = 7812.5 KiB (/proc's kB are KiB)

for b in hecs-agent hecs-control; do
  [[ -x $BIN/$b ]] || { echo "missing $BIN/$b (set BIN=)" >&2; exit 2; }
done
NODE_EXE=/usr/bin/prometheus-node-exporter
ZABBIX_EXE=/usr/sbin/zabbix_agentd
MENDER_EXE=/usr/bin/mender
for exe in $NODE_EXE $ZABBIX_EXE $MENDER_EXE; do
  [[ -x $exe ]] || { echo "missing $exe (run scripts/install-deps.sh)" >&2; exit 2; }
done
for t in mosquitto mosquitto_sub python3 strip ip unshare mount dpkg-query; do
  command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 2; }
done
[[ $(id -u) -eq 0 ]] || { echo "footprint.sh needs root (network namespaces, bind mount)" >&2; exit 2; }

# shellcheck source=bench/lib/common.bash
source "$ROOT/bench/lib/common.bash"
# shellcheck source=bench/lib/footprint.bash
source "$ROOT/bench/lib/footprint.bash"
CLEANUP_HOOKS+=(fp_cleanup)

DAEMONS=(agent node zabbix mender)
declare -A LABEL=([agent]=hecs-agent [node]=prometheus-node-exporter [zabbix]=zabbix-agent [mender]=mender-client)
declare -A EXE=([agent]=$BIN/hecs-agent [node]=$NODE_EXE [zabbix]=$ZABBIX_EXE [mender]=$MENDER_EXE)
declare -A PKG=([node]=prometheus-node-exporter [zabbix]=zabbix-agent [mender]=mender-client)
declare -A PID

fp_pick_subnet
i=0
for d in "${DAEMONS[@]}"; do fp_netns_add "$d" "$i"; i=$(( i + 1 )); done
TELEMETRY_INTERVAL=$("$BIN/hecs-agent" --help | sed -nE 's/.*--telemetry-interval [^=]*=([0-9]+).*/\1/p')
[[ $TELEMETRY_INTERVAL =~ ^[0-9]+$ ]] || { echo "cannot read hecs-agent's default telemetry interval" >&2; exit 1; }

# --- upstreams, host side ---
# Mosquitto on loopback (for hecs-control and the observer) and on the agent's veth.
MQTT_PORT=$(free_port)
printf '%s\n' "listener $MQTT_PORT 127.0.0.1" "listener $MQTT_PORT ${HOST_IP[agent]}" \
  "allow_anonymous true" "persistence false" "log_dest stderr" >"$TMP/mosquitto.conf"
mosquitto -c "$TMP/mosquitto.conf" >"$TMP/mosquitto.log" 2>&1 &
MOSQUITTO_PID=$!
PIDS+=("$MOSQUITTO_PID")
fp_wait_tcp 127.0.0.1 "$MQTT_PORT" 10 || { echo "mosquitto did not listen on $MQTT_PORT" >&2; exit 1; }
# shellcheck disable=SC2119  # start_control takes extra flags, none here
start_control
# Observer on loopback: every message the agent publishes (time, topic, payload bytes).
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t 'hecs/v1/dev/+/up/#' -F '%U %t %l' \
  >"$TMP/observer.out" 2>"$TMP/observer.log" &
PIDS+=($!)

fp_write_scraper; fp_write_zabbix_server; fp_write_mender_server
ZABBIX_PORT=$(free_port)
fp_zabbix_items "$TELEMETRY_INTERVAL" "${NS_IF[zabbix]}" >"$TMP/zabbix_items.json"
ZABBIX_ITEMS=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$TMP/zabbix_items.json")
python3 "$TMP/zabbix_server.py" "${HOST_IP[zabbix]}" "$ZABBIX_PORT" "$TMP/zabbix_items.json" \
  >"$TMP/zabbix_server.out" 2>"$TMP/zabbix_server.log" &
PIDS+=($!)
MENDER_PORT=$(free_port)
python3 "$TMP/mender_server.py" "${HOST_IP[mender]}" "$MENDER_PORT" \
  >"$TMP/mender_server.out" 2>"$TMP/mender_server.log" &
PIDS+=($!)
fp_wait_tcp "${HOST_IP[zabbix]}" "$ZABBIX_PORT" 10 || { echo "zabbix stand-in did not listen" >&2; exit 1; }
fp_wait_tcp "${HOST_IP[mender]}" "$MENDER_PORT" 10 || { echo "mender stand-in did not listen" >&2; exit 1; }

# --- configs, all in TMP ---
mkdir -p "$TMP/agent" "$TMP/zabbix" "$TMP/mender/data" "$TMP/mender/etc" "$TMP/mender/identity"
# Debian's zabbix_agentd.conf, with what would write outside TMP or point at 127.0.0.1 replaced.
# AllowRoot=1: as root it would switch to user zabbix, which cannot read TMP (0700).
ZABBIX_DEFAULT=/etc/zabbix/zabbix_agentd.conf
[[ -f $ZABBIX_DEFAULT ]] || ZABBIX_DEFAULT=/usr/share/zabbix-agent/zabbix_agentd.conf
{
  grep -vE '^[[:space:]]*(PidFile|LogFile|LogType|Server|ServerActive|ListenIP|Hostname|Include|AllowRoot)=' "$ZABBIX_DEFAULT"
  printf '%s\n' "PidFile=$TMP/zabbix/zabbix_agentd.pid" "LogType=console" \
    "Server=${HOST_IP[zabbix]}" "ServerActive=${HOST_IP[zabbix]}:$ZABBIX_PORT" \
    "ListenIP=${NS_IP[zabbix]}" "Hostname=hecs-footprint" "AllowRoot=1"
} >"$TMP/zabbix/zabbix_agentd.conf"
# Mender: Debian's production example (poll intervals 1800/28800/300 s) pointing at the stand-in.
# The identity script path (/usr/share/mender/identity) and /etc/mender/artifact_info are compiled
# in: a private mount namespace binds TMP directories over both, for mender alone.
cat >"$TMP/mender/mender.conf" <<EOF
{
  "ServerURL": "http://${HOST_IP[mender]}:$MENDER_PORT",
  "InventoryPollIntervalSeconds": 28800,
  "UpdatePollIntervalSeconds": 1800,
  "RetryPollIntervalSeconds": 300,
  "DeviceTypeFile": "$TMP/mender/data/device_type",
  "DBus": {"Enabled": false}
}
EOF
echo "device_type=hecs-footprint" >"$TMP/mender/data/device_type"
echo "artifact_name=hecs-footprint-1" >"$TMP/mender/etc/artifact_info"
printf '#!/bin/sh\necho mac=%s\n' "$(ip -n "${NETNS[mender]}" -o link show "${NS_IF[mender]}" |
  sed -nE 's/.*link\/ether ([0-9a-f:]+).*/\1/p')" >"$TMP/mender/identity/mender-device-identity"
chmod +x "$TMP/mender/identity/mender-device-identity"

# --- the four daemons, concurrently (ip netns exec and unshare exec: $! is the daemon) ---
ip netns exec "${NETNS[agent]}" "$BIN/hecs-agent" --state-dir "$TMP/agent" \
  --mqtt-url "mqtt://${HOST_IP[agent]}:$MQTT_PORT" \
  --command-keys-file "$TMP/control/pki/signing-keys.json" >"$TMP/agent.log" 2>&1 &
PID[agent]=$!; PIDS+=($!)
ip netns exec "${NETNS[node]}" "$NODE_EXE" --web.listen-address="${NS_IP[node]}:9100" \
  >"$TMP/node.log" 2>&1 &
PID[node]=$!; PIDS+=($!)
ip netns exec "${NETNS[zabbix]}" "$ZABBIX_EXE" -f -c "$TMP/zabbix/zabbix_agentd.conf" \
  >"$TMP/zabbix.log" 2>&1 &
PID[zabbix]=$!; PIDS+=($!)
# shellcheck disable=SC2016  # expanded by sh -c, from its arguments
ip netns exec "${NETNS[mender]}" unshare -m --propagation private sh -c \
  'mount --bind "$1/identity" /usr/share/mender/identity && mount --bind "$1/etc" /etc/mender &&
   exec "$2" --no-syslog -c "$1/mender.conf" -b "$1/none.conf" -d "$1/data" daemon' \
  sh "$TMP/mender" "$MENDER_EXE" >"$TMP/mender.log" 2>&1 &
PID[mender]=$!; PIDS+=($!)
python3 "$TMP/scraper.py" "${NS_IP[node]}" 9100 "$TELEMETRY_INTERVAL" >"$TMP/scraper.out" 2>"$TMP/scraper.log" &
PIDS+=($!)

fp_sleep "$SETTLE"
for d in "${DAEMONS[@]}"; do alive "${PID[$d]}" "${LABEL[$d]}"; done
[[ $(readlink "/proc/${PID[mender]}/exe") == "$MENDER_EXE" ]] || { echo "mender did not start" >&2; exit 1; }
CLK=$(getconf CLK_TCK)
declare -A TICKS0 NS0 BYTES0 PKTS0 TICKS1 NS1 BYTES1 PKTS1
# shellcheck disable=SC2034,SC2004  # writes through namerefs
snapshot() {  # 0|1: fills TICKS<n>, NS<n>, BYTES<n>, PKTS<n>
  local d
  local -n ticks=TICKS$1 ns=NS$1 bytes=BYTES$1 pkts=PKTS$1
  for d in "${DAEMONS[@]}"; do
    alive "${PID[$d]}" "${LABEL[$d]}"
    ticks[$d]=$(fp_tree_ticks "${PID[$d]}"); ns[$d]=$(fp_tree_runtime_ns "${PID[$d]}")
    bytes[$d]=$(fp_sent_bytes "$d"); pkts[$d]=$(fp_sent_packets "$d")
  done
}
T0=$(date +%s.%N)
snapshot 0
echo "window: ${WINDOW} s after ${SETTLE} s of start-up, RSS/PSS at ${IDLE} s (namespaces ${FP_TAG}-*, ${FP_SUBNET}.0/24)"
fp_sleep "$IDLE"
T_MEM=$(date +%s.%N)
declare -A RSS PSS
for d in "${DAEMONS[@]}"; do
  alive "${PID[$d]}" "${LABEL[$d]}"
  RSS[$d]=$(fp_tree_smaps_kb "${PID[$d]}" Rss); PSS[$d]=$(fp_tree_smaps_kb "${PID[$d]}" Pss)
done
fp_sleep $(( WINDOW - IDLE ))
T1=$(date +%s.%N)
snapshot 1
ELAPSED=$(awk -v a="$T0" -v b="$T1" 'BEGIN {printf "%.1f", b - a}')
MEM_AT=$(awk -v a="$T0" -v b="$T_MEM" 'BEGIN {printf "%.0f", b - a}')

# --- readings ---
declare -A HWM CPU_MIN CPU_MS PROCS THREADS STRIPPED CODE SENT_H PKTS_H STARTUP INSTALLED
for d in "${DAEMONS[@]}"; do
  p=${PID[$d]}
  HWM[$d]=$(fp_tree_status_kb "$p" VmHWM)
  PROCS[$d]=$(fp_tree_count "$p"); THREADS[$d]=$(fp_tree_status_kb "$p" Threads)
  CPU_MIN[$d]=$(awk -v t=$(( TICKS1[$d] - TICKS0[$d] )) -v k="$CLK" -v e="$ELAPSED" 'BEGIN {printf "%.3f", t/k*60/e}')
  CPU_MS[$d]=$(awk -v t=$(( NS1[$d] - NS0[$d] )) -v e="$ELAPSED" 'BEGIN {printf "%.1f", t/1e6*60/e}')
  SENT_H[$d]=$(awk -v b=$(( BYTES1[$d] - BYTES0[$d] )) -v e="$ELAPSED" 'BEGIN {printf "%.0f", b*3600/e}')
  PKTS_H[$d]=$(awk -v b=$(( PKTS1[$d] - PKTS0[$d] )) -v e="$ELAPSED" 'BEGIN {printf "%.0f", b*3600/e}')
  STARTUP[$d]=${BYTES0[$d]}
  strip -o "$TMP/$d.stripped" "${EXE[$d]}"
  STRIPPED[$d]=$(stat -c %s "$TMP/$d.stripped")
  CODE[$d]=$(( STRIPPED[$d] + $(fp_tree_lib_bytes "$p" "${EXE[$d]}") ))
  if [[ -n ${PKG[$d]:-} ]]; then
    INSTALLED[$d]="$(dpkg-query -W -f='${Installed-Size}' "${PKG[$d]}") KiB ($(dpkg-query -W -f='${Version}' "${PKG[$d]}"))"
  else
    INSTALLED[$d]="not packaged ($(stat -c %s "${EXE[$d]}") B unstripped)"
  fi
done

# What each upstream saw inside the window (from the stand-ins' logs).
in_window() { awk -v a="$T0" -v b="$T1" '$1 >= a && $1 < b' "$1"; }
declare -A SEEN
SEEN[agent]=$(in_window "$TMP/observer.out" | awk '{n++; s += $3; k[$2]++}
  END {for (t in k) {sub(/.*\/up\//, "", t); kinds = kinds sep t; sep = ","}
       printf "%d MQTT messages (%s), %d B payload", n, kinds, s}')
SEEN[node]=$(in_window "$TMP/scraper.out" | awk '$2 == "scrape" {n++; s += $4; enc = $5}
  END {printf "%d scrapes, %.0f B body each (%s)", n, (n ? s / n : 0), enc}')
SEEN[zabbix]=$(in_window "$TMP/zabbix_server.out" | awk '{n[$2]++; v += $4}
  END {printf "%d agent-data connections (%d values), %d config refresh", n["agent_data"], v, n["active_checks"]}')
SEEN[mender]=$(in_window "$TMP/mender_server.out" | awk '{n++; s += $4}
  END {printf "%d auth requests (401), %d B body", n, s}')
PER_SCRAPE=$(awk '$2 == "scrape" {s += $4; n++} END {printf "%.0f", n ? s / n : 0}' "$TMP/scraper.out")

# --- report ---
kib() { echo "$1 ($(mib "$1") MiB)"; }
id_() { echo "$1"; }
bytes() { awk -v b="$1" 'BEGIN {printf "%d (%.2f MiB)", b, b/1048576}'; }
hourly() { awk -v b="$1" 'BEGIN {printf "%d (%.1f KiB)", b, b/1024}'; }
row() {  # label format-function value-per-daemon (agent node zabbix mender)
  local out="| $1 |" fmt=$2 v
  shift 2
  for v in "$@"; do out+=" $($fmt "$v") |"; done
  echo "$out"
}
declare -A PROCTHREADS
for d in "${DAEMONS[@]}"; do PROCTHREADS[$d]="${PROCS[$d]} / ${THREADS[$d]}"; done
all() { local -n a=$1; echo "${a[agent]}" "${a[node]}" "${a[zabbix]}" "${a[mender]}"; }
TABLE=$( {
  echo "| figure (whole process tree) | hecs-agent | prometheus-node-exporter | zabbix-agent | mender-client |"
  echo "|---|---|---|---|---|"
  row "idle RSS at ${MEM_AT} s, kB (sum over processes)" kib "${RSS[agent]}" "${RSS[node]}" "${RSS[zabbix]}" "${RSS[mender]}"
  row "idle PSS at ${MEM_AT} s, kB (sum over processes)" kib "${PSS[agent]}" "${PSS[node]}" "${PSS[zabbix]}" "${PSS[mender]}"
  row "peak RSS, kB (sum of VmHWM)" kib "${HWM[agent]}" "${HWM[node]}" "${HWM[zabbix]}" "${HWM[mender]}"
  row "CPU s per idle minute (/proc/PID/stat, 10 ms ticks)" id_ "${CPU_MIN[agent]}" "${CPU_MIN[node]}" "${CPU_MIN[zabbix]}" "${CPU_MIN[mender]}"
  row "CPU ms per idle minute (schedstat, live threads)" id_ "${CPU_MS[agent]}" "${CPU_MS[node]}" "${CPU_MS[zabbix]}" "${CPU_MS[mender]}"
  row "stripped binary, bytes" bytes "${STRIPPED[agent]}" "${STRIPPED[node]}" "${STRIPPED[zabbix]}" "${STRIPPED[mender]}"
  row "bytes sent upstream per hour (frames)" hourly "${SENT_H[agent]}" "${SENT_H[node]}" "${SENT_H[zabbix]}" "${SENT_H[mender]}"
  row "*processes / threads*" id_ "${PROCTHREADS[agent]}" "${PROCTHREADS[node]}" "${PROCTHREADS[zabbix]}" "${PROCTHREADS[mender]}"
  row "*installed package (dpkg Installed-Size)*" id_ "${INSTALLED[agent]}" "${INSTALLED[node]}" "${INSTALLED[zabbix]}" "${INSTALLED[mender]}"
  row "*stripped binary + the shared libraries it maps, bytes*" bytes "${CODE[agent]}" "${CODE[node]}" "${CODE[zabbix]}" "${CODE[mender]}"
  row "*packets sent upstream per hour*" id_ "${PKTS_H[agent]}" "${PKTS_H[node]}" "${PKTS_H[zabbix]}" "${PKTS_H[mender]}"
  row "*bytes sent during start-up (first ${SETTLE} s)*" id_ "${STARTUP[agent]}" "${STARTUP[node]}" "${STARTUP[zabbix]}" "${STARTUP[mender]}"
  row "*upstream saw in the window*" id_ "${SEEN[agent]}" "${SEEN[node]}" "${SEEN[zabbix]}" "${SEEN[mender]}"
} )

# One line per figure: is hecs-agent below all three? (the smallest of the others is named)
verdict() {  # label unit agent node zabbix mender
  local label=$1 unit=$2 a=$3 best="" best_v="" i=0 v names=(node zabbix mender)
  shift 3
  for v in "$@"; do
    if [[ -z $best_v ]] || awk -v a="$v" -v b="$best_v" 'BEGIN {exit !(a < b)}'; then
      best=${names[$i]}; best_v=$v
    fi
    i=$(( i + 1 ))
  done
  if awk -v a="$a" -v b="$best_v" 'BEGIN {exit !(a < b)}'; then
    echo "- $label: hecs-agent $a $unit, below all three: **yes** (lowest other: ${LABEL[$best]} $best_v $unit)"
  else
    echo "- $label: hecs-agent $a $unit, below all three: **no** (${LABEL[$best]} $best_v $unit)"
  fi
}
RSS_OK=no; (( RSS[agent] < RSS_TARGET_KB )) && RSS_OK=yes
VERDICTS=$( {
  # shellcheck disable=SC2046  # all() prints four numbers
  {
    verdict "idle RSS" kB $(all RSS)
    echo "- idle RSS under 8 MB (8,000,000 B = $RSS_TARGET_KB kB): **$RSS_OK** (${RSS[agent]} kB)"
    verdict "idle PSS" kB $(all PSS)
    verdict "peak RSS" kB $(all HWM)
    verdict "CPU per idle minute (/proc/PID/stat, whole 10 ms ticks per process)" s $(all CPU_MIN)
    verdict "CPU per idle minute (schedstat, ns, live threads)" ms $(all CPU_MS)
    verdict "stripped binary" B $(all STRIPPED)
    verdict "bytes sent per hour" B $(all SENT_H)
  }
} )
NOTES="Node exporter: $PER_SCRAPE B of gzip body per scrape over the whole run; scraped every ${TELEMETRY_INTERVAL} s here, so at Prometheus' default scrape interval (1 min) its bytes per hour would be about half. Zabbix: $ZABBIX_ITEMS active items, every ${TELEMETRY_INTERVAL} s. Mender: unenrolled, so it only retries its auth request (each retry: auth + inventory attempt) with a back-off that grows from 1 min to RetryPollIntervalSeconds (300 s): its figure is that of its first minutes, not of an accepted device (update check every 30 min, inventory every 8 h). CPU: /proc/PID/stat gives each process's run time in whole ticks (10 ms, truncated), so a process that ran less than a tick in the window reads 0, as zabbix_agentd's six processes do; the schedstat row carries the same run time in ns and is the one to compare, but cannot see exited children (mender's identity-script shells, which the stat row counts through cutime). PSS depends on which other processes map the same libraries (hecs-control and Mosquitto share several with hecs-agent in this run). Single reading, not a median; the machine is shared, so CPU figures are an upper bound."
echo "$TABLE"
echo
echo "$VERDICTS"

append_results "footprint" "BIN=$BIN HECS_BENCH_IDLE_SECONDS=$IDLE HECS_BENCH_WINDOW_SECONDS=$WINDOW bench/footprint.sh" \
  "the four daemons ran concurrently (one run, one window), each from its own binary in the foreground with a minimal config in a temp dir, alone in its own network namespace joined to the host by a veth pair (IPv6 off, static neighbours, so no link chatter): hecs-agent (default telemetry interval ${TELEMETRY_INTERVAL} s) to a private Mosquitto, with hecs-control on loopback acking its telemetry; prometheus-node-exporter (default collectors) scraped by a Prometheus-like client (gzip, kept-alive connection) every ${TELEMETRY_INTERVAL} s; zabbix_agentd (Debian's config, active checks) to a stand-in Zabbix 6.0 server handing out $ZABBIX_ITEMS items that carry what one hecs-agent telemetry sample carries (CPU, load, memory, filesystems, interface counters, uptime), every ${TELEMETRY_INTERVAL} s; mender daemon (Debian's production intervals) unenrolled, against a stand-in server answering 401. Window ${ELAPSED} s, after ${SETTLE} s of start-up. Each figure is summed over the daemon's whole process tree (the daemon and its descendants): RSS and PSS from /proc/PID/smaps_rollup ${MEM_AT} s into the window, peak RSS = sum of VmHWM at its end, CPU = delta of utime+stime+cutime+cstime (/proc/PID/stat) over the window / CLK_TCK, per minute (the schedstat row: on-CPU ns of the live threads, finer than 10 ms ticks); stripped binary = size of \`strip -o\` of the main executable; bytes sent per hour = bytes of the frames the namespace sent during the window (rx_bytes of the host end of its veth: Ethernet/IP/TCP headers, handshakes and ACKs included), x 3600 / window. Plain TCP for all four (no TLS). Rows in italics are context, not targets." \
  "$TABLE

$VERDICTS

$NOTES"
