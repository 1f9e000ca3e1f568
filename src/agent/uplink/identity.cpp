#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include "agent/uplink/uplink.h"
#include "common/clock.h"

namespace hecs::agent::uplink {
namespace {

// Writes `text` to `path` atomically and durably: temp file, fsync, rename, fsync of the dir.
Result<void> write_file_atomic(const std::filesystem::path& path, const std::string& text) {
  auto tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return fail(Errc::unavailable, fmt::format("write {}: {}", tmp.string(), std::strerror(errno)));
  }
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  if (!ok) {
    return fail(Errc::unavailable, fmt::format("write {}: {}", tmp.string(), std::strerror(saved)));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail(Errc::unavailable,
                fmt::format("rename {}: {}", path.string(), std::strerror(errno)));
  }
  int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return {};
}

Result<std::string> read_small_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) {
    return fail(Errc::not_found, fmt::format("{}: cannot read", path.string()));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) {
    text.pop_back();
  }
  return text;
}

}  // namespace

Result<Identity> load_or_create_identity(const std::filesystem::path& state_dir) {
  auto path = state_dir / "device-id";
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    auto text = read_small_file(path);
    if (!text) {
      return tl::unexpected(text.error());
    }
    if (!is_uuid(*text)) {
      return fail(Errc::corrupt,
                  fmt::format("{} does not hold a device id (a lower-case UUID)", path.string()));
    }
    return Identity{*text};
  }
  Identity id{random_uuid()};
  if (auto r = write_file_atomic(path, id.device_id + "\n"); !r) {
    return tl::unexpected(r.error());
  }
  return id;
}

Result<SessionCounter> SessionCounter::open(const std::filesystem::path& state_dir) {
  SessionCounter c;
  c.path_ = state_dir / "session";
  auto text = read_small_file(c.path_);
  std::error_code ec;
  if (!text && std::filesystem::exists(state_dir / "device-id", ec)) {
    // A device that has an id but lost its counter has sent sessions we no longer know: restart
    // above them (wall-clock milliseconds only grow), or the control plane would ignore its
    // hello and status as stale (S28).
    c.value_ = static_cast<std::uint64_t>(SystemClock{}.now_ms());
  }
  if (text) {
    auto [p, err] = std::from_chars(text->data(), text->data() + text->size(), c.value_);
    if (err != std::errc() || p != text->data() + text->size()) {
      // A damaged counter must not go backwards: start above any value it could have held
      // by using the wall clock in milliseconds, which only grows.
      c.value_ = static_cast<std::uint64_t>(SystemClock{}.now_ms());
    }
  }
  return c;
}

Result<std::uint64_t> SessionCounter::next() {
  // The new number is used even when it cannot be stored (full disk, S30): reusing the old one
  // would let the previous connection's late will count as current.
  ++value_;
  if (auto r = write_file_atomic(path_, fmt::format("{}\n", value_)); !r) {
    return tl::unexpected(r.error());
  }
  return value_;
}

}  // namespace hecs::agent::uplink
