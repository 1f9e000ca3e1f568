#include "control/auth/auth.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crypto/crypto.h"

namespace hecs::control::auth {
namespace {

constexpr std::string_view kBase62 =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr std::size_t kRandomChars = 32;
constexpr std::size_t kChecksumChars = 6;

std::string checksum(std::string_view body) {
  std::uint32_t crc = 0;
  for (unsigned char c : body) {
    // CRC-32 (IEEE), bitwise: keys are short and this runs once per request.
    crc ^= c;
    for (int k = 0; k < 8; ++k) {
      crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
  }
  std::string out(kChecksumChars, '0');
  for (std::size_t i = kChecksumChars; i-- > 0;) {
    out[i] = kBase62[crc % 62];
    crc /= 62;
  }
  return out;
}

}  // namespace

std::string_view role_name(Role role) {
  switch (role) {
    case Role::viewer:
      return "viewer";
    case Role::operator_:
      return "operator";
    case Role::admin:
      return "admin";
    case Role::owner:
      return "owner";
    case Role::superadmin:
      return "superadmin";
  }
  return "viewer";
}

std::optional<Role> parse_role(std::string_view text) {
  for (Role r : {Role::viewer, Role::operator_, Role::admin, Role::owner, Role::superadmin}) {
    if (text == role_name(r)) {
      return r;
    }
  }
  return std::nullopt;
}

std::string generate_api_key() {
  std::string body;
  while (body.size() < kRandomChars) {
    std::array<unsigned char, 64> bytes{};
    HECS_CHECK(RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) == 1, "no randomness");
    for (unsigned char b : bytes) {
      if (b < 248 && body.size() < kRandomChars) {  // 248 = 4 * 62: no modulo bias
        body += kBase62[b % 62];
      }
    }
  }
  return std::string(kKeyPrefix) + body + checksum(body);
}

bool well_formed_api_key(std::string_view key) {
  if (key.size() != kKeyPrefix.size() + kRandomChars + kChecksumChars ||
      !key.starts_with(kKeyPrefix)) {
    return false;
  }
  auto rest = key.substr(kKeyPrefix.size());
  for (char c : rest) {
    if (kBase62.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return checksum(rest.substr(0, kRandomChars)) == rest.substr(kRandomChars);
}

std::string hash_api_key(std::string_view key) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest.data());
  std::string out;
  out.reserve(digest.size() * 2);
  for (unsigned char b : digest) {
    out += fmt::format("{:02x}", b);
  }
  return out;
}

std::optional<store::ApiKey> KeyCache::find(const std::string& hash, std::int64_t now_ms) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(hash);
  // A clock that went back makes the age negative: expired too, not trusted longer.
  if (it == entries_.end() || now_ms < it->second.fetched_at ||
      now_ms - it->second.fetched_at >= ttl_ms_) {
    return std::nullopt;
  }
  return it->second.key;
}

void KeyCache::put(const std::string& hash, const store::ApiKey& key, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  if (entries_.size() >= capacity_ && !entries_.contains(hash)) {
    entries_.clear();  // rare (more live keys than capacity): a lookup each again, nothing worse
  }
  entries_[hash] = Entry{key, now_ms};
}

void KeyCache::forget(const std::string& hash) {
  std::lock_guard lock(mutex_);
  entries_.erase(hash);
}

void KeyCache::clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
}

std::size_t KeyCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

