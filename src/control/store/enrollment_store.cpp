#include <utility>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <soci/soci.h>

#include "control/store/store.h"

namespace hecs::control::store {
namespace {

std::string tags_text(const std::vector<std::string>& tags) {
  boost::json::array a;
  for (const auto& t : tags) {
    a.emplace_back(t);
  }
  return boost::json::serialize(a);
}

// Tags were written by tags_text(); anything else in the column reads as no tags.
std::vector<std::string> tags_from(const std::string& text) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_array()) {
    return out;
  }
  for (const auto& t : v.as_array()) {
    if (t.is_string()) {
      out.emplace_back(t.as_string());
    }
  }
  return out;
}

constexpr const char* kTokenColumns =
    "SELECT id, tenant_id, prefix, hash, description, tags, auto_approve, max_uses, uses, "
    "created_at, expires_at, revoked_at FROM enrollment_tokens";

struct TokenRow {
  EnrollmentToken token;
  std::string tags;
  int auto_approve = 0;
  long long max_uses = 0, uses = 0, created_at = 0, expires_at = 0, revoked_at = 0;
  soci::indicator revoked_ind = soci::i_null;

  void bind(soci::statement& st) {
    st.exchange(soci::into(token.id));
    st.exchange(soci::into(token.tenant_id));
    st.exchange(soci::into(token.prefix));
    st.exchange(soci::into(token.hash));
    st.exchange(soci::into(token.description));
    st.exchange(soci::into(tags));
    st.exchange(soci::into(auto_approve));
    st.exchange(soci::into(max_uses));
    st.exchange(soci::into(uses));
    st.exchange(soci::into(created_at));
    st.exchange(soci::into(expires_at));
    st.exchange(soci::into(revoked_at, revoked_ind));
  }
  EnrollmentToken get() const {
    EnrollmentToken out = token;
    out.tags = tags_from(tags);
    out.auto_approve = auto_approve != 0;
    out.max_uses = static_cast<std::uint64_t>(max_uses);
    out.uses = static_cast<std::uint64_t>(uses);
    out.created_at = created_at;
    out.expires_at = expires_at;
    if (revoked_ind == soci::i_ok) {
      out.revoked_at = revoked_at;
    }
    return out;
  }
};

// Tokens matching `where` (a clause with :a and :b bound to the two strings).
std::vector<EnrollmentToken> select_tokens(soci::session& sql, const std::string& where,
                                           const std::string& a, const std::string& b) {
  TokenRow row;
  soci::statement st(sql);
  st.alloc();
  st.prepare(std::string(kTokenColumns) + " " + where);
  row.bind(st);
  st.exchange(soci::use(a, "a"));
  if (where.find(":b") != std::string::npos) {
    st.exchange(soci::use(b, "b"));
  }
  st.define_and_bind();
  std::vector<EnrollmentToken> out;
  if (st.execute(true)) {
    do {
      out.push_back(row.get());
    } while (st.fetch());
  }
  return out;
}

constexpr const char* kCredentialColumns =
    "SELECT c.device_id, c.tenant_id, d.state, d.tags, c.token_id, c.public_key_sha256, "
    "c.public_key_pem, c.created_at, c.decided_at, c.cert_serial, c.cert_pem, c.cert_not_after "
    "FROM device_credentials c JOIN devices d ON d.id = c.device_id";

std::optional<Credential> select_credential(soci::session& sql, const std::string& where,
                                            const std::string& a, const std::string& b = {}) {
  Credential c;
  std::string state, tags;
  long long created_at = 0, decided_at = 0, not_after = 0;
  soci::indicator decided_ind = soci::i_null;
  soci::statement st(sql);
  st.alloc();
  st.prepare(std::string(kCredentialColumns) + " " + where);
  st.exchange(soci::into(c.device_id));
  st.exchange(soci::into(c.tenant_id));
  st.exchange(soci::into(state));
  st.exchange(soci::into(tags));
  st.exchange(soci::into(c.token_id));
  st.exchange(soci::into(c.public_key_sha256));
  st.exchange(soci::into(c.public_key_pem));
  st.exchange(soci::into(created_at));
  st.exchange(soci::into(decided_at, decided_ind));
  st.exchange(soci::into(c.cert_serial));
  st.exchange(soci::into(c.cert_pem));
  st.exchange(soci::into(not_after));
  st.exchange(soci::use(a, "a"));
  if (where.find(":b") != std::string::npos) {
    st.exchange(soci::use(b, "b"));
  }
  st.define_and_bind();
  if (!st.execute(true)) {
    return std::nullopt;
  }
  auto parsed = parse_state(state);
  c.state = parsed ? *parsed : DeviceState::rejected;  // unknown text never grants access
  c.tags = tags_from(tags);
  c.created_at = created_at;
  if (decided_ind == soci::i_ok) {
    c.decided_at = decided_at;
  }
  c.cert_not_after = not_after;
  return c;
}

