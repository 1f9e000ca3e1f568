// Pure parsers for the text of /proc, /sys and /etc files: no I/O, so each is tested on
// strings. None throws; malformed input gives an empty or zero value, and only the essential
// /proc/stat cpu line reports an error (Errc::invalid_input).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "proto/proto.h"

namespace hecs::agent::telemetry {

// Read limit for one file: a /proc/cpuinfo of a few hundred cores stays well below it.
inline constexpr std::size_t kMaxFileBytes = std::size_t{4} * 1024 * 1024;

struct CpuTimes {
  std::uint64_t busy = 0;  // user + nice + system + irq + softirq + steal, in ticks
  std::uint64_t idle = 0;  // idle + iowait
  friend bool operator==(const CpuTimes&, const CpuTimes&) = default;
};
// The aggregate "cpu" line of /proc/stat (guest time is already inside user and nice).
Result<CpuTimes> parse_proc_stat_cpu(std::string_view text);
// "btime" of /proc/stat: boot time in unix seconds.
std::optional<std::int64_t> parse_proc_stat_btime(std::string_view text);
// Busy share of the time between two samples, 0..100; 0 when no time passed or a counter
// went back (CPU hot-unplug).
double cpu_percent(const CpuTimes& before, const CpuTimes& after);

struct Meminfo {
  std::uint64_t total_bytes = 0;
  std::uint64_t available_bytes = 0;  // MemFree + Buffers + Cached before Linux 3.14
};
Meminfo parse_meminfo(std::string_view text);

struct LoadAvg {
  double load1 = 0, load5 = 0, load15 = 0;
};
std::optional<LoadAvg> parse_loadavg(std::string_view text);

// Whole seconds of the first field of /proc/uptime.
std::optional<std::uint64_t> parse_uptime(std::string_view text);

// Every well-formed line of /proc/net/dev, "lo" included, in file order.
std::vector<proto::InterfaceCounters> parse_net_dev(std::string_view text);

// PRETTY_NAME, else NAME, else empty; quotes and escapes removed.
std::string parse_os_release(std::string_view text);

// The account names of an /etc/passwd text, in file order, at most `max` (tasks may run as
// one of them: hello.users). Lines that are not "name:…" are skipped.
std::vector<std::string> parse_passwd_names(std::string_view text, std::size_t max = 256);

// "model name" (x86, 32-bit ARM), else "Model" (Raspberry Pi board), else "Hardware".
std::string parse_cpuinfo_model(std::string_view text);

// Number of CPUs in a kernel CPU list such as "0-3,6" (sys/devices/system/cpu/online).
std::optional<std::uint32_t> parse_cpu_list_count(std::string_view text);

struct Mount {
  std::string device;
  std::string mount;  // octal escapes (\040 for a space) decoded
  std::string fs_type;
  friend bool operator==(const Mount&, const Mount&) = default;
};
// Every well-formed line of /proc/self/mounts, in file order.
std::vector<Mount> parse_mounts(std::string_view text);
// Block-device filesystems worth reporting (ext4, xfs, btrfs, vfat, f2fs, …); not proc, tmpfs,
// cgroup, overlay, squashfs or network filesystems.
bool is_real_filesystem(std::string_view fs_type);
// The real filesystems, one entry per device (its shortest mount point, so a container's bind
// mounts of /etc/hosts do not show as disks and a btrfs with subvolumes counts once), sorted by
// mount point.
std::vector<Mount> real_filesystems(const std::vector<Mount>& mounts);

// sys/class/net/<if>/address; empty for none or all zeros (loopback).
std::string parse_mac(std::string_view text);

struct ThermalZone {
  int index = 0;          // N of thermal_zoneN
  std::string type;       // contents of type, trimmed
  std::string temp_text;  // contents of temp: millidegrees Celsius
};
// The CPU's zone (type "cpu-thermal", "cpu_thermal" or "x86_pkg_temp") else the lowest index,
// among zones whose reading parses and is plausible; in °C.
std::optional<double> pick_temperature(std::vector<ThermalZone> zones);

// Leading and trailing whitespace removed.
std::string_view trim(std::string_view text);

}  // namespace hecs::agent::telemetry
