// Who is calling hecs-control, and what they may do (issue 5): roles, API keys, passwords,
// sessions, login throttling, and the first-start bootstrap.
//
// API keys look like "hecs_<32 base62 characters><6 base62 checksum>": the visible prefix lets
// secret scanners find leaked keys, the checksum rejects a mistyped key before any database
// lookup (S42). Session tokens look like "hecss_<43 base64url characters>". Only the SHA-256 of
// a key or token is stored; passwords only as Argon2id PHC strings (S40).
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "control/store/store.h"

namespace hecs::control::auth {

inline constexpr std::string_view kKeyPrefix = "hecs_";
inline constexpr std::string_view kSessionPrefix = "hecss_";
inline constexpr std::string_view kDefaultTenant = "default";

// ---- roles ----------------------------------------------------------------------------

// Ordered: each role may do what the ones below it may. superadmin is an owner of its own
// tenant who also manages tenants (the platform).
enum class Role { viewer = 1, operator_ = 2, admin = 3, owner = 4, superadmin = 5 };
std::string_view role_name(Role role);
std::optional<Role> parse_role(std::string_view text);

// ---- API keys and session tokens ------------------------------------------------------

std::string generate_api_key();
// Format and checksum only; says nothing of whether the key exists.
bool well_formed_api_key(std::string_view key);
std::string hash_api_key(std::string_view key);  // lower-case hex SHA-256
std::string generate_session_token();            // "hecss_" + 32 random bytes, base64url
bool well_formed_session_token(std::string_view token);
std::string generate_csrf_token();  // 32 random bytes, base64url

// The verified caller of one request.
struct Principal {
  enum class Kind { api_key, session };
  Kind kind = Kind::api_key;
  std::string tenant_id;
  Role role = Role::viewer;
  std::string key_id;      // api_key
  std::string user_id;     // session
  std::string session_id;  // session
  std::string username;    // session
  bool cookie = false;     // session presented as a cookie: mutating calls need the CSRF token
  std::string csrf_hash;   // cookie sessions
  // "key:<id>" or "user:<id>", as the audit log names the actor.
  std::string actor() const { return kind == Kind::api_key ? "key:" + key_id : "user:" + user_id; }
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
  void clear();                          // a tenant disabled: nothing cached is trusted
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

// Checks "Authorization: Bearer KEY": Errc::unauthorized for a missing, malformed, unknown,
// revoked or expired key, or a key of a disabled tenant (one message for all, so a caller
// learns nothing about which). With a cache, a key verified less than its ttl ago is not
// looked up again. `revoked_used`, when given, is set when the key exists but was revoked, so
// the caller can audit the attempt (issue 5: "key used after revoke").
Result<Principal> authenticate(store::IdentityStore& identities, const std::string* header,
                               const Clock& clock, KeyCache* cache = nullptr,
                               std::optional<store::ApiKey>* revoked_used = nullptr);

// Sessions found recently by token hash, like KeyCache (same ttl rule; revocations by this
// process forget at once).
class SessionCache {
 public:
  explicit SessionCache(std::int64_t ttl_ms = 5000, std::size_t capacity = 10000)
      : ttl_ms_(ttl_ms), capacity_(capacity) {}
  std::optional<store::SessionGrant> find(const std::string& hash, std::int64_t now_ms) const;
  void put(const std::string& hash, const store::SessionGrant& grant, std::int64_t now_ms);
  void forget_session(const std::string& session_id);
  void clear();

