#include <charconv>

#include <fmt/format.h>

#include "agent/uplink/uplink.h"
#include "common/clock.h"
#include "common/files.h"

namespace hecs::agent::uplink {
namespace {

// The file without its trailing line break and blanks; Errc::not_found when it does not exist,
// Errc::corrupt when it is far larger than anything we write.
Result<std::string> read_small_file(const std::filesystem::path& path) {
  auto text = files::read_small(path, 4096);
  if (!text && text.error().code == Errc::invalid_input) {
    return fail(Errc::corrupt, text.error().message);
  }
  if (!text) {
    return text;
  }
  while (!text->empty() && (text->back() == '\n' || text->back() == ' ' || text->back() == '\r')) {
    text->pop_back();
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
  if (auto r = files::write_atomic(path, id.device_id + "\n"); !r) {
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
  if (auto r = files::write_atomic(path_, fmt::format("{}\n", value_)); !r) {
    return tl::unexpected(r.error());
  }
  return value_;
}

}  // namespace hecs::agent::uplink