Result<Principal> authenticate(store::IdentityStore& identities, const std::string* header,
                               const Clock& clock, KeyCache* cache,
                               std::optional<store::ApiKey>* revoked_used) {
  constexpr std::string_view kBearer = "bearer ";
  if (header == nullptr) {
    return fail(Errc::unauthorized, "missing Authorization: Bearer header");
  }
  std::string_view value = *header;
  // The scheme is case-insensitive (RFC 9110 §11.1); the key is not.
  bool bearer = value.size() > kBearer.size() &&
                std::equal(kBearer.begin(), kBearer.end(), value.begin(), [](char a, char b) {
                  return a == std::tolower(static_cast<unsigned char>(b));
                });
  if (!bearer || !well_formed_api_key(value.substr(kBearer.size()))) {
    return fail(Errc::unauthorized, "invalid API key");
  }
  const std::int64_t now = clock.now_ms();
  const std::string hash = hash_api_key(value.substr(kBearer.size()));
  std::optional<store::ApiKey> cached = cache != nullptr ? cache->find(hash, now) : std::nullopt;
  Result<store::ApiKey> key =
      cached ? Result<store::ApiKey>(std::move(*cached)) : identities.find_api_key_by_hash(hash);
  if (!key) {
    if (key.error().code == Errc::not_found) {
      return fail(Errc::unauthorized, "invalid API key");
    }
    return tl::unexpected(key.error());
  }
  if (!cached && cache != nullptr) {
    cache->put(hash, *key, now);
  }
  if (key->revoked_at && *key->revoked_at <= now) {
    if (revoked_used != nullptr) {
      *revoked_used = *key;
    }
    return fail(Errc::unauthorized, "invalid API key");
  }
  auto role = parse_role(key->role);
  if ((key->expires_at && *key->expires_at <= now) || key->tenant_disabled_at || !role) {
    return fail(Errc::unauthorized, "invalid API key");
  }
  Principal p;
  p.kind = Principal::Kind::api_key;
  p.tenant_id = key->tenant_id;
  p.key_id = key->id;
  p.role = *role;
  return p;
}

Result<Bootstrap> bootstrap(store::IdentityStore& identities, const std::filesystem::path& data_dir,
                            const Clock& clock) {
  auto existing = identities.find_tenant_by_name(std::string(kDefaultTenant));
  if (!existing) {
    return fail(existing.error(), "bootstrap");
  }
  if (*existing) {
    return Bootstrap{(*existing)->id, std::nullopt, std::nullopt};
  }
  const std::int64_t now = clock.now_ms();
  store::Tenant tenant{random_uuid(), std::string(kDefaultTenant), now, std::nullopt};
  std::string key = generate_api_key();
  store::ApiKey record;
  record.id = random_uuid();
  record.tenant_id = tenant.id;
  record.prefix = key.substr(0, kKeyPrefix.size() + 6);
  record.hash = hash_api_key(key);
  record.role = std::string(role_name(Role::superadmin));
  record.name = "bootstrap";
  record.created_by = "bootstrap";
  record.created_at = now;
  // 18 random bytes: 24 base64url characters, past the password policy's minimum.
  std::string password = crypto::base64url_encode(crypto::random_bytes(18));
  store::User admin;
  admin.id = random_uuid();
  admin.tenant_id = tenant.id;
  admin.username = "admin";
  admin.password_hash = hash_password(password);
  admin.role = record.role;
  admin.created_at = now;
  admin.password_changed_at = now;

  // Write the credentials file first: if we die before the database commit, the next start
  // simply makes new secrets and overwrites it, and no secret exists that nobody can read.
  auto path = data_dir / "admin-credentials";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return fail(Errc::unavailable,
                fmt::format("bootstrap: cannot write {}: {}", path.string(), std::strerror(errno)));
  }
  ::fchmod(fd, 0600);
  std::string text = fmt::format(
      "# hecs-control first-start credentials of tenant 'default' (superadmin).\n"
      "# The API key (HECS_API_KEY, or: hecsctl login --api-key-file THIS_FILE):\n{}\n"
      "# The admin panel's and hecsctl login's user; change the password after the first\n"
      "# login (hecsctl passwd):\nusername: admin\npassword: {}\n",
      key, password);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    return fail(Errc::unavailable, fmt::format("bootstrap: cannot write {}", path.string()));
  }
  if (auto r = identities.create_tenant(tenant, record, admin); !r) {
    return fail(r.error(), "bootstrap");
  }
  return Bootstrap{tenant.id, key, password};
}

}  // namespace hecs::control::auth
