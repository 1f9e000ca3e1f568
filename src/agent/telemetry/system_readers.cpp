#include "agent/telemetry/system_readers.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <charconv>
#include <map>
#include <memory>
#include <span>
#include <system_error>

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace hecs::agent::telemetry {
namespace {

constexpr std::size_t kMaxSmallFileBytes = 64 * std::size_t{1024};  // type, address, temp

class FdClose {
 public:
  explicit FdClose(int fd) : fd_(fd) {}
  ~FdClose() { ::close(fd_); }
  FdClose(const FdClose&) = delete;
  FdClose& operator=(const FdClose&) = delete;
  FdClose(FdClose&&) = delete;
  FdClose& operator=(FdClose&&) = delete;

 private:
  int fd_;
};

struct IfaddrsFree {
  void operator()(ifaddrs* list) const noexcept { freeifaddrs(list); }
};
using Ifaddrs = std::unique_ptr<ifaddrs, IfaddrsFree>;

std::string read_trimmed(const std::filesystem::path& path) {
  auto text = read_file(path, kMaxSmallFileBytes);
  return text ? std::string(trim(*text)) : std::string{};
}

int prefix_length(std::span<const unsigned char> mask) {
  int bits = 0;
  for (unsigned char byte : mask) {
    bits += std::popcount(byte);
  }
  return bits;
}

// "192.168.1.10/24" or "fe80::1/64"; nullopt for other families (AF_PACKET).
std::optional<std::string> format_address(const sockaddr* addr, const sockaddr* netmask) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  const void* raw = nullptr;
  int prefix = 0;
  if (addr->sa_family == AF_INET) {
    raw = &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr;
    prefix = 32;
    if (netmask != nullptr) {
      const auto& mask = reinterpret_cast<const sockaddr_in*>(netmask)->sin_addr;
      prefix = prefix_length({reinterpret_cast<const unsigned char*>(&mask), sizeof mask});
    }
  } else if (addr->sa_family == AF_INET6) {
    raw = &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr;
    prefix = 128;
    if (netmask != nullptr) {
      const auto& mask = reinterpret_cast<const sockaddr_in6*>(netmask)->sin6_addr;
      prefix = prefix_length({reinterpret_cast<const unsigned char*>(&mask), sizeof mask});
    }
  } else {
    return std::nullopt;
  }
  if (inet_ntop(addr->sa_family, raw, text.data(), text.size()) == nullptr) {
    return std::nullopt;
  }
  return fmt::format("{}/{}", text.data(), prefix);
}

}  // namespace

Result<std::string> read_file(const std::filesystem::path& path, std::size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    auto code = err == ENOENT || err == ENOTDIR ? Errc::not_found : Errc::unavailable;
    return fail(code,
                fmt::format("open {}: {}", path.string(), std::generic_category().message(err)));
  }
  FdClose closer(fd);
  std::string text;
  std::array<char, std::size_t{16} * 1024> buffer{};
  for (;;) {
    auto n = ::read(fd, buffer.data(), buffer.size());
    int err = errno;
    if (n < 0 && err == EINTR) {
      continue;
    }
    if (n < 0) {
      return fail(Errc::unavailable,
                  fmt::format("read {}: {}", path.string(), std::generic_category().message(err)));
    }
    if (n == 0) {
      return text;
    }
    if (text.size() + static_cast<std::size_t>(n) > max_bytes) {
      return fail(Errc::invalid_input,
                  fmt::format("read {}: larger than {} bytes", path.string(), max_bytes));
    }
    text.append(buffer.data(), static_cast<std::size_t>(n));
  }
}

std::string read_hostname(const Roots& roots) {
  if (auto name = read_trimmed(roots.proc / "sys/kernel/hostname"); !name.empty()) {
    return name;
  }
  std::array<char, HOST_NAME_MAX + 1> name{};
  if (gethostname(name.data(), name.size() - 1) != 0) {
    return {};
  }
  return name.data();
}

