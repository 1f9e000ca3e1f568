#include "sim/state_dir.h"

#include <system_error>

#include <fmt/format.h>
#include <sys/stat.h>

#include "common/files.h"

namespace hecs::sim {
namespace {

// A key and a certificate are about 250 and 700 bytes; anything this large is not ours.
constexpr std::size_t kMaxFileBytes = std::size_t{64} * 1024;

}  // namespace

Result<void> StateDir::create() const {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) {
    return fail(Errc::unavailable, fmt::format("state dir {}: {}", dir_.string(), ec.message()));
  }
  std::filesystem::permissions(dir_, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  if (ec) {
    return fail(Errc::unavailable, fmt::format("chmod {}: {}", dir_.string(), ec.message()));
  }
  return {};
}

std::filesystem::path StateDir::key_path(std::string_view device_id) const {
  return dir_ / (std::string(device_id) + ".key");
}

std::filesystem::path StateDir::cert_path(std::string_view device_id) const {
  return dir_ / (std::string(device_id) + ".pem");
}

bool StateDir::has(std::string_view device_id) const {
  struct stat st {};
  return ::stat(cert_path(device_id).c_str(), &st) == 0 &&
         ::stat(key_path(device_id).c_str(), &st) == 0;
}

Result<StoredIdentity> StateDir::load(std::string_view device_id) const {
  auto key = files::read_small(key_path(device_id), kMaxFileBytes);
  if (!key) {
    return tl::unexpected(key.error());
  }
  auto cert = files::read_small(cert_path(device_id), kMaxFileBytes);
  if (!cert) {
    return tl::unexpected(cert.error());
  }
  return StoredIdentity{std::move(*key), std::move(*cert)};
}

Result<void> StateDir::store(std::string_view device_id, const StoredIdentity& identity) const {
  if (auto r = files::write_atomic(key_path(device_id), identity.key_pem, 0600, false); !r) {
    return r;
  }
  return files::write_atomic(cert_path(device_id), identity.cert_pem, 0600, false);
}

}  // namespace hecs::sim
