#include "common/files.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hecs::files {
namespace {

struct Fd {
  int fd = -1;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) {
      ::close(fd);
    }
  }
};

Result<void> write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return fail(Errc::unavailable, std::strerror(errno));
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

}  // namespace

Result<void> write_atomic(const std::filesystem::path& path, std::string_view text, mode_t mode,
                          bool durable) {
  auto tmp = path;
  tmp += ".tmp";
  {
    Fd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
    if (out.fd < 0) {
      return fail(Errc::unavailable,
                  fmt::format("write {}: {}", tmp.string(), std::strerror(errno)));
    }
    // An old temp file keeps its mode through O_CREAT: set it, before any byte is written.
    if (::fchmod(out.fd, mode) != 0) {
      return fail(Errc::unavailable,
                  fmt::format("chmod {}: {}", tmp.string(), std::strerror(errno)));
    }
    if (auto w = write_all(out.fd, text); !w) {
      return fail(Errc::unavailable, fmt::format("write {}: {}", tmp.string(), w.error().message));
    }
    if (durable && ::fsync(out.fd) != 0) {
      return fail(Errc::unavailable,
                  fmt::format("fsync {}: {}", tmp.string(), std::strerror(errno)));
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail(Errc::unavailable,
                fmt::format("rename {}: {}", path.string(), std::strerror(errno)));
  }
  if (durable) {
    auto dir_path = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    Fd dir(::open(dir_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.fd >= 0) {
      ::fsync(dir.fd);
    }
  }
  return {};
}

Result<std::string> read_small(const std::filesystem::path& path, std::size_t max_bytes) {
  Fd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.fd < 0) {
    auto code = errno == ENOENT ? Errc::not_found : Errc::unavailable;
    return fail(code, fmt::format("read {}: {}", path.string(), std::strerror(errno)));
  }
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(in.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return fail(Errc::unavailable,
                  fmt::format("read {}: {}", path.string(), std::strerror(errno)));
    }
    if (n == 0) {
      return out;
    }
    if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
      return fail(Errc::invalid_input,
                  fmt::format("{} is larger than {} bytes", path.string(), max_bytes));
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace hecs::files
