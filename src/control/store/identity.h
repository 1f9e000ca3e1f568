// Identity and accountability stores (issue 5): tenants, users, sessions, API keys and the
// hash-chained audit log. Part of the store module; include control/store/store.h.
//
// Tenant isolation: every method on tenant-owned rows takes the tenant id and filters by it,
// so an id from another tenant is Errc::not_found, exactly like an id that does not exist.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/audit/audit.h"
#include "common/db/db.h"
#include "common/result.h"

namespace hecs::control::store {

struct Tenant {
  std::string id;    // UUID
  std::string name;  // "default"
  std::int64_t created_at = 0;
  std::optional<std::int64_t> disabled_at;
};

struct ApiKey {
  std::string id;  // UUID
  std::string tenant_id;
  std::string prefix;  // first characters of the key, shown in lists
  std::string hash;    // hex SHA-256 of the whole key; the key itself is never stored
  std::string role;    // viewer, operator, admin, owner, superadmin
  std::int64_t created_at = 0;
  std::optional<std::int64_t> revoked_at;
  std::string name;
  std::optional<std::int64_t> expires_at;  // none: never
  std::string created_by;                  // "user:<id>", "key:<id>", "bootstrap"
  std::optional<std::int64_t> last_used_at;
  std::optional<std::string> replaced_by;          // the key a rotation made
  std::optional<std::int64_t> tenant_disabled_at;  // filled by find_api_key_by_hash only
};

struct User {
  std::string id;  // UUID
  std::string tenant_id;
  std::string username;       // unique across tenants
  std::string password_hash;  // Argon2id PHC string
  std::string role;
  std::int64_t created_at = 0;
  std::int64_t password_changed_at = 0;
  std::optional<std::int64_t> disabled_at;
};

struct Session {
  std::string id;          // UUID: what lists and revocations name
  std::string token_hash;  // hex SHA-256 of the token; the token is never stored
  std::string csrf_hash;   // hex SHA-256 of the CSRF token
  std::string user_id;
  std::string tenant_id;
  std::string kind;  // "cookie" or "bearer"
  std::int64_t created_at = 0;
  std::int64_t last_seen_at = 0;
  std::int64_t expires_at = 0;
  std::string source;  // client address at login
  std::string user_agent;
  std::optional<std::int64_t> revoked_at;
};

// A session with what a request needs of its user and tenant, read in one query.
struct SessionGrant {
  Session session;
  std::string username;
  std::string role;
  std::optional<std::int64_t> user_disabled_at;
  std::optional<std::int64_t> tenant_disabled_at;
};

class IdentityStore {
 public:
  explicit IdentityStore(db::Database& db) : db_(db) {}  // db outlives us

  // ---- tenants (platform-wide: the superadmin's view)
  Result<std::optional<Tenant>> find_tenant_by_name(const std::string& name);
  Result<Tenant> get_tenant(const std::string& id);  // Errc::not_found
  Result<std::vector<Tenant>> list_tenants();
  // The tenant and, when given, its first API key and first user, in one transaction.
  // Errc::conflict when the name (or the username) is taken.
  Result<void> create_tenant(const Tenant& tenant,
                             const std::optional<ApiKey>& first_key = std::nullopt,
                             const std::optional<User>& first_user = std::nullopt);
  Result<Tenant> rename_tenant(const std::string& id, const std::string& name);
  // disabled_at = at, or none to enable again.
  Result<Tenant> set_tenant_disabled(const std::string& id, std::optional<std::int64_t> at);

