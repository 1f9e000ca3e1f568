# Helpers for bench/footprint.sh (sourced after common.bash, not run): one network namespace
# and veth pair per daemon, whole-process-tree readings from /proc, and the stand-in upstreams
# (Prometheus-like scraper, Zabbix server, Mender server) written as small Python programs.
# The caller sources common.bash first and adds fp_cleanup to its CLEANUP_HOOKS.
# shellcheck shell=bash

FP_TAG="fp$$"        # in every namespace and interface name: unique to this run
FP_NETNS=()          # namespaces created by this run, removed by fp_cleanup
# Per daemon name: namespace, host/namespace interface and address (read by footprint.sh).
# shellcheck disable=SC2034
declare -A NETNS HOST_IF NS_IF HOST_IP NS_IP

# 169.254.<n>.0/24 (link-local, never routed) with a /30 per daemon; <n> from the shell's pid,
# skipping 169 (cloud metadata) and any /24 already in use on this machine.
fp_pick_subnet() {
  local n i
  for (( i = 0; i < 250; i++ )); do
    n=$(( ($$ + i) % 250 + 1 ))
    [[ $n -eq 169 ]] && continue
    if ! ip -4 addr show | grep -q "inet 169\.254\.$n\." &&
       ! ip -4 route show to match "169.254.$n.1" | grep -vq '^default'; then
      FP_SUBNET="169.254.$n"
      return 0
    fi
  done
  echo "no free 169.254.x.0/24 for the namespaces" >&2
  exit 1
}

# fp_netns_add <name> <index>: namespace $FP_TAG-<name> with lo up and a veth pair
# (host side fp<pid>h<i>, namespace side fp<pid>n<i>) on 169.254.x.(4i+1)/30 and .(4i+2)/30.
# IPv6 is off and both neighbour entries are static, so the only frames on the link are those
# of the daemon and of its upstream: no router solicitations, DAD, MLD or ARP.
# shellcheck disable=SC2034  # the arrays are read by footprint.sh
fp_netns_add() {
  local name=$1 i=$2 ns="$FP_TAG-$1" h="${FP_TAG}h$2" n="${FP_TAG}n$2" hmac nmac
  ip netns add "$ns"
  FP_NETNS+=("$ns")
  ip link add "$h" type veth peer name "$n" netns "$ns"
  if [[ -e /proc/sys/net/ipv6/conf/$h/disable_ipv6 ]]; then
    echo 1 >"/proc/sys/net/ipv6/conf/$h/disable_ipv6"
  fi
  ip netns exec "$ns" sh -c "for f in /proc/sys/net/ipv6/conf/$n/disable_ipv6 /proc/sys/net/ipv6/conf/lo/disable_ipv6; do [ -e \$f ] && echo 1 >\$f; done; true"
  ip addr add "$FP_SUBNET.$(( 4 * i + 1 ))/30" dev "$h"
  ip -n "$ns" addr add "$FP_SUBNET.$(( 4 * i + 2 ))/30" dev "$n"
  hmac=$(cat "/sys/class/net/$h/address")
  nmac=$(ip -n "$ns" -o link show "$n" | sed -nE 's/.*link\/ether ([0-9a-f:]+).*/\1/p')
  ip neigh replace "$FP_SUBNET.$(( 4 * i + 2 ))" lladdr "$nmac" dev "$h" nud permanent
  ip -n "$ns" neigh replace "$FP_SUBNET.$(( 4 * i + 1 ))" lladdr "$hmac" dev "$n" nud permanent
  ip link set "$h" up
  ip -n "$ns" link set lo up
  ip -n "$ns" link set "$n" up
  NETNS[$name]=$ns; HOST_IF[$name]=$h; NS_IF[$name]=$n
  HOST_IP[$name]="$FP_SUBNET.$(( 4 * i + 1 ))"; NS_IP[$name]="$FP_SUBNET.$(( 4 * i + 2 ))"
}

# What the namespace sent = what the host side of its veth received (frames and bytes,
# Ethernet header included).
fp_sent_bytes() { cat "/sys/class/net/${HOST_IF[$1]}/statistics/rx_bytes"; }
fp_sent_packets() { cat "/sys/class/net/${HOST_IF[$1]}/statistics/rx_packets"; }

# A common.bash cleanup hook: stops anything left in our namespaces and removes them (their veth
# pairs go with them), after common.bash has stopped the processes in PIDS.
fp_cleanup() {
  local p ns
  if [[ -n ${FP_SLEEP_PID:-} ]]; then kill "$FP_SLEEP_PID" 2>/dev/null || true; fi
  for ns in "${FP_NETNS[@]}"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
}

