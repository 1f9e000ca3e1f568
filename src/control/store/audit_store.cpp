// The audit log: one hash chain per tenant (src/common/audit), appended in a transaction that
// reads the tenant's head, so two writers can never fork the chain: SQLite serialises them
// with BEGIN IMMEDIATE, PostgreSQL with a transaction-scoped advisory lock per tenant. The
// primary key (tenant_id, seq) still refuses a second record with one seq (a writer that
// skipped the lock), and append then retries on the new head.
#include <algorithm>
#include <cstdint>
#include <utility>

#include <soci/soci.h>

#include "control/store/row.h"
#include "control/store/store.h"

namespace hecs::control::store {
namespace {

constexpr int kAppendAttempts = 8;
// The first key of PostgreSQL's two-key advisory locks that serialise a tenant's appends
// ("audt"), so they cannot meet another user of advisory locks.
constexpr int kLockSpace = 0x61756474;

constexpr const char* kRecordColumns =
    "SELECT tenant_id, seq, ts, actor, action, target, source, outcome, request_id, detail, "
    "prev_hash, hash FROM audit_log";

struct RecordRow {
  audit::Record record;
  long long seq = 0, ts = 0;

  void bind(soci::statement& st) {
    st.exchange(soci::into(record.tenant_id));
    st.exchange(soci::into(seq));
    st.exchange(soci::into(ts));
    st.exchange(soci::into(record.actor));
    st.exchange(soci::into(record.action));
    st.exchange(soci::into(record.target));
    st.exchange(soci::into(record.source));
    st.exchange(soci::into(record.outcome));
    st.exchange(soci::into(record.request_id));
    st.exchange(soci::into(record.detail));
    st.exchange(soci::into(record.prev_hash));
    st.exchange(soci::into(record.hash));
  }
  audit::Record take() {
    record.seq = static_cast<std::uint64_t>(seq);
    record.ts = ts;
    return std::move(record);
  }
};

std::pair<std::uint64_t, std::string> read_head(soci::session& sql, const std::string& tenant) {
  long long seq = 0;
  std::string hash;
  sql << "SELECT seq, hash FROM audit_log WHERE tenant_id = :tenant ORDER BY seq DESC LIMIT 1",
      soci::use(tenant), soci::into(seq), soci::into(hash);
  if (!sql.got_data()) {
    return {0, audit::genesis_hash()};
  }
  return {static_cast<std::uint64_t>(seq), hash};
}

}  // namespace

Result<audit::Record> AuditStore::append(audit::Record record) {
  if (record.tenant_id.empty()) {
    return fail(Errc::invalid_input, "audit: a record needs a tenant");
  }
  for (int attempt = 1;; ++attempt) {
    audit::Record stored;
    auto written = db_.transact([&](soci::session& sql) -> Result<void> {
      if (db_.backend() == db::Backend::postgresql) {
        // Writers of one tenant queue here until the holder commits. Without it, the writer
        // that lost the race on the primary key retried while the winner had already read
        // the new head for its next record, and could lose every attempt.
        sql << "SELECT pg_advisory_xact_lock(:space, hashtext(:tenant))", soci::use(kLockSpace),
            soci::use(record.tenant_id);
      }
      auto [seq, hash] = read_head(sql, record.tenant_id);
      audit::Record r = record;
      r.seq = seq + 1;
      stored = audit::link(std::move(r), hash);
      const long long s = static_cast<long long>(stored.seq);
      const long long ts = stored.ts;
      sql << "INSERT INTO audit_log (tenant_id, seq, ts, actor, action, target, source, outcome, "
             "request_id, detail, prev_hash, hash) VALUES (:tenant, :seq, :ts, :actor, :action, "
             ":target, :source, :outcome, :request, :detail, :prev, :hash)",
          soci::use(stored.tenant_id), soci::use(s), soci::use(ts), soci::use(stored.actor),
          soci::use(stored.action), soci::use(stored.target), soci::use(stored.source),
          soci::use(stored.outcome), soci::use(stored.request_id), soci::use(stored.detail),
          soci::use(stored.prev_hash), soci::use(stored.hash);
      return {};
    });
    if (written) {
      return stored;
    }
    if (written.error().code != Errc::conflict || attempt == kAppendAttempts) {
      return fail(std::move(written.error()), "audit append");
    }
  }
}

Result<AuditPage> AuditStore::list(const std::string& tenant_id, const AuditFilter& f) {
  if (f.limit == 0) {
    return fail(Errc::invalid_input, "limit must be at least 1");
  }
  AuditPage page;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    RecordRow row;
    const long long after = static_cast<long long>(f.after_seq);
    const long long since = f.since;
    // No bound is the largest one: a parameter compared with a literal 0 would be typed
    // integer by PostgreSQL, and every real timestamp is out of its range.
    const long long until = f.until == 0 ? INT64_MAX : f.until;
    const long long limit = static_cast<long long>(f.limit) + 1;
    const bool prefix = !f.action.empty() && f.action.back() == '.';
    const std::string exact_action = prefix ? "" : f.action;
    const std::string action_prefix = prefix ? f.action : "";
    // substr() counts characters on both backends, not bytes: count UTF-8 lead bytes.
    const long long prefix_length = static_cast<long long>(
        std::count_if(action_prefix.begin(), action_prefix.end(),
                      [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
    // Every filter is a bound parameter, also the empty ones, so the text of the statement
    // never depends on input. "keys." matches every action that starts with it.
    soci::statement st = select_into(
        sql, row,
        std::string(kRecordColumns) +
            " WHERE tenant_id = :tenant AND seq > :after AND ts >= :since AND ts < :until "
            "AND (:action = '' OR action = :action2) "
            "AND (:prefix = '' OR substr(action, 1, :length) = :prefix2) AND "
            "(:actor = '' OR actor = :actor2) AND (:outcome = '' OR outcome = "
            ":outcome2) ORDER BY seq LIMIT :limit",
        tenant_id, after, since, until, exact_action, exact_action, action_prefix, prefix_length,
        action_prefix, f.actor, f.actor, f.outcome, f.outcome, limit);
    st.execute(false);
    while (st.fetch()) {
      page.items.push_back(row.take());
      row = RecordRow{};
    }
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "list audit");
  }
  if (page.items.size() > f.limit) {
    page.items.pop_back();
    page.more = true;
  }
  return page;
}

Result<std::vector<audit::Record>> AuditStore::range(const std::string& tenant_id,
                                                     std::uint64_t from, std::uint64_t to) {
  std::vector<audit::Record> out;
  auto read = db_.read([&](soci::session& sql) -> Result<void> {
    RecordRow row;
    const long long lo = static_cast<long long>(from);
    const long long hi = to == 0 ? INT64_MAX : static_cast<long long>(to);
    soci::statement st = select_into(sql, row,
                                     std::string(kRecordColumns) +
                                         " WHERE tenant_id = :tenant AND seq >= :lo AND "
                                         "seq <= :hi ORDER BY seq",
                                     tenant_id, lo, hi);
    st.execute(false);
    while (st.fetch()) {
      out.push_back(row.take());
      row = RecordRow{};
    }
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "read audit");
  }
  return out;
}

Result<std::pair<std::uint64_t, std::string>> AuditStore::head(const std::string& tenant_id) {
  std::pair<std::uint64_t, std::string> out;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    out = read_head(sql, tenant_id);
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "audit head");
  }
  return out;
}

Result<std::vector<std::string>> AuditStore::tenants() {
  std::vector<std::string> out;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    std::string id;
    soci::statement st =
        (sql.prepare << "SELECT DISTINCT tenant_id FROM audit_log ORDER BY 1", soci::into(id));
    st.execute(false);
    while (st.fetch()) {
      out.push_back(id);
    }
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "audit tenants");
  }
  return out;
}

}  // namespace hecs::control::store
