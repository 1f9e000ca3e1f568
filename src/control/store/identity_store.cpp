// Tenants and API keys.
#include <algorithm>
#include <utility>

#include <soci/soci.h>

#include "control/store/row.h"
#include "control/store/store.h"

namespace hecs::control::store {
namespace {

constexpr const char* kTenantColumns = "SELECT id, name, created_at, disabled_at FROM tenants";

struct TenantRow {
  Tenant tenant;
  long long created_at = 0;
  NullableInt disabled_at;

  void bind(soci::statement& st) {
    st.exchange(soci::into(tenant.id));
    st.exchange(soci::into(tenant.name));
    st.exchange(soci::into(created_at));
    disabled_at.bind(st);
  }
  Tenant take() {
    tenant.created_at = created_at;
    tenant.disabled_at = disabled_at.get();
    return std::move(tenant);
  }
};

constexpr const char* kKeyColumns =
    "SELECT k.id, k.tenant_id, k.prefix, k.hash, k.role, k.created_at, k.revoked_at, k.name, "
    "k.expires_at, k.created_by, k.last_used_at, k.replaced_by, t.disabled_at FROM api_keys k "
    "JOIN tenants t ON t.id = k.tenant_id";

struct KeyRow {
  ApiKey key;
  long long created_at = 0;
  NullableInt revoked_at, expires_at, last_used_at, tenant_disabled_at;
  std::string replaced_by;
  soci::indicator replaced_ind = soci::i_null;

  void bind(soci::statement& st) {
    st.exchange(soci::into(key.id));
    st.exchange(soci::into(key.tenant_id));
    st.exchange(soci::into(key.prefix));
    st.exchange(soci::into(key.hash));
    st.exchange(soci::into(key.role));
    st.exchange(soci::into(created_at));
    revoked_at.bind(st);
    st.exchange(soci::into(key.name));
    expires_at.bind(st);
    st.exchange(soci::into(key.created_by));
    last_used_at.bind(st);
    st.exchange(soci::into(replaced_by, replaced_ind));
    tenant_disabled_at.bind(st);
  }
  ApiKey take() {
    key.created_at = created_at;
    key.revoked_at = revoked_at.get();
    key.expires_at = expires_at.get();
    key.last_used_at = last_used_at.get();
    key.tenant_disabled_at = tenant_disabled_at.get();
    if (replaced_ind == soci::i_ok) {
      key.replaced_by = replaced_by;
    }
    return std::move(key);
  }
};

void insert_tenant(soci::session& sql, const Tenant& tenant) {
  const long long created_at = tenant.created_at;
  sql << "INSERT INTO tenants (id, name, created_at) VALUES (:id, :name, :created_at)",
      soci::use(tenant.id), soci::use(tenant.name), soci::use(created_at);
}

void insert_api_key(soci::session& sql, const ApiKey& key) {
  const long long created_at = key.created_at;
  NullableValue revoked(key.revoked_at);
  NullableValue expires(key.expires_at);
  sql << "INSERT INTO api_keys (id, tenant_id, prefix, hash, role, created_at, revoked_at, name, "
         "expires_at, created_by) VALUES (:id, :tenant_id, :prefix, :hash, :role, :created_at, "
         ":revoked_at, :name, :expires_at, :created_by)",
      soci::use(key.id), soci::use(key.tenant_id), soci::use(key.prefix), soci::use(key.hash),
      soci::use(key.role), soci::use(created_at), soci::use(revoked.value, revoked.indicator),
      soci::use(key.name), soci::use(expires.value, expires.indicator), soci::use(key.created_by);
}

// Reads one tenant in an open session; nullopt when absent.
std::optional<Tenant> read_tenant(soci::session& sql, const std::string& id) {
  TenantRow row;
  soci::statement st = select_into(sql, row, std::string(kTenantColumns) + " WHERE id = :id", id);
  st.execute(false);
  if (!st.fetch()) {
    return std::nullopt;
  }
  return row.take();
}

std::optional<ApiKey> read_key(soci::session& sql, const std::string& where, const std::string& a,
                               const std::string& b = "") {
  KeyRow row;
  soci::statement st = b.empty() ? select_into(sql, row, std::string(kKeyColumns) + where, a)
                                 : select_into(sql, row, std::string(kKeyColumns) + where, a, b);
  st.execute(false);
  if (!st.fetch()) {
    return std::nullopt;
  }
  return row.take();
}

}  // namespace

Result<std::optional<Tenant>> IdentityStore::find_tenant_by_name(const std::string& name) {
  std::optional<Tenant> found;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    TenantRow row;
    soci::statement st =
        select_into(sql, row, std::string(kTenantColumns) + " WHERE name = :name", name);
    st.execute(false);
    if (st.fetch()) {
      found = row.take();
    }
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "find tenant");
  }
  return found;
}

Result<Tenant> IdentityStore::get_tenant(const std::string& id) {
  std::optional<Tenant> found;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    found = read_tenant(sql, id);
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "get tenant");
  }
  if (!found) {
    return fail(Errc::not_found, "no tenant with this id");
  }
  return std::move(*found);
}

Result<std::vector<Tenant>> IdentityStore::list_tenants() {
  std::vector<Tenant> out;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    TenantRow row;
    soci::statement st = select_into(sql, row, std::string(kTenantColumns) + " ORDER BY name");
    st.execute(false);
    while (st.fetch()) {
      out.push_back(row.take());
      row = TenantRow{};
    }
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "list tenants");
  }
  return out;
}

