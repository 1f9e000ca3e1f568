#include <utility>

#include <soci/soci.h>

#include "control/store/store.h"

namespace hecs::control::store {

Result<std::optional<Tenant>> IdentityStore::find_tenant_by_name(const std::string& name) {
  std::optional<Tenant> found;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    Tenant tenant;
    long long created_at = 0;
    sql << "SELECT id, name, created_at FROM tenants WHERE name = :name", soci::use(name),
        soci::into(tenant.id), soci::into(tenant.name), soci::into(created_at);
    if (sql.got_data()) {
      tenant.created_at = created_at;
      found = std::move(tenant);
    }
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "find tenant");
  }
  return found;
}

namespace {

void insert_tenant(soci::session& sql, const Tenant& tenant) {
  const long long created_at = tenant.created_at;
  sql << "INSERT INTO tenants (id, name, created_at) VALUES (:id, :name, :created_at)",
      soci::use(tenant.id), soci::use(tenant.name), soci::use(created_at);
}

void insert_api_key(soci::session& sql, const ApiKey& key) {
  const long long created_at = key.created_at;
  long long revoked_at = key.revoked_at.value_or(0);
  soci::indicator revoked = key.revoked_at ? soci::i_ok : soci::i_null;
  sql << "INSERT INTO api_keys (id, tenant_id, prefix, hash, role, created_at, revoked_at) "
         "VALUES (:id, :tenant_id, :prefix, :hash, :role, :created_at, :revoked_at)",
      soci::use(key.id), soci::use(key.tenant_id), soci::use(key.prefix), soci::use(key.hash),
      soci::use(key.role), soci::use(created_at), soci::use(revoked_at, revoked);
}

}  // namespace

Result<void> IdentityStore::create_tenant(const Tenant& tenant,
                                          const std::optional<ApiKey>& first_key) {
  // One transaction: a tenant never exists without the key that was made for it, even if we
  // die in between (the bootstrap would otherwise leave nobody able to log in).
  auto written = db_.transact([&](soci::session& sql) -> Result<void> {
    insert_tenant(sql, tenant);
    if (first_key) {
      insert_api_key(sql, *first_key);
    }
    return {};
  });
  if (!written) {
    return fail(std::move(written.error()), "create tenant");
  }
  return {};
}

Result<void> IdentityStore::create_api_key(const ApiKey& key) {
  auto written = db_.with_session([&](soci::session& sql) -> Result<void> {
    insert_api_key(sql, key);
    return {};
  });
  if (!written) {
    return fail(std::move(written.error()), "create api key");
  }
  return {};
}

Result<ApiKey> IdentityStore::find_api_key_by_hash(const std::string& hash) {
  std::optional<ApiKey> found;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    ApiKey key;
    long long created_at = 0;
    long long revoked_at = 0;
    soci::indicator revoked = soci::i_null;
    sql << "SELECT id, tenant_id, prefix, hash, role, created_at, revoked_at FROM api_keys "
           "WHERE hash = :hash",
        soci::use(hash), soci::into(key.id), soci::into(key.tenant_id), soci::into(key.prefix),
        soci::into(key.hash), soci::into(key.role), soci::into(created_at),
        soci::into(revoked_at, revoked);
    if (sql.got_data()) {
      key.created_at = created_at;
      if (revoked == soci::i_ok) {
        key.revoked_at = revoked_at;
      }
      found = std::move(key);
    }
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "find api key");
  }
  if (!found) {
    return fail(Errc::not_found, "find api key: no key with this hash");
  }
  return std::move(*found);
}

Result<void> IdentityStore::touch_api_key(const std::string& id, std::int64_t used_at) {
  auto written = db_.with_session([&](soci::session& sql) -> Result<void> {
    const long long at = used_at;
    // Requests finish out of order: last_used_at only moves forward.
    soci::statement update =
        (sql.prepare << "UPDATE api_keys SET last_used_at = CASE WHEN last_used_at IS NULL OR "
                        "last_used_at < :used_at THEN :used_at_again ELSE last_used_at END "
                        "WHERE id = :id",
         soci::use(at), soci::use(at), soci::use(id));
    update.execute(true);
    if (update.get_affected_rows() == 0) {
      return fail(Errc::not_found, "no such api key");
    }
    return {};
  });
  if (!written) {
    return fail(std::move(written.error()), "touch api key");
  }
  return {};
}

}  // namespace hecs::control::store