  // ---- API keys
  Result<void> create_api_key(const ApiKey& key);
  // Errc::not_found when no key has this hash. Fills tenant_disabled_at.
  Result<ApiKey> find_api_key_by_hash(const std::string& hash);
  Result<ApiKey> get_api_key(const std::string& tenant_id, const std::string& id);
  Result<std::vector<ApiKey>> list_api_keys(const std::string& tenant_id);
  // Sets revoked_at (the first time only) and returns the key.
  Result<ApiKey> revoke_api_key(const std::string& tenant_id, const std::string& id,
                                std::int64_t at);
  // In one transaction: the new key, and the old one's expiry moved to old_expires_at (never
  // later than it was) with replaced_by set. Errc::conflict when the old key is revoked,
  // expired or already replaced.
  Result<void> rotate_api_key(const std::string& tenant_id, const std::string& old_id,
                              const ApiKey& replacement, std::int64_t old_expires_at,
                              std::int64_t now);
  Result<void> touch_api_key(const std::string& id, std::int64_t used_at);

  // ---- users
  Result<void> create_user(const User& user);  // Errc::conflict when the username is taken
  Result<std::optional<User>> find_user_by_username(const std::string& username);
  Result<User> get_user(const std::string& tenant_id, const std::string& id);
  Result<std::vector<User>> list_users(const std::string& tenant_id);
  Result<void> set_password(const std::string& tenant_id, const std::string& id,
                            const std::string& password_hash, std::int64_t at);
  Result<User> set_role(const std::string& tenant_id, const std::string& id,
                        const std::string& role);
  Result<User> set_user_disabled(const std::string& tenant_id, const std::string& id,
                                 std::optional<std::int64_t> at);
  // Owners of a tenant that are not disabled: the last one cannot be demoted or disabled.
  Result<std::uint64_t> count_active_owners(const std::string& tenant_id);

  // ---- sessions
  Result<void> create_session(const Session& session);
  // Errc::not_found when no session has this token hash.
  Result<SessionGrant> find_session_by_token(const std::string& token_hash);
  // A tenant's sessions; user_id "" for all of the tenant's users. Live ones only (not
  // revoked, not expired at `now`), newest first.
  Result<std::vector<Session>> list_sessions(const std::string& tenant_id,
                                             const std::string& user_id, std::int64_t now);
  Result<Session> get_session(const std::string& tenant_id, const std::string& id);
  Result<Session> revoke_session(const std::string& tenant_id, const std::string& id,
                                 std::int64_t at);
  // Revokes every live session of a user (password change, disable); returns how many.
  Result<std::uint64_t> revoke_user_sessions(const std::string& tenant_id,
                                             const std::string& user_id, std::int64_t at,
                                             const std::string& except_session_id = "");
  Result<void> touch_session(const std::string& id, std::int64_t at);

 private:
  db::Database& db_;
};

struct AuditFilter {
  std::string action;           // exact, or "" for any; "keys." matches every keys.* action
  std::string actor;            // exact, or ""
  std::string outcome;          // exact, or ""
  std::int64_t since = 0;       // ts >= since (unix ms)
  std::int64_t until = 0;       // ts < until; 0 = no bound
  std::uint64_t after_seq = 0;  // cursor: seq > after_seq
  std::size_t limit = 100;
};

struct AuditPage {
  std::vector<audit::Record> items;  // ordered by seq
  bool more = false;
};

// The audit log: append-only from the code's side (no update or delete exists here), each
// tenant's records a hash chain (src/common/audit).
class AuditStore {
 public:
  explicit AuditStore(db::Database& db) : db_(db) {}
  // Fills seq, prev_hash and hash from the tenant's last record, in one transaction; retries
  // when another writer took the same seq. Returns the stored record.
  Result<audit::Record> append(audit::Record record);
  Result<AuditPage> list(const std::string& tenant_id, const AuditFilter& filter);
  // Records seq in [from, to] (to 0 = the end), in seq order, for verification and export.
  Result<std::vector<audit::Record>> range(const std::string& tenant_id, std::uint64_t from,
                                           std::uint64_t to);
  // The last record's seq and hash; seq 0 and the genesis hash for an empty log.
  Result<std::pair<std::uint64_t, std::string>> head(const std::string& tenant_id);
  // Tenants that have at least one record.
  Result<std::vector<std::string>> tenants();

 private:
  db::Database& db_;
};

}  // namespace hecs::control::store
