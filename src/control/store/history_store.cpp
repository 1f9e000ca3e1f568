// TelemetryStore: a device's history read for charts (scan) and its online changes.
#include <utility>

#include <soci/soci.h>

#include "control/store/store.h"

namespace hecs::control::store {

Result<void> TelemetryStore::scan(const std::string& tenant_id, const std::string& device_id,
                                  std::int64_t from, std::int64_t to, std::size_t chunk,
                                  const std::function<Result<void>(const TelemetryPoint&)>& each) {
  if (chunk == 0) {
    return fail(Errc::invalid_input, "scan telemetry: chunk is 0");
  }
  // Keyset pages on (ts, message_id), the window's order: rows of one ts may straddle pages.
  // Message ids are never empty, so ("", from) starts at ts = from.
  long long after_ts = from;
  std::string after_id;
  for (;;) {
    std::vector<TelemetryPoint> page;
    auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
      const long long to_ts = to;
      const long long max_rows = static_cast<long long>(chunk);
      TelemetryPoint row;
      long long ts = 0;
      soci::statement select =
          (sql.prepare << "SELECT message_id, ts, body FROM telemetry_raw "
                          "WHERE tenant_id = :tenant_id AND device_id = :device_id "
                          "AND ts < :to_ts AND (ts > :after_ts OR (ts = :same_ts AND message_id > "
                          ":after_id)) "
                          "ORDER BY ts, message_id LIMIT :limit",
           soci::use(tenant_id), soci::use(device_id), soci::use(to_ts), soci::use(after_ts),
           soci::use(after_ts), soci::use(after_id), soci::use(max_rows),
           soci::into(row.message_id), soci::into(ts), soci::into(row.body));
      select.execute();
      while (select.fetch()) {
        row.ts = ts;
        page.push_back(row);
      }
      return {};
    });
    if (!read) {
      return fail(std::move(read.error()), "scan telemetry");
    }
    for (const auto& point : page) {
      if (auto handled = each(point); !handled) {
        return handled;
      }
    }
    if (page.size() < chunk) {
      return {};
    }
    after_ts = page.back().ts;
    after_id = page.back().message_id;
  }
}

Result<PresenceHistory> TelemetryStore::presence(const std::string& tenant_id,
                                                 const std::string& device_id, std::int64_t since,
                                                 std::size_t limit) {
  PresenceHistory history;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    const long long since_ts = since;
    const long long max_rows = static_cast<long long>(limit) + 1;
    int online = 0;
    soci::indicator found = soci::i_null;
    sql << "SELECT online FROM device_presence WHERE tenant_id = :tenant_id AND "
           "device_id = :device_id AND ts < :since ORDER BY ts DESC, id DESC LIMIT 1",
        soci::use(tenant_id), soci::use(device_id), soci::use(since_ts), soci::into(online, found);
    if (sql.got_data() && found == soci::i_ok) {
      history.online_at_since = online != 0;
    }
    long long ts = 0;
    soci::statement select =
        (sql.prepare << "SELECT ts, online FROM device_presence WHERE tenant_id = :tenant_id AND "
                        "device_id = :device_id AND ts >= :since ORDER BY ts, id LIMIT :limit",
         soci::use(tenant_id), soci::use(device_id), soci::use(since_ts), soci::use(max_rows),
         soci::into(ts), soci::into(online));
    select.execute();
    while (select.fetch()) {
      history.items.push_back({ts, online != 0});
    }
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "device presence");
  }
  if (history.items.size() > limit) {
    history.items.resize(limit);
    history.more = true;
  }
  return history;
}

Result<std::size_t> TelemetryStore::prune_presence(std::int64_t before) {
  std::size_t deleted = 0;
  auto written = db_.with_session([&](soci::session& sql) -> Result<void> {
    const long long cutoff = before;
    soci::statement remove =
        (sql.prepare << "DELETE FROM device_presence WHERE ts < :before", soci::use(cutoff));
    remove.execute(true);
    deleted = static_cast<std::size_t>(remove.get_affected_rows());
    return {};
  });
  if (!written) {
    return fail(std::move(written.error()), "prune presence");
  }
  return deleted;
}

}  // namespace hecs::control::store