// Errors the caller's request caused go out as they are (the API shows them to operators);
// only failures of the database itself get the context of what was being done.
tl::unexpected<Error> with_context(Error error, std::string_view doing) {
  if (error.code == Errc::unauthorized || error.code == Errc::not_found ||
      error.code == Errc::conflict || error.code == Errc::invalid_input) {
    return tl::unexpected(std::move(error));
  }
  return fail(std::move(error), doing);
}

}  // namespace

std::string_view state_name(DeviceState state) {
  switch (state) {
    case DeviceState::pending:
      return "pending";
    case DeviceState::accepted:
      return "accepted";
    case DeviceState::rejected:
      return "rejected";
    case DeviceState::revoked:
      return "revoked";
  }
  return "rejected";
}

Result<DeviceState> parse_state(std::string_view text) {
  for (auto s :
       {DeviceState::pending, DeviceState::accepted, DeviceState::rejected, DeviceState::revoked}) {
    if (state_name(s) == text) {
      return s;
    }
  }
  return fail(Errc::invalid_input, "state must be one of pending, accepted, rejected, revoked");
}

Result<void> EnrollmentStore::create_token(const EnrollmentToken& t) {
  auto written = db_.with_session([&](soci::session& sql) -> Result<void> {
    const int auto_approve = t.auto_approve ? 1 : 0;
    const auto max_uses = static_cast<long long>(t.max_uses);
    const long long created_at = t.created_at, expires_at = t.expires_at;
    const std::string tags = tags_text(t.tags);
    sql << "INSERT INTO enrollment_tokens (id, tenant_id, prefix, hash, description, tags, "
           "auto_approve, max_uses, uses, created_at, expires_at) VALUES (:id, :tenant_id, "
           ":prefix, :hash, :description, :tags, :auto_approve, :max_uses, 0, :created_at, "
           ":expires_at)",
        soci::use(t.id), soci::use(t.tenant_id), soci::use(t.prefix), soci::use(t.hash),
        soci::use(t.description), soci::use(tags), soci::use(auto_approve), soci::use(max_uses),
        soci::use(created_at), soci::use(expires_at);
    return {};
  });
  if (!written) {
    return fail(std::move(written.error()), "create enrollment token");
  }
  return {};
}

Result<std::vector<EnrollmentToken>> EnrollmentStore::list_tokens(const std::string& tenant_id) {
  std::vector<EnrollmentToken> out;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    out = select_tokens(sql, "WHERE tenant_id = :a ORDER BY created_at, id", tenant_id, {});
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "list enrollment tokens");
  }
  return out;
}

Result<EnrollmentToken> EnrollmentStore::revoke_token(const std::string& tenant_id,
                                                      const std::string& id, std::int64_t now) {
  EnrollmentToken out;
  auto written = db_.transact([&](soci::session& sql) -> Result<void> {
    const long long at = now;
    sql << "UPDATE enrollment_tokens SET revoked_at = :at WHERE tenant_id = :tenant_id AND id = "
           ":id AND revoked_at IS NULL",
        soci::use(at), soci::use(tenant_id), soci::use(id);
    auto found = select_tokens(sql, "WHERE tenant_id = :a AND id = :b", tenant_id, id);
    if (found.empty()) {
      return fail(Errc::not_found, "no such enrollment token");
    }
    out = found.front();
    return {};
  });
  if (!written) {
    return with_context(std::move(written.error()), "revoke enrollment token");
  }
  return out;
}

