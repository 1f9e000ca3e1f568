// API keys and the first-start bootstrap of hecs-control. Keys look like
// "hecs_<32 base62 characters><6 base62 checksum>": the visible prefix lets secret scanners
// find leaked keys, the checksum rejects a mistyped key before any database lookup (S42).
// Only the SHA-256 of a key is stored.
#pragma once

#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/clock.h"
#include "common/result.h"
#include "control/store/store.h"

namespace hecs::control::auth {

inline constexpr std::string_view kKeyPrefix = "hecs_";
inline constexpr std::string_view kDefaultTenant = "default";

std::string generate_api_key();
// Format and checksum only; says nothing of whether the key exists.
bool well_formed_api_key(std::string_view key);
std::string hash_api_key(std::string_view key);  // lower-case hex SHA-256

struct Principal {
  std::string tenant_id;
  std::string key_id;
  std::string role;
};

// Keys found in the store recently, by hash, so a busy client does not cost one database
// lookup per request (perf on GET /api/v1/devices/{id}: the lookup was a fifth of the CPU). An
// entry is trusted for `ttl` at most, so a key revoked by another process (a replica, a direct
// database change) stops working within that time. Unknown keys are never kept, so guessing
// cannot fill it; when full, it starts over. Thread-safe.
class KeyCache {
 public:
  explicit KeyCache(std::int64_t ttl_ms = 5000, std::size_t capacity = 10000)
      : ttl_ms_(ttl_ms), capacity_(capacity) {}
  std::optional<store::ApiKey> find(const std::string& hash, std::int64_t now_ms) const;
  void put(const std::string& hash, const store::ApiKey& key, std::int64_t now_ms);
  void forget(const std::string& hash);  // for this process's own revocations
  std::size_t size() const;

 private:
  struct Entry {
    store::ApiKey key;
    std::int64_t fetched_at = 0;
  };
  std::int64_t ttl_ms_;
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

// Checks "Authorization: Bearer KEY": Errc::unauthorized for a missing, malformed, unknown or
// revoked key (one message for all, so a caller learns nothing about which). With a cache, a
// key verified less than its ttl ago is not looked up again.
Result<Principal> authenticate(store::IdentityStore& identities, const std::string* header,
                               const Clock& clock, KeyCache* cache = nullptr);

struct Bootstrap {
  std::string tenant_id;
  std::optional<std::string> admin_key;  // set only on the very first start
};

// On first start (no default tenant yet) creates the default tenant and an admin API key,
// and writes the key to DATA_DIR/admin-credentials with mode 0600. Later starts only look the
// tenant up. The key is never stored anywhere else in clear.
Result<Bootstrap> bootstrap(store::IdentityStore& identities, const std::filesystem::path& data_dir,
                            const Clock& clock);

}  // namespace hecs::control::auth
