#include "agent/telemetry/telemetry.h"

#include <algorithm>
#include <utility>

#include <sys/utsname.h>

#include "agent/telemetry/proc_readers.h"
#include "agent/telemetry/system_readers.h"

namespace hecs::agent::telemetry {
namespace {

Result<std::string> read_proc_stat(const Roots& roots) {
  auto text = read_file(roots.proc / "stat");
  if (!text) {
    return fail(Errc::unavailable, text.error().message);
  }
  return text;
}

Result<CpuTimes> read_cpu_times(const Roots& roots) {
  auto text = read_proc_stat(roots);
  if (!text) {
    return fail(std::move(text.error()), "cpu times");
  }
  auto times = parse_proc_stat_cpu(*text);
  if (!times) {
    // A /proc/stat without a cpu line is no /proc we can report on.
    return fail(Errc::unavailable, "cpu times: " + times.error().message);
  }
  return times;
}

Meminfo read_meminfo(const Roots& roots) {
  auto text = read_file(roots.proc / "meminfo");
  return text ? parse_meminfo(*text) : Meminfo{};
}

}  // namespace

Collector::Collector(Roots roots) : roots_(std::move(roots)) {
  if (auto times = read_cpu_times(roots_)) {
    cpu_busy_ = times->busy;
    cpu_idle_ = times->idle;
  }
}

Result<proto::Hello> Collector::hello() const {
  auto stat = read_proc_stat(roots_);
  if (!stat) {
    return fail(std::move(stat.error()), "hello");
  }
  proto::Hello hello;
  hello.hostname = read_hostname(roots_);
  if (auto os_release = read_file(roots_.etc / "os-release")) {
    hello.os = parse_os_release(*os_release);
  }
  if (utsname uts{}; uname(&uts) == 0) {
    hello.kernel = uts.release;
    hello.arch = uts.machine;
  }
  hello.cpu_model = read_cpu_model(roots_);
  hello.cpu_count = read_cpu_count(roots_);
  hello.memory_bytes = read_meminfo(roots_).total_bytes;
  if (auto btime = parse_proc_stat_btime(*stat); btime && *btime > 0) {
    hello.boot_time = *btime * 1000;
  }
  for (auto& mount : read_real_mounts(roots_)) {
    if (auto size = filesystem_size(mount.mount)) {
      hello.disks.push_back({std::move(mount.mount), std::move(mount.device),
                             std::move(mount.fs_type), size->total_bytes});
    }
  }
  hello.interfaces = read_interfaces(roots_);
  hello.capabilities = {"telemetry", "tasks"};
  if (auto passwd = read_file(roots_.etc / "passwd")) {
    hello.users = parse_passwd_names(*passwd);
  }
  return hello;
}

Result<proto::Telemetry> Collector::sample() {
  auto times = read_cpu_times(roots_);
  if (!times) {
    return fail(std::move(times.error()), "telemetry sample");
  }
  proto::Telemetry telemetry;
  telemetry.cpu_percent = cpu_percent({cpu_busy_, cpu_idle_}, *times);
  cpu_busy_ = times->busy;
  cpu_idle_ = times->idle;

  if (auto text = read_file(roots_.proc / "loadavg")) {
    auto load = parse_loadavg(*text).value_or(LoadAvg{});
    telemetry.load1 = load.load1;
    telemetry.load5 = load.load5;
    telemetry.load15 = load.load15;
  }
  auto memory = read_meminfo(roots_);
  telemetry.memory_total_bytes = memory.total_bytes;
  telemetry.memory_available_bytes = memory.available_bytes;
  for (auto& mount : read_real_mounts(roots_)) {
    if (auto size = filesystem_size(mount.mount)) {
      telemetry.disks.push_back({std::move(mount.mount), size->total_bytes, size->used_bytes});
    }
  }
  telemetry.temperature_c = read_temperature(roots_);
  if (auto text = read_file(roots_.proc / "net/dev")) {
    for (auto& counters : parse_net_dev(*text)) {
      if (counters.name != "lo") {
        telemetry.interfaces.push_back(std::move(counters));
      }
    }
    std::sort(telemetry.interfaces.begin(), telemetry.interfaces.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
  }
  if (auto text = read_file(roots_.proc / "uptime")) {
    telemetry.uptime_s = parse_uptime(*text).value_or(0);
  }
  return telemetry;
}

}  // namespace hecs::agent::telemetry