Result<Enrolled> EnrollmentStore::enrol(const EnrolRequest& r) {
  Enrolled out;
  auto written = db_.transact([&](soci::session& sql) -> Result<void> {
    if (auto again =
            select_credential(sql, "WHERE c.public_key_sha256 = :a", r.public_key_sha256)) {
      out.credential = std::move(*again);
      return {};
    }
    auto tokens = select_tokens(sql, "WHERE hash = :a", r.token_hash, {});
    if (tokens.empty()) {
      return fail(Errc::unauthorized, "unknown enrollment token");
    }
    const auto& token = tokens.front();
    if (token.revoked_at) {
      return fail(Errc::unauthorized, "enrollment token revoked");
    }
    if (token.expires_at <= r.now) {
      return fail(Errc::unauthorized, "enrollment token expired");
    }
    if (token.uses >= token.max_uses) {
      return fail(Errc::unauthorized, "enrollment token used up");
    }
    long long tenant_disabled = 0;
    soci::indicator disabled_ind = soci::i_null;
    sql << "SELECT disabled_at FROM tenants WHERE id = :id", soci::use(token.tenant_id),
        soci::into(tenant_disabled, disabled_ind);
    if (disabled_ind == soci::i_ok) {
      return fail(Errc::unauthorized, "enrollment token of a disabled tenant");
    }
    int taken = 0;
    sql << "SELECT COUNT(*) FROM devices WHERE id = :id", soci::use(r.device_id), soci::into(taken);
    if (taken != 0) {
      return fail(Errc::conflict, "device id already enrolled with another key");
    }
    const std::string state(
        state_name(token.auto_approve ? DeviceState::accepted : DeviceState::pending));
    const std::string tags = tags_text(token.tags);
    const long long now = r.now;
    sql << "INSERT INTO devices (id, tenant_id, first_seen, last_seen, state, tags, changed_at) "
           "VALUES (:id, :tenant_id, :first_seen, :last_seen, :state, :tags, :changed_at)",
        soci::use(r.device_id), soci::use(token.tenant_id), soci::use(now), soci::use(now),
        soci::use(state), soci::use(tags), soci::use(now);
    soci::indicator decided = token.auto_approve ? soci::i_ok : soci::i_null;
    long long decided_at = now;
    sql << "INSERT INTO device_credentials (device_id, tenant_id, token_id, public_key_sha256, "
           "public_key_pem, created_at, decided_at) VALUES (:device_id, :tenant_id, :token_id, "
           ":sha, :pem, :created_at, :decided_at)",
        soci::use(r.device_id), soci::use(token.tenant_id), soci::use(token.id),
        soci::use(r.public_key_sha256), soci::use(r.public_key_pem), soci::use(now),
        soci::use(decided_at, decided);
    // The guard in the WHERE clause keeps the count right even if two enrolments race on
    // PostgreSQL, where this transaction does not lock the token row by reading it.
    soci::statement use_one = (sql.prepare << "UPDATE enrollment_tokens SET uses = uses + 1 "
                                              "WHERE id = :id AND uses < max_uses",
                               soci::use(token.id));
    use_one.execute(true);
    if (use_one.get_affected_rows() != 1) {
      return fail(Errc::unauthorized, "enrollment token used up");
    }
    auto made = select_credential(sql, "WHERE c.device_id = :a", r.device_id);
    if (!made) {
      return fail(Errc::internal, "enrolled device not found after insert");
    }
    out.credential = std::move(*made);
    out.created = true;
    return {};
  });
  if (!written) {
    return with_context(std::move(written.error()), "enrol");
  }
  return out;
}

Result<Credential> EnrollmentStore::find(const std::string& device_id) {
  std::optional<Credential> out;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    out = select_credential(sql, "WHERE c.device_id = :a", device_id);
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "find credential");
  }
  if (!out) {
    return fail(Errc::not_found, "no enrolled device with this id");
  }
  return std::move(*out);
}

Result<Credential> EnrollmentStore::find(const std::string& tenant_id,
                                         const std::string& device_id) {
  auto found = find(device_id);
  if (found && found->tenant_id != tenant_id) {
    return fail(Errc::not_found, "no enrolled device with this id");
  }
  return found;
}

