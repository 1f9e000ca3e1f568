#include "agent/telemetry/proc_readers.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <map>

namespace hecs::agent::telemetry {
namespace {

constexpr std::string_view kSpaces = " \t\r\n\f\v";

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    auto end = text.find('\n');
    lines.push_back(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
  }
  return lines;
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  for (auto begin = line.find_first_not_of(kSpaces); begin != std::string_view::npos;
       begin = line.find_first_not_of(kSpaces, begin)) {
    auto end = line.find_first_of(kSpaces, begin);
    fields.push_back(line.substr(begin, end == std::string_view::npos ? end : end - begin));
    begin = end;
  }
  return fields;
}

// Parses the whole of text, or nothing: from_chars, because std::stoull throws.
template <class T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end) {
    return std::nullopt;
  }
  return value;
}

// "Key : value" with the key and value trimmed; nullopt without a colon.
std::optional<std::pair<std::string_view, std::string_view>> split_key_value(
    std::string_view line) {
  auto colon = line.find(':');
  if (colon == std::string_view::npos) {
    return std::nullopt;
  }
  return std::pair{trim(line.substr(0, colon)), trim(line.substr(colon + 1))};
}

// A meminfo value such as "16318652 kB" in bytes.
std::optional<std::uint64_t> parse_kib(std::string_view value) {
  auto fields = split_fields(value);
  if (fields.empty() || fields.size() > 2 || (fields.size() == 2 && fields[1] != "kB")) {
    return std::nullopt;
  }
  auto number = parse_number<std::uint64_t>(fields[0]);
  if (!number || (fields.size() == 2 && *number > UINT64_MAX / 1024)) {
    return std::nullopt;
  }
  return fields.size() == 2 ? *number * 1024 : *number;
}

// An os-release value: double quotes with \ escapes, single quotes, or bare.
std::string unquote(std::string_view value) {
  if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'') {
    return std::string(value.substr(1, value.size() - 2));
  }
  if (value.size() < 2 || value.front() != '"' || value.back() != '"') {
    return std::string(value);
  }
  value = value.substr(1, value.size() - 2);
  std::string out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 1 < value.size()) {
      ++i;
    }
    out.push_back(value[i]);
  }
  return out;
}

// Mount fields escape space, tab, newline and backslash as \ooo.
std::string decode_octal_escapes(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto digits = text.substr(i + 1, 3);
    if (text[i] == '\\' && digits.size() == 3 &&
        std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '7'; })) {
      out.push_back(static_cast<char>(((digits[0] - '0') << 6) | ((digits[1] - '0') << 3) |
                                      (digits[2] - '0')));
      i += 3;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace

std::string_view trim(std::string_view text) {
  auto begin = text.find_first_not_of(kSpaces);
  if (begin == std::string_view::npos) {
    return {};
  }
  return text.substr(begin, text.find_last_not_of(kSpaces) - begin + 1);
}

Result<CpuTimes> parse_proc_stat_cpu(std::string_view text) {
  for (auto line : split_lines(text)) {
    auto fields = split_fields(line);
    if (fields.empty() || fields[0] != "cpu") {
      continue;
    }
    // user nice system idle [iowait irq softirq steal guest guest_nice]: Linux 2.6.33 and
    // later print all ten; older kernels fewer, and at least four.
    std::array<std::uint64_t, 8> ticks{};
    if (fields.size() < 5) {
      return fail(Errc::invalid_input, "proc/stat: cpu line has fewer than 4 fields");
    }
    for (std::size_t i = 0; i < ticks.size() && i + 1 < fields.size(); ++i) {
      auto value = parse_number<std::uint64_t>(fields[i + 1]);
      if (!value) {
        return fail(Errc::invalid_input, "proc/stat: cpu line has a non-numeric field");
      }
      ticks[i] = *value;
    }
    CpuTimes times;
    times.busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6] + ticks[7];
    times.idle = ticks[3] + ticks[4];
    return times;
  }
  return fail(Errc::invalid_input, "proc/stat: no cpu line");
}

std::optional<std::int64_t> parse_proc_stat_btime(std::string_view text) {
  for (auto line : split_lines(text)) {
    auto fields = split_fields(line);
    if (fields.size() == 2 && fields[0] == "btime") {
      return parse_number<std::int64_t>(fields[1]);
    }
  }
  return std::nullopt;
}

