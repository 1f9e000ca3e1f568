// The I/O behind Collector: files under the roots, statvfs, getifaddrs, uname. Nothing here
// throws or fails loudly: what cannot be read comes back empty, zero or absent.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "agent/telemetry/proc_readers.h"
#include "agent/telemetry/telemetry.h"
#include "common/result.h"
#include "proto/proto.h"

namespace hecs::agent::telemetry {

// The whole file, read until end of file (pseudo-files report size 0). Errc::not_found when
// it is missing, Errc::unavailable when it cannot be read, Errc::invalid_input when it holds
// more than max_bytes.
Result<std::string> read_file(const std::filesystem::path& path,
                              std::size_t max_bytes = kMaxFileBytes);

// proc/sys/kernel/hostname, else gethostname(2).
std::string read_hostname(const Roots& roots);

// sys/devices/system/cpu/online, else sysconf(_SC_NPROCESSORS_ONLN); 0 when neither answers.
std::uint32_t read_cpu_count(const Roots& roots);

// proc/cpuinfo, else the device-tree model (newer Raspberry Pi kernels print no "Model").
std::string read_cpu_model(const Roots& roots);

// The real filesystems of proc/self/mounts (see real_filesystems()).
std::vector<Mount> read_real_mounts(const Roots& roots);

struct FilesystemSize {
  std::uint64_t total_bytes = 0;
  std::uint64_t used_bytes = 0;
};
// statvfs(2) of a mount point; nullopt when it fails (unmounted since, no permission).
std::optional<FilesystemSize> filesystem_size(const std::string& mount_point);

// Every interface from getifaddrs(3), ordered by name, with "address/prefix" strings and the
// MAC from sys/class/net/<name>/address.
std::vector<proto::NetInterface> read_interfaces(const Roots& roots);

// sys/class/thermal/thermal_zone*/ (see pick_temperature()).
std::optional<double> read_temperature(const Roots& roots);

}  // namespace hecs::agent::telemetry
