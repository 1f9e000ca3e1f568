// ScheduleStore (tasks.h): cron schedules of the control plane.
#include <soci/soci.h>

#include "control/store/row.h"
#include "control/store/store.h"

namespace hecs::control::store {
namespace {

constexpr const char* kColumns =
    "SELECT id, tenant_id, name, cron, timezone, task, missed, max_catchup, enabled, next_fire, "
    "last_fire, last_task, last_error, created_at, created_by FROM schedules";

struct ScheduleSociRow {
  ScheduleRow row;
  int enabled = 0;
  NullableInt next_fire, last_fire;
  long long created_at = 0;
  void bind(soci::statement& st) {
    st.exchange(soci::into(row.id));
    st.exchange(soci::into(row.tenant_id));
    st.exchange(soci::into(row.name));
    st.exchange(soci::into(row.cron));
    st.exchange(soci::into(row.timezone));
    st.exchange(soci::into(row.task));
    st.exchange(soci::into(row.missed));
    st.exchange(soci::into(row.max_catchup));
    st.exchange(soci::into(enabled));
    next_fire.bind(st);
    last_fire.bind(st);
    st.exchange(soci::into(row.last_task));
    st.exchange(soci::into(row.last_error));
    st.exchange(soci::into(created_at));
    st.exchange(soci::into(row.created_by));
  }
  ScheduleRow take() const {
    ScheduleRow out = row;
    out.enabled = enabled != 0;
    out.next_fire = next_fire.get();
    out.last_fire = last_fire.get();
    out.created_at = created_at;
    return out;
  }
};

template <class... Params>
Result<std::vector<ScheduleRow>> select(db::Database& db, const std::string& where,
                                        const Params&... params) {
  std::vector<ScheduleRow> out;
  auto read = db.with_session([&](soci::session& sql) -> Result<void> {
    ScheduleSociRow row;
    auto st = select_into(sql, row, std::string(kColumns) + where, params...);
    st.execute();
    while (st.fetch()) {
      out.push_back(row.take());
    }
    return {};
  });
  if (!read) {
    return tl::unexpected(read.error());
  }
  return out;
}

}  // namespace

Result<void> ScheduleStore::create(const ScheduleRow& r) {
  return db_.transact([&](soci::session& sql) -> Result<void> {
    long long taken = 0;
    sql << "SELECT COUNT(*) FROM schedules WHERE tenant_id = :t AND name = :n",
        soci::use(r.tenant_id), soci::use(r.name), soci::into(taken);
    if (taken > 0) {
      return fail(Errc::conflict, "a schedule of this name exists");
    }
    NullableValue next(r.next_fire);
    const long long created = r.created_at;
    const int enabled = r.enabled ? 1 : 0;
    sql << "INSERT INTO schedules (id, tenant_id, name, cron, timezone, task, missed, "
           "max_catchup, enabled, next_fire, created_at, created_by) VALUES (:id, :t, :n, :c, "
           ":tz, :task, :m, :mc, :e, :next, :created, :by)",
        soci::use(r.id), soci::use(r.tenant_id), soci::use(r.name), soci::use(r.cron),
        soci::use(r.timezone), soci::use(r.task), soci::use(r.missed), soci::use(r.max_catchup),
        soci::use(enabled), soci::use(next.value, next.indicator), soci::use(created),
        soci::use(r.created_by);
    return {};
  });
}

Result<std::vector<ScheduleRow>> ScheduleStore::list(const std::string& tenant_id) {
  return select(db_, " WHERE tenant_id = :t ORDER BY name", tenant_id);
}

Result<ScheduleRow> ScheduleStore::get(const std::string& tenant_id, const std::string& id) {
  auto rows = select(db_, " WHERE tenant_id = :t AND id = :i", tenant_id, id);
  if (!rows) {
    return tl::unexpected(rows.error());
  }
  if (rows->empty()) {
    return fail(Errc::not_found, "no such schedule");
  }
  return std::move(rows->front());
}

Result<void> ScheduleStore::update(const ScheduleRow& r) {
  return db_.transact([&](soci::session& sql) -> Result<void> {
    long long taken = 0;
    sql << "SELECT COUNT(*) FROM schedules WHERE tenant_id = :t AND name = :n AND id <> :i",
        soci::use(r.tenant_id), soci::use(r.name), soci::use(r.id), soci::into(taken);
    if (taken > 0) {
      return fail(Errc::conflict, "a schedule of this name exists");
    }
    NullableValue next(r.next_fire);
    const int enabled = r.enabled ? 1 : 0;
    soci::statement st =
        (sql.prepare << "UPDATE schedules SET name = :n, cron = :c, timezone = :tz, task = :task, "
                        "missed = :m, max_catchup = :mc, enabled = :e, next_fire = :next WHERE "
                        "tenant_id = :t AND id = :i",
         soci::use(r.name), soci::use(r.cron), soci::use(r.timezone), soci::use(r.task),
         soci::use(r.missed), soci::use(r.max_catchup), soci::use(enabled),
         soci::use(next.value, next.indicator), soci::use(r.tenant_id), soci::use(r.id));
    st.execute(true);
    if (st.get_affected_rows() == 0) {
      return fail(Errc::not_found, "no such schedule");
    }
    return {};
  });
}

Result<void> ScheduleStore::remove(const std::string& tenant_id, const std::string& id) {
  return db_.transact([&](soci::session& sql) -> Result<void> {
    soci::statement st = (sql.prepare << "DELETE FROM schedules WHERE tenant_id = :t AND id = :i",
                          soci::use(tenant_id), soci::use(id));
    st.execute(true);
    if (st.get_affected_rows() == 0) {
      return fail(Errc::not_found, "no such schedule");
    }
    return {};
  });
}

Result<std::vector<ScheduleRow>> ScheduleStore::due(std::int64_t now) {
  const long long at = now;
  return select(db_,
                " WHERE enabled = 1 AND next_fire IS NOT NULL AND next_fire <= :now "
                "ORDER BY next_fire",
                at);
}

Result<bool> ScheduleStore::advance(const std::string& id, std::int64_t expected,
                                    std::optional<std::int64_t> next, std::int64_t fired_at,
                                    const std::string& last_task, const std::string& last_error) {
  bool won = false;
  auto written = db_.transact([&](soci::session& sql) -> Result<void> {
    NullableValue n(next);
    const long long e = expected, f = fired_at;
    soci::statement st =
        (sql.prepare << "UPDATE schedules SET next_fire = :next, last_fire = :fired, last_task = "
                        ":task, last_error = :error WHERE id = :id AND next_fire = :expected",
         soci::use(n.value, n.indicator), soci::use(f), soci::use(last_task), soci::use(last_error),
         soci::use(id), soci::use(e));
    st.execute(true);
    won = st.get_affected_rows() == 1;
    return {};
  });
  if (!written) {
    return tl::unexpected(written.error());
  }
  return won;
}

Result<void> ScheduleStore::record(const std::string& id, const std::string& last_task,
                                   const std::string& last_error) {
  return db_.transact([&](soci::session& sql) -> Result<void> {
    sql << "UPDATE schedules SET last_task = :task, last_error = :error WHERE id = :id",
        soci::use(last_task), soci::use(last_error), soci::use(id);
    return {};
  });
}

}  // namespace hecs::control::store