Result<Credential> EnrollmentStore::decide(const std::string& tenant_id,
                                           const std::string& device_id, DeviceState to,
                                           std::int64_t now) {
  Credential out;
  auto written = db_.transact([&](soci::session& sql) -> Result<void> {
    auto current =
        select_credential(sql, "WHERE c.device_id = :a AND c.tenant_id = :b", device_id, tenant_id);
    if (!current) {
      return fail(Errc::not_found, "no enrolled device with this id");
    }
    const auto from = current->state;
    const bool allowed = (from == DeviceState::pending &&
                          (to == DeviceState::accepted || to == DeviceState::rejected ||
                           to == DeviceState::revoked)) ||
                         (from == DeviceState::accepted && to == DeviceState::revoked);
    if (!allowed) {
      return fail(Errc::conflict,
                  fmt::format("device is {}, cannot become {}", state_name(from), state_name(to)));
    }
    const std::string state(state_name(to));
    const long long at = now;
    // A revoked device cannot send its own "offline" any more (the ACL drops its status and its
    // will), so the revocation says it.
    const int online = to == DeviceState::revoked ? 0 : 1;
    if (online == 0) {
      // The online history (device_presence) gets the change too, or it would show a revoked
      // device online for ever.
      int was_online = 0;
      sql << "SELECT online FROM devices WHERE id = :id AND tenant_id = :tenant_id",
          soci::use(device_id), soci::use(tenant_id), soci::into(was_online);
      if (sql.got_data() && was_online != 0) {
        sql << "INSERT INTO device_presence (tenant_id, device_id, ts, online) "
               "VALUES (:tenant_id, :device_id, :ts, 0)",
            soci::use(tenant_id), soci::use(device_id), soci::use(at);
      }
    }
    sql << "UPDATE devices SET state = :state, online = CASE WHEN :online = 0 THEN 0 ELSE online "
           "END, changed_at = :at WHERE id = :id",
        soci::use(state), soci::use(online), soci::use(at), soci::use(device_id);
    sql << "UPDATE device_credentials SET decided_at = :at WHERE device_id = :id", soci::use(at),
        soci::use(device_id);
    current->state = to;
    current->decided_at = now;
    out = std::move(*current);
    return {};
  });
  if (!written) {
    return with_context(std::move(written.error()), "decide enrolment");
  }
  return out;
}

Result<void> EnrollmentStore::record_certificate(const std::string& device_id,
                                                 const std::string& serial,
                                                 const std::string& cert_pem,
                                                 std::int64_t issued_at_s, std::int64_t not_after_s,
                                                 const std::string& public_key_sha256,
                                                 const std::string& public_key_pem) {
  auto written = db_.transact([&](soci::session& sql) -> Result<void> {
    std::string tenant_id;
    sql << "SELECT tenant_id FROM device_credentials WHERE device_id = :id", soci::use(device_id),
        soci::into(tenant_id);
    if (!sql.got_data()) {
      return fail(Errc::not_found, "no enrolled device with this id");
    }
    const long long issued = issued_at_s, not_after = not_after_s;
    sql << "INSERT INTO device_certificates (serial, device_id, tenant_id, issued_at, not_after) "
           "VALUES (:serial, :device_id, :tenant_id, :issued_at, :not_after)",
        soci::use(serial), soci::use(device_id), soci::use(tenant_id), soci::use(issued),
        soci::use(not_after);
    sql << "UPDATE device_credentials SET cert_serial = :serial, cert_pem = :pem, "
           "cert_not_after = :not_after, public_key_sha256 = :sha, public_key_pem = :key "
           "WHERE device_id = :id",
        soci::use(serial), soci::use(cert_pem), soci::use(not_after), soci::use(public_key_sha256),
        soci::use(public_key_pem), soci::use(device_id);
    return {};
  });
  if (!written) {
    return fail(std::move(written.error()), "record certificate");
  }
  return {};
}

Result<std::vector<std::string>> EnrollmentStore::revoked_serials(std::int64_t now_s) {
  std::vector<std::string> out;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    const long long now = now_s;
    std::string serial;
    soci::statement st = (sql.prepare << "SELECT c.serial FROM device_certificates c JOIN "
                                         "devices d ON d.id = c.device_id WHERE d.state = "
                                         "'revoked' AND c.not_after > :now ORDER BY c.serial",
                          soci::use(now), soci::into(serial));
    if (st.execute(true)) {
      do {
        out.push_back(serial);
      } while (st.fetch());
    }
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "list revoked certificates");
  }
  return out;
}

Result<std::vector<std::string>> EnrollmentStore::revoked_devices() {
  std::vector<std::string> out;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    std::string id;
    soci::statement st =
        (sql.prepare << "SELECT id FROM devices WHERE state = 'revoked' OR tenant_id IN "
                        "(SELECT id FROM tenants WHERE disabled_at IS NOT NULL) ORDER BY id",
         soci::into(id));
    if (st.execute(true)) {
      do {
        out.push_back(id);
      } while (st.fetch());
    }
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "list revoked devices");
  }
  return out;
}

}  // namespace hecs::control::store
