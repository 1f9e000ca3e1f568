// Users and sessions.
#include <functional>
#include <string_view>
#include <utility>

#include <soci/soci.h>

#include "control/store/row.h"
#include "control/store/store.h"

namespace hecs::control::store {
namespace {

constexpr const char* kUserColumns =
    "SELECT id, tenant_id, username, password_hash, role, created_at, password_changed_at, "
    "disabled_at FROM users";

struct UserRow {
  User user;
  long long created_at = 0;
  long long changed_at = 0;
  NullableInt disabled_at;

  void bind(soci::statement& st) {
    st.exchange(soci::into(user.id));
    st.exchange(soci::into(user.tenant_id));
    st.exchange(soci::into(user.username));
    st.exchange(soci::into(user.password_hash));
    st.exchange(soci::into(user.role));
    st.exchange(soci::into(created_at));
    st.exchange(soci::into(changed_at));
    disabled_at.bind(st);
  }
  User take() {
    user.created_at = created_at;
    user.password_changed_at = changed_at;
    user.disabled_at = disabled_at.get();
    return std::move(user);
  }
};

constexpr const char* kSessionColumns =
    "SELECT s.id, s.token_hash, s.csrf_hash, s.user_id, s.tenant_id, s.kind, s.created_at, "
    "s.last_seen_at, s.expires_at, s.source, s.user_agent, s.revoked_at FROM sessions s";

struct SessionRow {
  Session session;
  long long created_at = 0, last_seen_at = 0, expires_at = 0;
  NullableInt revoked_at;

  void bind(soci::statement& st) {
    st.exchange(soci::into(session.id));
    st.exchange(soci::into(session.token_hash));
    st.exchange(soci::into(session.csrf_hash));
    st.exchange(soci::into(session.user_id));
    st.exchange(soci::into(session.tenant_id));
    st.exchange(soci::into(session.kind));
    st.exchange(soci::into(created_at));
    st.exchange(soci::into(last_seen_at));
    st.exchange(soci::into(expires_at));
    st.exchange(soci::into(session.source));
    st.exchange(soci::into(session.user_agent));
    revoked_at.bind(st);
  }
  Session take() {
    session.created_at = created_at;
    session.last_seen_at = last_seen_at;
    session.expires_at = expires_at;
    session.revoked_at = revoked_at.get();
    return std::move(session);
  }
};

std::optional<User> read_user(soci::session& sql, const std::string& tenant_id,
                              const std::string& id) {
  UserRow row;
  soci::statement st =
      select_into(sql, row, std::string(kUserColumns) + " WHERE tenant_id = :tenant AND id = :id",
                  tenant_id, id);
  st.execute(false);
  if (!st.fetch()) {
    return std::nullopt;
  }
  return row.take();
}

std::optional<Session> read_session(soci::session& sql, const std::string& tenant_id,
                                    const std::string& id) {
  SessionRow row;
  soci::statement st = select_into(
      sql, row, std::string(kSessionColumns) + " WHERE s.tenant_id = :tenant AND s.id = :id",
      tenant_id, id);
  st.execute(false);
  if (!st.fetch()) {
    return std::nullopt;
  }
  return row.take();
}

// Runs `update` on one user of a tenant, then reads it back; Errc::not_found when absent.
Result<User> update_user(db::Database& db, const std::string& tenant_id, const std::string& id,
                         const std::function<void(soci::session&)>& update, const char* doing) {
  std::optional<User> found;
  auto written = db.transact([&](soci::session& sql) -> Result<void> {
    update(sql);
    found = read_user(sql, tenant_id, id);
    return {};
  });
  if (!written) {
    return fail(std::move(written.error()), doing);
  }
  if (!found) {
    return fail(Errc::not_found, "no user with this id");
  }
  return std::move(*found);
}

}  // namespace

void insert_user(soci::session& sql, const User& user) {
  const long long created_at = user.created_at;
  const long long changed_at = user.password_changed_at;
  sql << "INSERT INTO users (id, tenant_id, username, password_hash, role, created_at, "
         "password_changed_at) VALUES (:id, :tenant, :username, :hash, :role, :created, "
         ":changed)",
      soci::use(user.id), soci::use(user.tenant_id), soci::use(user.username),
      soci::use(user.password_hash), soci::use(user.role), soci::use(created_at),
      soci::use(changed_at);
}

Result<void> IdentityStore::create_user(const User& user) {
  auto written = db_.transact([&](soci::session& sql) -> Result<void> {
    insert_user(sql, user);
    return {};
  });
  if (!written) {
    if (written.error().code == Errc::conflict) {
      return fail(Errc::conflict, "this username is taken");
    }
    return fail(std::move(written.error()), "create user");
  }
  return {};
}

Result<std::optional<User>> IdentityStore::find_user_by_username(const std::string& username) {
  std::optional<User> found;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    UserRow row;
    soci::statement st =
        select_into(sql, row, std::string(kUserColumns) + " WHERE username = :name", username);
    st.execute(false);
    if (st.fetch()) {
      found = row.take();
    }
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "find user");
  }
  return found;
}