std::uint32_t read_cpu_count(const Roots& roots) {
  if (auto text = read_file(roots.sys / "devices/system/cpu/online")) {
    if (auto count = parse_cpu_list_count(*text); count && *count > 0) {
      return *count;
    }
  }
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  return online > 0 && online <= INT32_MAX ? static_cast<std::uint32_t>(online) : 0;
}

std::string read_cpu_model(const Roots& roots) {
  auto text = read_file(roots.proc / "cpuinfo");
  if (auto model = text ? parse_cpuinfo_model(*text) : std::string{}; !model.empty()) {
    return model;
  }
  // The device tree ends the string with a NUL.
  auto model = read_trimmed(roots.proc / "device-tree/model");
  model.erase(std::find(model.begin(), model.end(), '\0'), model.end());
  return model;
}

std::vector<Mount> read_real_mounts(const Roots& roots) {
  auto text = read_file(roots.proc / "self/mounts");
  return text ? real_filesystems(parse_mounts(*text)) : std::vector<Mount>{};
}

std::optional<FilesystemSize> filesystem_size(const std::string& mount_point) {
  struct statvfs stats {};
  if (statvfs(mount_point.c_str(), &stats) != 0) {
    return std::nullopt;
  }
  std::uint64_t frsize = stats.f_frsize != 0 ? stats.f_frsize : stats.f_bsize;
  std::uint64_t blocks = stats.f_blocks;
  std::uint64_t free = std::min<std::uint64_t>(stats.f_bfree, blocks);
  return FilesystemSize{blocks * frsize, (blocks - free) * frsize};
}

std::vector<proto::NetInterface> read_interfaces(const Roots& roots) {
  ifaddrs* raw = nullptr;
  if (getifaddrs(&raw) != 0) {
    return {};
  }
  Ifaddrs list(raw);
  std::map<std::string, proto::NetInterface> by_name;
  for (const ifaddrs* entry = list.get(); entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_name == nullptr) {
      continue;
    }
    auto [it, inserted] = by_name.try_emplace(entry->ifa_name);
    auto& interface = it->second;
    if (inserted) {
      interface.name = entry->ifa_name;
      // A name from the kernel cannot hold '/' or be "..", so it stays inside sys/class/net.
      auto address =
          read_file(roots.sys / "class/net" / interface.name / "address", kMaxSmallFileBytes);
      interface.mac = address ? parse_mac(*address) : std::string{};
    }
    if (entry->ifa_addr == nullptr) {
      continue;
    }
    if (auto address = format_address(entry->ifa_addr, entry->ifa_netmask)) {
      interface.addresses.push_back(std::move(*address));
    }
  }
  std::vector<proto::NetInterface> out;
  out.reserve(by_name.size());
  for (auto& [name, interface] : by_name) {
    out.push_back(std::move(interface));
  }
  return out;
}

std::optional<double> read_temperature(const Roots& roots) {
  constexpr std::string_view kPrefix = "thermal_zone";
  std::error_code ec;
  std::filesystem::directory_iterator it(roots.sys / "class/thermal", ec);
  std::vector<ThermalZone> zones;
  for (; !ec && it != std::filesystem::directory_iterator{}; it.increment(ec)) {
    auto name = it->path().filename().string();
    int index = 0;
    const char* end = name.data() + name.size();
    if (!name.starts_with(kPrefix)) {
      continue;
    }
    auto [ptr, parsed] = std::from_chars(name.data() + kPrefix.size(), end, index);
    if (parsed != std::errc{} || ptr != end) {
      continue;
    }
    auto temp = read_file(it->path() / "temp", kMaxSmallFileBytes);
    if (!temp) {
      continue;  // some drivers fail reads while the sensor is powered down
    }
    zones.push_back({index, read_trimmed(it->path() / "type"), std::move(*temp)});
  }
  return pick_temperature(std::move(zones));
}

}  // namespace hecs::agent::telemetry