 private:
  struct Entry {
    store::SessionGrant grant;
    std::int64_t fetched_at = 0;
  };
  std::int64_t ttl_ms_;
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

struct SessionPolicy {
  std::int64_t idle_ms = 60LL * 60 * 1000;           // ends after an hour without a request
  std::int64_t lifetime_ms = 12LL * 60 * 60 * 1000;  // and 12 h after login in any case
  std::int64_t touch_every_ms = 60LL * 1000;         // last_seen_at is written this often
};

// Checks a session token (from "Authorization: Bearer hecss_…" or the session cookie):
// Errc::unauthorized when unknown, revoked, expired, idle too long, or when its user or tenant
// is disabled. Moves last_seen_at forward at most once a touch_every_ms.
Result<Principal> authenticate_session(store::IdentityStore& identities, std::string_view token,
                                       bool from_cookie, const Clock& clock,
                                       const SessionPolicy& policy, SessionCache* cache);

// ---- passwords (S40) ------------------------------------------------------------------

// OWASP's Password Storage Cheat Sheet: Argon2id with m = 19 MiB, t = 2, p = 1.
struct PasswordParams {
  std::uint32_t memory_kib = 19 * 1024;
  std::uint32_t iterations = 2;
  std::uint32_t lanes = 1;
};
inline constexpr std::size_t kMinPasswordChars = 12;
inline constexpr std::size_t kMaxPasswordBytes = 1024;

// Errc::invalid_input says what is wrong: too short, too long, a NUL or control character.
Result<void> check_password_policy(std::string_view password);
// A PHC string "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>" with a fresh 16-byte salt.
std::string hash_password(std::string_view password, const PasswordParams& params = {});
// False for a wrong password or a string that is not an Argon2id PHC string.
bool verify_password(std::string_view password, const std::string& phc);
// True when the stored hash is weaker than `params` (or unreadable): rehash at the next login.
bool needs_rehash(const std::string& phc, const PasswordParams& params = {});
// Spends the time of one verify_password with the current parameters, so that a login for an
// unknown user answers as slowly as one with a wrong password (S40).
void verify_dummy_password(std::string_view password);

// ---- login throttling (S39) -------------------------------------------------------------

// Counts failed logins per account and per client address in a sliding window. Past the
// limit, further attempts are refused without checking the password until the window has
// let old failures go. Memory is bounded: the oldest entries go first. Per process: with
// several replicas, each counts its own. Thread-safe.
class LoginThrottle {
 public:
  struct Limits {
    std::uint32_t per_account = 5;  // failures within the window
    std::uint32_t per_source = 20;
    std::int64_t window_ms = 15LL * 60 * 1000;
    std::size_t max_entries = 100000;
  };
  LoginThrottle() : LoginThrottle(Limits{}) {}
  explicit LoginThrottle(Limits limits) : limits_(limits) {}
  // Seconds to wait before trying again, or nullopt when an attempt may go ahead.
  std::optional<std::int64_t> retry_after_s(const std::string& account, const std::string& source,
                                            std::int64_t now_ms) const;
  void failed(const std::string& account, const std::string& source, std::int64_t now_ms);
  void succeeded(const std::string& account);

 private:
  struct Failures {
    std::vector<std::int64_t> at;  // oldest first, at most the limit kept
  };
  std::optional<std::int64_t> wait(const std::unordered_map<std::string, Failures>& map,
                                   const std::string& key, std::uint32_t limit,
                                   std::int64_t now) const;
  void add(std::unordered_map<std::string, Failures>& map, const std::string& key,
           std::uint32_t limit, std::int64_t now);
  Limits limits_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Failures> accounts_;
  std::unordered_map<std::string, Failures> sources_;
};

// The address part of "203.0.113.7:51234" or "[2001:db8::1]:443".
std::string source_address(std::string_view remote);

struct Bootstrap {
  std::string tenant_id;
  std::optional<std::string> admin_key;       // set only on the very first start
  std::optional<std::string> admin_password;  // of the user "admin", idem
};

// On first start (no default tenant yet) creates the default tenant, a superadmin API key and
// a superadmin user "admin" with a random password, and writes both to
// DATA_DIR/admin-credentials with mode 0600. Later starts only look the tenant up. Neither
// secret is stored anywhere else in clear.
Result<Bootstrap> bootstrap(store::IdentityStore& identities, const std::filesystem::path& data_dir,
                            const Clock& clock);

}  // namespace hecs::control::auth