Result<User> IdentityStore::get_user(const std::string& tenant_id, const std::string& id) {
  std::optional<User> found;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    found = read_user(sql, tenant_id, id);
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "get user");
  }
  if (!found) {
    return fail(Errc::not_found, "no user with this id");
  }
  return std::move(*found);
}

Result<std::vector<User>> IdentityStore::list_users(const std::string& tenant_id) {
  std::vector<User> out;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    UserRow row;
    soci::statement st = select_into(
        sql, row, std::string(kUserColumns) + " WHERE tenant_id = :tenant ORDER BY username",
        tenant_id);
    st.execute(false);
    while (st.fetch()) {
      out.push_back(row.take());
      row = UserRow{};
    }
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "list users");
  }
  return out;
}

Result<void> IdentityStore::set_password(const std::string& tenant_id, const std::string& id,
                                         const std::string& password_hash, std::int64_t at) {
  auto done = update_user(
      db_, tenant_id, id,
      [&](soci::session& sql) {
        const long long when = at;
        sql << "UPDATE users SET password_hash = :hash, password_changed_at = :at WHERE "
               "tenant_id = :tenant AND id = :id",
            soci::use(password_hash), soci::use(when), soci::use(tenant_id), soci::use(id);
      },
      "set password");
  if (!done) {
    return tl::unexpected(std::move(done.error()));
  }
  return {};
}

Result<User> IdentityStore::set_role(const std::string& tenant_id, const std::string& id,
                                     const std::string& role) {
  return update_user(
      db_, tenant_id, id,
      [&](soci::session& sql) {
        sql << "UPDATE users SET role = :role WHERE tenant_id = :tenant AND id = :id",
            soci::use(role), soci::use(tenant_id), soci::use(id);
      },
      "set role");
}

Result<User> IdentityStore::set_user_disabled(const std::string& tenant_id, const std::string& id,
                                              std::optional<std::int64_t> at) {
  return update_user(
      db_, tenant_id, id,
      [&](soci::session& sql) {
        NullableValue value(at);
        sql << "UPDATE users SET disabled_at = :at WHERE tenant_id = :tenant AND id = :id",
            soci::use(value.value, value.indicator), soci::use(tenant_id), soci::use(id);
      },
      "disable user");
}

Result<std::uint64_t> IdentityStore::count_active_owners(const std::string& tenant_id) {
  long long n = 0;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    sql << "SELECT COUNT(*) FROM users WHERE tenant_id = :tenant AND role IN ('owner', "
           "'superadmin') AND disabled_at IS NULL",
        soci::use(tenant_id), soci::into(n);
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "count owners");
  }
  return static_cast<std::uint64_t>(n);
}

Result<void> IdentityStore::create_session(const Session& s) {
  auto written = db_.with_session([&](soci::session& sql) -> Result<void> {
    const long long created = s.created_at, seen = s.last_seen_at, expires = s.expires_at;
    sql << "INSERT INTO sessions (id, token_hash, csrf_hash, user_id, tenant_id, kind, "
           "created_at, last_seen_at, expires_at, source, user_agent) VALUES (:id, :token, "
           ":csrf, :user, :tenant, :kind, :created, :seen, :expires, :source, :agent)",
        soci::use(s.id), soci::use(s.token_hash), soci::use(s.csrf_hash), soci::use(s.user_id),
        soci::use(s.tenant_id), soci::use(s.kind), soci::use(created), soci::use(seen),
        soci::use(expires), soci::use(s.source), soci::use(s.user_agent);
    return {};
  });
  if (!written) {
    return fail(std::move(written.error()), "create session");
  }
  return {};
}