double cpu_percent(const CpuTimes& before, const CpuTimes& after) {
  if (after.busy < before.busy || after.idle < before.idle) {
    return 0;
  }
  auto busy = static_cast<double>(after.busy - before.busy);
  auto total = busy + static_cast<double>(after.idle - before.idle);
  return total > 0 ? std::clamp(100 * busy / total, 0.0, 100.0) : 0;
}

Meminfo parse_meminfo(std::string_view text) {
  std::map<std::string_view, std::uint64_t> values;
  for (auto line : split_lines(text)) {
    auto kv = split_key_value(line);
    if (auto bytes = kv ? parse_kib(kv->second) : std::nullopt) {
      values.emplace(kv->first, *bytes);
    }
  }
  auto get = [&](std::string_view key) {
    auto it = values.find(key);
    return it == values.end() ? std::uint64_t{0} : it->second;
  };
  Meminfo info;
  info.total_bytes = get("MemTotal");
  info.available_bytes = values.contains("MemAvailable")
                             ? get("MemAvailable")
                             : get("MemFree") + get("Buffers") + get("Cached");
  info.available_bytes = std::min(info.available_bytes, info.total_bytes);
  return info;
}

std::optional<LoadAvg> parse_loadavg(std::string_view text) {
  auto fields = split_fields(text);
  if (fields.size() < 3) {
    return std::nullopt;
  }
  auto load1 = parse_number<double>(fields[0]);
  auto load5 = parse_number<double>(fields[1]);
  auto load15 = parse_number<double>(fields[2]);
  if (!load1 || !load5 || !load15 || !std::isfinite(*load1) || !std::isfinite(*load5) ||
      !std::isfinite(*load15)) {
    return std::nullopt;
  }
  return LoadAvg{*load1, *load5, *load15};
}

std::optional<std::uint64_t> parse_uptime(std::string_view text) {
  auto fields = split_fields(text);
  auto seconds = fields.empty() ? std::nullopt : parse_number<double>(fields[0]);
  // The upper bound keeps the conversion defined; it is some 584 billion years.
  if (!seconds || !(*seconds >= 0 && *seconds < 1.8e19)) {
    return std::nullopt;
  }
  return static_cast<std::uint64_t>(*seconds);
}

std::vector<proto::InterfaceCounters> parse_net_dev(std::string_view text) {
  std::vector<proto::InterfaceCounters> out;
  for (auto line : split_lines(text)) {
    // Interface names cannot hold ':' (dev_valid_name), and the two header lines have '|'
    // before any ':'. Old kernels print no space after the colon: "eth0:1234 …".
    auto colon = line.find(':');
    if (colon == std::string_view::npos || line.substr(0, colon).find('|') != line.npos) {
      continue;
    }
    auto name = trim(line.substr(0, colon));
    auto fields = split_fields(line.substr(colon + 1));
    std::array<std::uint64_t, 16> values{};
    bool ok = !name.empty() && fields.size() >= values.size();
    for (std::size_t i = 0; ok && i < values.size(); ++i) {
      auto value = parse_number<std::uint64_t>(fields[i]);
      ok = value.has_value();
      values[i] = value.value_or(0);
    }
    if (!ok) {
      continue;
    }
    // receive: bytes packets errs drop fifo frame compressed multicast, then transmit: bytes
    // packets errs drop fifo colls carrier compressed.
    proto::InterfaceCounters counters;
    counters.name = std::string(name);
    counters.rx_bytes = values[0];
    counters.rx_packets = values[1];
    counters.rx_errors = values[2];
    counters.tx_bytes = values[8];
    counters.tx_packets = values[9];
    counters.tx_errors = values[10];
    out.push_back(std::move(counters));
  }
  return out;
}

std::string parse_os_release(std::string_view text) {
  std::string pretty_name, name;
  for (auto line : split_lines(text)) {
    line = trim(line);
    auto equals = line.find('=');
    if (line.empty() || line.front() == '#' || equals == std::string_view::npos) {
      continue;
    }
    auto key = line.substr(0, equals);
    if (key == "PRETTY_NAME") {
      pretty_name = unquote(line.substr(equals + 1));
    } else if (key == "NAME") {
      name = unquote(line.substr(equals + 1));
    }
  }
  return pretty_name.empty() ? name : pretty_name;
}

std::string parse_cpuinfo_model(std::string_view text) {
  // Keys are case-sensitive: x86 also has "model : 17", a number.
  constexpr std::array<std::string_view, 3> kKeys = {"model name", "Model", "Hardware"};
  std::array<std::string_view, kKeys.size()> found{};
  for (auto line : split_lines(text)) {
    auto kv = split_key_value(line);
    for (std::size_t i = 0; kv && i < kKeys.size(); ++i) {
      if (kv->first == kKeys[i] && found[i].empty()) {
        found[i] = kv->second;
      }
    }
  }
  auto best = std::find_if(found.begin(), found.end(), [](auto v) { return !v.empty(); });
  return best == found.end() ? std::string{} : std::string(*best);
}