# A sleep that a trapped TERM or INT interrupts at once (bash runs traps only between commands,
# and `wait` is one it leaves early); fp_cleanup stops the sleep too.
fp_sleep() {
  sleep "$1" &
  FP_SLEEP_PID=$!
  wait "$FP_SLEEP_PID"
}

fp_wait_tcp() {  # host port timeout_s
  python3 - "$@" <<'PY'
import socket, sys, time
host, port, deadline = sys.argv[1], int(sys.argv[2]), time.time() + float(sys.argv[3])
while time.time() < deadline:
    try:
        socket.create_connection((host, port), 0.5).close(); sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
PY
}

# ---- whole process tree of a daemon, from /proc ----

fp_tree() {  # root pid -> the root and all its descendants, one per line
  ps -e -o pid=,ppid= | awk -v root="$1" '
    { parent[$1] = $2; pids[NR] = $1 }
    END {
      keep[root] = 1; print root
      do { added = 0
        for (i in pids) { p = pids[i]
          if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; print p; added = 1 } }
      } while (added)
    }'
}
# utime+stime+cutime+cstime (children reaped inside the tree keep counting), in clock ticks
fp_tree_ticks() {
  local p t=0 v
  for p in $(fp_tree "$1"); do
    v=$(sed -E 's/^.*\) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13 + $14 + $15}') || v=0
    t=$(( t + ${v:-0} ))
  done
  echo "$t"
}
# Sum over the tree of one "Field: value" line of /proc/PID/<file> (smaps_rollup Rss/Pss,
# status VmHWM/Threads).
fp_tree_sum() {  # root file field
  local p t=0 v
  for p in $(fp_tree "$1"); do
    v=$(awk -v k="$3:" '$1==k {print $2}' "/proc/$p/$2" 2>/dev/null) || v=0
    t=$(( t + ${v:-0} ))
  done
  echo "$t"
}
fp_tree_smaps_kb() { fp_tree_sum "$1" smaps_rollup "$2"; }  # root field (Rss, Pss)
fp_tree_status_kb() { fp_tree_sum "$1" status "$2"; }       # root field (VmHWM, Threads)
# On-CPU time in ns of every live thread of the tree (/proc/PID/task/TID/schedstat, first
# field): finer than the 10 ms ticks of /proc/PID/stat, but blind to exited threads/children.
fp_tree_runtime_ns() {
  local p
  for p in $(fp_tree "$1"); do cat "/proc/$p/task/"*/schedstat 2>/dev/null || true; done |
    awk '{s += $1} END {printf "%.0f\n", s}'
}
fp_tree_count() { fp_tree "$1" | wc -l; }
# Bytes on disk of the distinct files the tree maps executable, except the main executable
# itself: its shared libraries (libc included) as installed. The caller adds the stripped binary.
fp_tree_lib_bytes() {  # root main-executable
  local p main
  main=$(readlink -f "$2")
  for p in $(fp_tree "$1"); do
    awk '$2 ~ /x/ && $6 ~ /^\// && $7 == "" {print $6}' "/proc/$p/maps" 2>/dev/null || true
  done | sort -u | while read -r f; do
    [[ $(readlink -f "$f") == "$main" ]] || stat -L -c %s "$f" 2>/dev/null || true
  done | awk '{s += $1} END {print s + 0}'
}

# ---- stand-in upstreams (run on the host side of each veth) ----

# Scrapes like Prometheus 2.42 (Debian 12): one kept-alive connection, its Accept and
# Accept-Encoding: gzip headers, 10 s timeout, a scrape every <interval> s from the first
# success. Logs "<unix time> scrape <status> <body bytes as received>".
fp_write_scraper() {
  cat >"$TMP/scraper.py" <<'PY'
import http.client, sys, time
host, port, interval = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
headers = {
    "Accept": "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
              "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "Accept-Encoding": "gzip", "User-Agent": "Prometheus/2.42.0",
    "X-Prometheus-Scrape-Timeout-Seconds": "10",
}
conn, next_t = None, None
while True:
    try:
        if conn is None:
            conn = http.client.HTTPConnection(host, port, timeout=10)
        conn.request("GET", "/metrics", headers=headers)
        r = conn.getresponse()
        body = r.read()
        print(f"{time.time():.3f} scrape {r.status} {len(body)} {r.getheader('Content-Encoding')}", flush=True)
        if next_t is None:
            next_t = time.monotonic()
    except Exception as e:  # not up yet, or a failed scrape: reconnect
        if conn is not None:
            conn.close()
        conn = None
        if next_t is None:
            time.sleep(0.2)
            continue
        print(f"{time.time():.3f} error {e}", flush=True)
    next_t += interval
    time.sleep(max(0.0, next_t - time.monotonic()))
PY
}