Result<void> IdentityStore::create_tenant(const Tenant& tenant,
                                          const std::optional<ApiKey>& first_key,
                                          const std::optional<User>& first_user) {
  // One transaction: a tenant never exists without the credential that was made for it, even
  // if we die in between (nobody could log in to it otherwise).
  auto written = db_.transact([&](soci::session& sql) -> Result<void> {
    insert_tenant(sql, tenant);
    if (first_key) {
      insert_api_key(sql, *first_key);
    }
    if (first_user) {
      insert_user(sql, *first_user);
    }
    return {};
  });
  if (!written) {
    return fail(std::move(written.error()), "create tenant");
  }
  return {};
}

Result<Tenant> IdentityStore::rename_tenant(const std::string& id, const std::string& name) {
  std::optional<Tenant> found;
  auto written = db_.transact([&](soci::session& sql) -> Result<void> {
    sql << "UPDATE tenants SET name = :name WHERE id = :id", soci::use(name), soci::use(id);
    found = read_tenant(sql, id);
    return {};
  });
  if (!written) {
    return fail(std::move(written.error()), "rename tenant");
  }
  if (!found) {
    return fail(Errc::not_found, "no tenant with this id");
  }
  return std::move(*found);
}

Result<Tenant> IdentityStore::set_tenant_disabled(const std::string& id,
                                                  std::optional<std::int64_t> at) {
  std::optional<Tenant> found;
  auto written = db_.transact([&](soci::session& sql) -> Result<void> {
    NullableValue value(at);
    sql << "UPDATE tenants SET disabled_at = :at WHERE id = :id",
        soci::use(value.value, value.indicator), soci::use(id);
    found = read_tenant(sql, id);
    return {};
  });
  if (!written) {
    return fail(std::move(written.error()), "disable tenant");
  }
  if (!found) {
    return fail(Errc::not_found, "no tenant with this id");
  }
  return std::move(*found);
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
    found = read_key(sql, " WHERE k.hash = :hash", hash);
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

Result<ApiKey> IdentityStore::get_api_key(const std::string& tenant_id, const std::string& id) {
  std::optional<ApiKey> found;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    found = read_key(sql, " WHERE k.tenant_id = :tenant AND k.id = :id", tenant_id, id);
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "get api key");
  }
  if (!found) {
    return fail(Errc::not_found, "no API key with this id");
  }
  return std::move(*found);
}

Result<std::vector<ApiKey>> IdentityStore::list_api_keys(const std::string& tenant_id) {
  std::vector<ApiKey> out;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    KeyRow row;
    soci::statement st = select_into(
        sql, row,
        std::string(kKeyColumns) + " WHERE k.tenant_id = :tenant ORDER BY k.created_at, k.id",
        tenant_id);
    st.execute(false);
    while (st.fetch()) {
      out.push_back(row.take());
      row = KeyRow{};
    }
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "list api keys");
  }
  return out;
}

Result<ApiKey> IdentityStore::revoke_api_key(const std::string& tenant_id, const std::string& id,
                                             std::int64_t at) {
  std::optional<ApiKey> found;
  auto written = db_.transact([&](soci::session& sql) -> Result<void> {
    const long long when = at;
    sql << "UPDATE api_keys SET revoked_at = :at WHERE tenant_id = :tenant AND id = :id AND "
           "revoked_at IS NULL",
        soci::use(when), soci::use(tenant_id), soci::use(id);
    found = read_key(sql, " WHERE k.tenant_id = :tenant AND k.id = :id", tenant_id, id);
    return {};
  });
  if (!written) {
    return fail(std::move(written.error()), "revoke api key");
  }
  if (!found) {
    return fail(Errc::not_found, "no API key with this id");
  }
  return std::move(*found);
}

Result<void> IdentityStore::rotate_api_key(const std::string& tenant_id, const std::string& old_id,
                                           const ApiKey& replacement, std::int64_t old_expires_at,
                                           std::int64_t now) {
  if (replacement.tenant_id != tenant_id) {
    return fail(Errc::invalid_input, "rotate api key: the replacement is of another tenant");
  }
  auto written = db_.transact([&](soci::session& sql) -> Result<void> {
    auto old = read_key(sql, " WHERE k.tenant_id = :tenant AND k.id = :id", tenant_id, old_id);
    if (!old) {
      return fail(Errc::not_found, "no API key with this id");
    }
    if (old->revoked_at || (old->expires_at && *old->expires_at <= now) || old->replaced_by) {
      return fail(Errc::conflict, "this key is revoked, expired or already rotated");
    }
    insert_api_key(sql, replacement);
    const long long expires =
        old->expires_at ? std::min<std::int64_t>(*old->expires_at, old_expires_at) : old_expires_at;
    // The check above read without a lock: on PostgreSQL a concurrent rotation (or revocation)
    // may have committed since. The UPDATE waits for it and re-checks, so only one rotation
    // of a key can win; the loser rolls back its replacement.
    soci::statement update =
        (sql.prepare << "UPDATE api_keys SET expires_at = :expires, replaced_by = :by WHERE "
                        "tenant_id = :tenant AND id = :id AND replaced_by IS NULL AND "
                        "revoked_at IS NULL",
         soci::use(expires), soci::use(replacement.id), soci::use(tenant_id), soci::use(old_id));
    update.execute(true);
    if (update.get_affected_rows() != 1) {
      return fail(Errc::conflict, "this key is revoked, expired or already rotated");
    }
    return {};
  });
  if (!written) {
    return fail(std::move(written.error()), "rotate api key");
  }
  return {};
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