std::optional<std::uint32_t> parse_cpu_list_count(std::string_view text) {
  text = trim(text);
  if (text.empty()) {
    return std::nullopt;
  }
  std::uint64_t count = 0;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto range = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    auto dash = range.find('-');
    auto first = parse_number<std::uint32_t>(range.substr(0, dash));
    auto last = dash == std::string_view::npos
                    ? first
                    : parse_number<std::uint32_t>(range.substr(dash + 1));
    if (!first || !last || *last < *first) {
      return std::nullopt;
    }
    count += std::uint64_t{*last} - *first + 1;
  }
  if (count > UINT32_MAX) {
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(count);
}

std::vector<Mount> parse_mounts(std::string_view text) {
  std::vector<Mount> mounts;
  for (auto line : split_lines(text)) {
    auto fields = split_fields(line);
    if (fields.size() < 3) {
      continue;
    }
    mounts.push_back(
        {decode_octal_escapes(fields[0]), decode_octal_escapes(fields[1]), std::string(fields[2])});
  }
  return mounts;
}

bool is_real_filesystem(std::string_view fs_type) {
  // An allow-list: new virtual filesystems appear every few kernel releases, and reporting
  // one as a disk is worse than missing a rare real one. fuseblk is ntfs-3g or exfat-fuse on a
  // USB drive.
  constexpr std::array<std::string_view, 18> kReal = {
      "ext2", "ext3",  "ext4",    "xfs", "btrfs", "vfat",     "msdos",    "exfat",  "f2fs",
      "ntfs", "ntfs3", "fuseblk", "zfs", "jfs",   "reiserfs", "bcachefs", "nilfs2", "hfsplus"};
  return std::find(kReal.begin(), kReal.end(), fs_type) != kReal.end();
}

std::vector<Mount> real_filesystems(const std::vector<Mount>& mounts) {
  std::map<std::string, Mount> by_device;
  for (const auto& mount : mounts) {
    if (!is_real_filesystem(mount.fs_type) || mount.mount.empty() || mount.mount[0] != '/') {
      continue;
    }
    auto [it, inserted] = by_device.emplace(mount.device, mount);
    if (!inserted && mount.mount.size() < it->second.mount.size()) {
      it->second = mount;
    }
  }
  std::vector<Mount> out;
  out.reserve(by_device.size());
  for (auto& [device, mount] : by_device) {
    out.push_back(std::move(mount));
  }
  std::sort(out.begin(), out.end(),
            [](const Mount& a, const Mount& b) { return a.mount < b.mount; });
  return out;
}

std::string parse_mac(std::string_view text) {
  text = trim(text);
  if (text.find_first_not_of("0:") == std::string_view::npos) {
    return {};
  }
  return std::string(text);
}

std::optional<double> pick_temperature(std::vector<ThermalZone> zones) {
  constexpr std::array<std::string_view, 3> kCpuTypes = {"cpu-thermal", "cpu_thermal",
                                                         "x86_pkg_temp"};
  std::optional<double> first, cpu;
  std::sort(zones.begin(), zones.end(),
            [](const ThermalZone& a, const ThermalZone& b) { return a.index < b.index; });
  for (const auto& zone : zones) {
    auto millidegrees = parse_number<std::int64_t>(trim(zone.temp_text));
    // Below -60 °C or above 200 °C is a sensor reporting an error, not a board.
    if (!millidegrees || *millidegrees < -60'000 || *millidegrees > 200'000) {
      continue;
    }
    double celsius = static_cast<double>(*millidegrees) / 1000;
    if (!first) {
      first = celsius;
    }
    if (!cpu && std::find(kCpuTypes.begin(), kCpuTypes.end(), trim(zone.type)) != kCpuTypes.end()) {
      cpu = celsius;
    }
  }
  return cpu ? cpu : first;
}

std::vector<std::string> parse_passwd_names(std::string_view text, std::size_t max) {
  std::vector<std::string> names;
  while (!text.empty() && names.size() < max) {
    auto end = text.find('\n');
    auto line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 32 || line[0] == '#' ||
        line[0] == '+' || line[0] == '-') {
      continue;
    }
    names.emplace_back(line.substr(0, colon));
  }
  return names;
}

}  // namespace hecs::agent::telemetry