Result<SessionGrant> IdentityStore::find_session_by_token(const std::string& token_hash) {
  std::optional<SessionGrant> found;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    SessionRow row;
    SessionGrant grant;
    NullableInt user_disabled, tenant_disabled;
    // The session's columns, then the user's and the tenant's.
    std::string query = kSessionColumns;
    query.replace(query.find(" FROM sessions s"), std::string_view(" FROM sessions s").size(),
                  ", u.username, u.role, u.disabled_at, t.disabled_at FROM sessions s JOIN users "
                  "u ON u.id = s.user_id JOIN tenants t ON t.id = s.tenant_id WHERE "
                  "s.token_hash = :hash");
    struct GrantRow {
      SessionRow& session;
      SessionGrant& grant;
      NullableInt& user_disabled;
      NullableInt& tenant_disabled;
      void bind(soci::statement& st) {
        session.bind(st);
        st.exchange(soci::into(grant.username));
        st.exchange(soci::into(grant.role));
        user_disabled.bind(st);
        tenant_disabled.bind(st);
      }
    } grant_row{row, grant, user_disabled, tenant_disabled};
    soci::statement st = select_into(sql, grant_row, query, token_hash);
    st.execute(false);
    if (st.fetch()) {
      grant.session = row.take();
      grant.user_disabled_at = user_disabled.get();
      grant.tenant_disabled_at = tenant_disabled.get();
      found = std::move(grant);
    }
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "find session");
  }
  if (!found) {
    return fail(Errc::not_found, "no session with this token");
  }
  return std::move(*found);
}

Result<std::vector<Session>> IdentityStore::list_sessions(const std::string& tenant_id,
                                                          const std::string& user_id,
                                                          std::int64_t now) {
  std::vector<Session> out;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    SessionRow row;
    const long long at = now;
    std::string where =
        " WHERE s.tenant_id = :tenant AND s.revoked_at IS NULL AND s.expires_at > :now";
    soci::statement st =
        user_id.empty()
            ? select_into(sql, row,
                          std::string(kSessionColumns) + where + " ORDER BY s.created_at DESC",
                          tenant_id, at)
            : select_into(sql, row,
                          std::string(kSessionColumns) + where +
                              " AND s.user_id = :user ORDER BY s.created_at DESC",
                          tenant_id, at, user_id);
    st.execute(false);
    while (st.fetch()) {
      out.push_back(row.take());
      row = SessionRow{};
    }
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "list sessions");
  }
  return out;
}

Result<Session> IdentityStore::get_session(const std::string& tenant_id, const std::string& id) {
  std::optional<Session> found;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    found = read_session(sql, tenant_id, id);
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "get session");
  }
  if (!found) {
    return fail(Errc::not_found, "no session with this id");
  }
  return std::move(*found);
}

Result<Session> IdentityStore::revoke_session(const std::string& tenant_id, const std::string& id,
                                              std::int64_t at) {
  std::optional<Session> found;
  auto written = db_.transact([&](soci::session& sql) -> Result<void> {
    const long long when = at;
    sql << "UPDATE sessions SET revoked_at = :at WHERE tenant_id = :tenant AND id = :id AND "
           "revoked_at IS NULL",
        soci::use(when), soci::use(tenant_id), soci::use(id);
    found = read_session(sql, tenant_id, id);
    return {};
  });
  if (!written) {
    return fail(std::move(written.error()), "revoke session");
  }
  if (!found) {
    return fail(Errc::not_found, "no session with this id");
  }
  return std::move(*found);
}

Result<std::uint64_t> IdentityStore::revoke_user_sessions(const std::string& tenant_id,
                                                          const std::string& user_id,
                                                          std::int64_t at,
                                                          const std::string& except_session_id) {
  std::uint64_t n = 0;
  auto written = db_.transact([&](soci::session& sql) -> Result<void> {
    const long long when = at;
    soci::statement st =
        (sql.prepare << "UPDATE sessions SET revoked_at = :at WHERE tenant_id = :tenant AND "
                        "user_id = :user AND id <> :except AND revoked_at IS NULL AND "
                        "expires_at > :now",
         soci::use(when), soci::use(tenant_id), soci::use(user_id), soci::use(except_session_id),
         soci::use(when));
    st.execute(true);
    n = static_cast<std::uint64_t>(st.get_affected_rows());
    return {};
  });
  if (!written) {
    return fail(std::move(written.error()), "revoke sessions");
  }
  return n;
}

Result<void> IdentityStore::touch_session(const std::string& id, std::int64_t at) {
  auto written = db_.with_session([&](soci::session& sql) -> Result<void> {
    const long long when = at;
    sql << "UPDATE sessions SET last_seen_at = :at WHERE id = :id AND last_seen_at < :at_again",
        soci::use(when), soci::use(id), soci::use(when);
    return {};
  });
  if (!written) {
    return fail(std::move(written.error()), "touch session");
  }
  return {};
}

}  // namespace hecs::control::store
