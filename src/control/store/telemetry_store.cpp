#include <utility>

#include <soci/soci.h>

#include "control/store/store.h"

namespace hecs::control::store {

Result<std::vector<TelemetryPoint>> TelemetryStore::window(const std::string& tenant_id,
                                                           const std::string& device_id,
                                                           std::int64_t from, std::int64_t to,
                                                           std::size_t limit) {
  std::vector<TelemetryPoint> points;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    const long long from_ts = from;
    const long long to_ts = to;
    const long long max_rows = static_cast<long long>(limit);
    TelemetryPoint row;
    long long ts = 0;
    soci::statement select =
        (sql.prepare << "SELECT message_id, ts, body FROM telemetry_raw "
                        "WHERE tenant_id = :tenant_id AND device_id = :device_id "
                        "AND ts >= :from_ts AND ts < :to_ts ORDER BY ts, message_id LIMIT :limit",
         soci::use(tenant_id), soci::use(device_id), soci::use(from_ts), soci::use(to_ts),
         soci::use(max_rows), soci::into(row.message_id), soci::into(ts), soci::into(row.body));
    select.execute();
    while (select.fetch()) {
      row.ts = ts;
      points.push_back(row);
    }
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "telemetry window");
  }
  return points;
}

Result<std::size_t> TelemetryStore::prune(std::int64_t before) {
  std::size_t deleted = 0;
  auto written = db_.with_session([&](soci::session& sql) -> Result<void> {
    const long long cutoff = before;
    soci::statement remove =
        (sql.prepare << "DELETE FROM telemetry_raw WHERE ts < :before", soci::use(cutoff));
    remove.execute(true);
    deleted = static_cast<std::size_t>(remove.get_affected_rows());
    return {};
  });
  if (!written) {
    return fail(std::move(written.error()), "prune telemetry");
  }
  return deleted;
}

Result<std::uint64_t> TelemetryStore::count(const std::string& tenant_id,
                                            const std::string& device_id) {
  long long rows = 0;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    sql << "SELECT COUNT(*) FROM telemetry_raw WHERE tenant_id = :tenant_id AND "
           "device_id = :device_id",
        soci::use(tenant_id), soci::use(device_id), soci::into(rows);
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "count telemetry");
  }
  return static_cast<std::uint64_t>(rows);
}

}  // namespace hecs::control::store