# A Zabbix 6.0 server as far as active checks go: hands out the items given as JSON (with a
# config_revision, so that refreshes are answered "unchanged" like a real 6.0 server does),
# acknowledges "agent data", and closes heartbeats without a reply. Logs one line per request:
# "<unix time> <request> <request bytes on the wire> <values>".
fp_write_zabbix_server() {
  cat >"$TMP/zabbix_server.py" <<'PY'
import asyncio, json, struct, sys, time, zlib
host, port = sys.argv[1], int(sys.argv[2])
items = json.load(open(sys.argv[3]))
REV = 1

async def handle(reader, writer):
    try:
        head = await reader.readexactly(5)
        if head[:4] != b"ZBXD":
            return
        flags = head[4]
        if flags & 0x04:
            size, _ = struct.unpack("<QQ", await reader.readexactly(16)); hdr = 21
        else:
            size, _ = struct.unpack("<II", await reader.readexactly(8)); hdr = 13
        data = await reader.readexactly(size)
        if flags & 0x02:
            data = zlib.decompress(data)
        req = json.loads(data)
        kind = req.get("request", "?")
        values = len(req.get("data", [])) if kind == "agent data" else 0
        print(f"{time.time():.3f} {kind.replace(' ', '_')} {hdr + size} {values}", flush=True)
        if kind == "active checks":
            resp = {"response": "success", "config_revision": REV}
            if req.get("config_revision") != REV:
                resp["data"] = items
        elif kind == "agent data":
            resp = {"response": "success",
                    "info": f"processed: {values}; failed: 0; total: {values}; seconds spent: 0.000050"}
        else:
            return
        out = json.dumps(resp).encode()
        writer.write(b"ZBXD\x01" + struct.pack("<II", len(out), 0) + out)
        await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError) as e:
        if not (isinstance(e, asyncio.IncompleteReadError) and not e.partial):  # a probe
            print(f"{time.time():.3f} error {e!r}", flush=True)
    finally:
        writer.close()

async def main():
    server = await asyncio.start_server(handle, host, port)
    async with server:
        await server.serve_forever()
asyncio.run(main())
PY
}

# A Mender server that has not accepted the device: 401 with a JSON error to every request,
# as the real one answers an auth request from a pending device. Logs
# "<unix time> <method> <path> <body bytes>".
fp_write_mender_server() {
  cat >"$TMP/mender_server.py" <<'PY'
import http.server, sys, time
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def reply(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        body = b'{"error":"dev auth: unauthorized","request_id":"00000000-0000-0000-0000-000000000000"}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        print(f"{time.time():.3f} {self.command} {self.path} {n}", flush=True)
    do_GET = do_POST = do_PUT = do_PATCH = reply
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
PY
}

# Zabbix items carrying what one hecs-agent telemetry sample carries (src/proto/proto.h
# Telemetry): CPU %, load 1/5/15, memory total/available, total/used of each real filesystem
# (hecs-agent's allow-list, one mount per device, the shortest path), rx/tx bytes, packets and
# errors of each interface but lo as seen in the namespace, uptime. Temperature only when the
# machine has a thermal zone (hecs-agent omits it otherwise). Every item every <delay> s.
fp_zabbix_items() {  # delay_s interfaces... > json
  python3 - "$@" <<'PY'
import glob, json, sys
delay, ifaces = sys.argv[1], sys.argv[2:]
real = {"ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", "msdos", "exfat", "f2fs", "ntfs", "ntfs3",
        "fuseblk", "zfs", "jfs", "reiserfs", "bcachefs", "nilfs2", "hfsplus"}
by_device = {}
for line in open("/proc/mounts"):
    f = line.split()
    if len(f) >= 3 and f[2] in real and f[1].startswith("/"):
        if f[0] not in by_device or len(f[1]) < len(by_device[f[0]]):
            by_device[f[0]] = f[1]
keys = ["system.cpu.util", "system.cpu.load[all,avg1]", "system.cpu.load[all,avg5]",
        "system.cpu.load[all,avg15]", "vm.memory.size[total]", "vm.memory.size[available]"]
for mount in sorted(by_device.values()):
    keys += [f"vfs.fs.size[{mount},total]", f"vfs.fs.size[{mount},used]"]
if glob.glob("/sys/class/thermal/thermal_zone*/temp"):
    keys.append("vfs.file.contents[/sys/class/thermal/thermal_zone0/temp]")
for i in sorted(ifaces):
    for mode in ("bytes", "packets", "errors"):
        keys += [f"net.if.in[{i},{mode}]", f"net.if.out[{i},{mode}]"]
keys.append("system.uptime")
print(json.dumps([{"key": k, "itemid": n + 1, "delay": f"{delay}s", "lastlogsize": 0, "mtime": 0}
                  for n, k in enumerate(keys)]))
PY
}
