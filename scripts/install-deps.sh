#!/usr/bin/env bash
# Installs every Debian 12 package HECS needs to build, test and run its demo.
# Idempotent: when everything is present it only runs dpkg-query and exits (well under a second).
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build ccache pkg-config git
  # libraries (DESIGN §2)
  libboost1.81-dev libboost-json1.81-dev libsoci-dev libsqlite3-dev libpq-dev
  libssl-dev libargon2-dev libcurl4-openssl-dev libexpected-dev libcli11-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  libhowardhinnant-date-dev tzdata libarchive-dev
  # tests, fuzzing, formatting
  libgtest-dev libgmock-dev libbenchmark-dev clang-14 libclang-rt-14-dev clang-format clang-tidy
  # real servers and tools the tests start
  mosquitto mosquitto-clients postgresql-15 sqlite3 prometheus curl openssl procps util-linux
  # the admin panel's browser test (tests/e2e) drives Debian's Chromium with playwright-core
  chromium
  # benchmarks (make bench); bench/footprint.sh runs the three agents it compares against
  wrk prometheus-node-exporter zabbix-agent mender-client
)

# The admin panel (web/admin, built by every build) and the OpenAPI linter of make test
# (tests/openapi) run on Node.js with npm: Debian's own, unless
# the machine has another Node.js with npm already (Debian's npm would conflict with it).
if ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or: sudo $0)" >&2
  exit 1
fi

echo "install-deps: installing ${#missing[@]} package(s): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends keeps the machine small; services Debian starts on install
# (mosquitto, postgresql, prometheus, the agents bench/footprint.sh compares against) are
# stopped again below: HECS starts its own instances.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
services=(mosquitto postgresql prometheus prometheus-node-exporter zabbix-agent mender-client)
for svc in "${services[@]}"; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
    systemctl disable "$svc" >/dev/null 2>&1 || true
  fi
done
# Without systemd (containers), postinst starts daemons through /etc/init.d: stop those of the
# packages just installed (only those, so that nobody else's instance is touched).
if [[ ! -d /run/systemd/system ]]; then
  for p in "${missing[@]}"; do
    if [[ -x /etc/init.d/$p ]]; then "/etc/init.d/$p" stop >/dev/null 2>&1 || true; fi
  done
fi
echo "install-deps: done"
