// DeviceStore::ingest: a batch of validated up-messages in one transaction (DESIGN §5).
#include <limits>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <soci/soci.h>

#include "control/store/store.h"

namespace hecs::control::store {
namespace {

// Each upsert changes a row only when it belongs to the item's tenant, and hello and status
// only when their session is not older than the stored one (S28): 0 affected rows then tells
// that the item was ignored. last_seen only moves forward, as batches of several consumers may
// interleave. Only status decides `online`: the broker replays retained hello and status in no
// set order, so a hello arriving after the will of its own session must not revive the device.
constexpr const char* kHello =
    "INSERT INTO devices (id, tenant_id, hostname, online, session, first_seen, last_seen, "
    "inventory, agent_version, changed_at) VALUES (:id, :tenant_id, :hostname, 0, :session, "
    ":first_seen, :last_seen, :inventory, :agent_version, :changed_at) "
    "ON CONFLICT (id) DO UPDATE SET hostname = excluded.hostname, "
    "changed_at = CASE WHEN devices.hostname <> excluded.hostname THEN excluded.changed_at "
    "ELSE devices.changed_at END, "
    "session = excluded.session, inventory = excluded.inventory, "
    "agent_version = excluded.agent_version, "
    "last_seen = CASE WHEN excluded.last_seen > devices.last_seen THEN excluded.last_seen "
    "ELSE devices.last_seen END WHERE devices.tenant_id = excluded.tenant_id AND excluded.session "
    ">= devices.session";

constexpr const char* kStatus =
    "INSERT INTO devices (id, tenant_id, online, session, first_seen, last_seen, changed_at) "
    "VALUES (:id, :tenant_id, :online, :session, :first_seen, :last_seen, :changed_at) "
    "ON CONFLICT (id) DO UPDATE SET online = excluded.online, session = excluded.session, "
    "changed_at = CASE WHEN devices.online <> excluded.online THEN excluded.changed_at "
    "ELSE devices.changed_at END, "
    "last_seen = CASE WHEN excluded.last_seen > devices.last_seen THEN excluded.last_seen "
    "ELSE devices.last_seen END WHERE devices.tenant_id = excluded.tenant_id AND excluded.session "
    ">= devices.session";

// Messages arrive out of order after an agent's offline period: the latest snapshot is the one
// with the newest ts, not the last one stored.
constexpr const char* kTelemetry =
    "INSERT INTO devices (id, tenant_id, first_seen, last_seen, telemetry, telemetry_ts, "
    "changed_at) VALUES (:id, :tenant_id, :first_seen, :last_seen, :telemetry, :telemetry_ts, "
    ":changed_at) "
    "ON CONFLICT (id) DO UPDATE SET "
    "last_seen = CASE WHEN excluded.last_seen > devices.last_seen THEN excluded.last_seen "
    "ELSE devices.last_seen END, "
    "telemetry = CASE WHEN devices.telemetry_ts IS NULL OR "
    "excluded.telemetry_ts > devices.telemetry_ts THEN excluded.telemetry "
    "ELSE devices.telemetry END, "
    "telemetry_ts = CASE WHEN devices.telemetry_ts IS NULL OR "
    "excluded.telemetry_ts > devices.telemetry_ts THEN excluded.telemetry_ts "
    "ELSE devices.telemetry_ts END "
    "WHERE devices.tenant_id = excluded.tenant_id";

// For an ignored hello or status: the device was still heard from.
constexpr const char* kTouch =
    "UPDATE devices SET last_seen = CASE WHEN last_seen < :received_at THEN :received_at_again "
    "ELSE last_seen END WHERE id = :id AND tenant_id = :tenant_id";

constexpr const char* kRaw =
    "INSERT INTO telemetry_raw (tenant_id, device_id, message_id, ts, received_at, body) "
    "VALUES (:tenant_id, :device_id, :message_id, :ts, :received_at, :body) "
    "ON CONFLICT (device_id, message_id) DO NOTHING";

// Online history (migration 0011): the stored online state before a status, and a row for each
// change of it. A device without a row counts as offline, as the column's default.
constexpr const char* kOnlineBefore =
    "SELECT online FROM devices WHERE id = :id AND tenant_id = :tenant_id";

constexpr const char* kPresence =
    "INSERT INTO device_presence (tenant_id, device_id, ts, online) "
    "VALUES (:tenant_id, :device_id, :ts, :online)";

// The values the statements are bound to, reassigned for each item.
struct Values {
  std::string tenant_id;
  std::string device_id;
  std::string message_id;
  std::string hostname;
  std::string agent_version;
  std::string body;
  long long session = 0;
  long long received_at = 0;
  long long changed_at = 0;  // received_at, for the changed_at column
  long long ts = 0;
  int online = 0;

  void assign(const IngestItem& item) {
    tenant_id = item.tenant_id;
    device_id = item.device_id;
    message_id = item.message_id;
    hostname = item.hostname;
    agent_version = item.agent_version;
    body = item.body;
    session = static_cast<long long>(item.session);
    received_at = item.received_at;
    changed_at = item.received_at;
    ts = item.ts;
    online = item.online ? 1 : 0;
  }
};

// Prepared once per batch on first use, then re-executed for each item.
class Statements {
 public:
  Statements(soci::session& sql, const Values& v) : sql_(sql), v_(v) {}

  long long hello() {
    return run(hello_, [this] {
      return (sql_.prepare << kHello, soci::use(v_.device_id), soci::use(v_.tenant_id),
              soci::use(v_.hostname), soci::use(v_.session), soci::use(v_.received_at),
              soci::use(v_.received_at), soci::use(v_.body), soci::use(v_.agent_version),
              soci::use(v_.changed_at));
    });
  }
  long long status() {
    return run(status_, [this] {
      return (sql_.prepare << kStatus, soci::use(v_.device_id), soci::use(v_.tenant_id),
              soci::use(v_.online), soci::use(v_.session), soci::use(v_.received_at),
              soci::use(v_.received_at), soci::use(v_.changed_at));
    });
  }
  long long telemetry() {
    return run(telemetry_, [this] {
      return (sql_.prepare << kTelemetry, soci::use(v_.device_id), soci::use(v_.tenant_id),
              soci::use(v_.received_at), soci::use(v_.received_at), soci::use(v_.body),
              soci::use(v_.ts), soci::use(v_.changed_at));
    });
  }
  long long touch() {
    return run(touch_, [this] {
      return (sql_.prepare << kTouch, soci::use(v_.received_at), soci::use(v_.received_at),
              soci::use(v_.device_id), soci::use(v_.tenant_id));
    });
  }
  int online_before() {
    auto& statement = online_before_;
    if (!statement) {
      statement.emplace((sql_.prepare << kOnlineBefore, soci::use(v_.device_id),
                         soci::use(v_.tenant_id), soci::into(online_before_value_)));
    }
    return statement->execute(true) ? online_before_value_ : 0;
  }
  long long presence() {
    return run(presence_, [this] {
      return (sql_.prepare << kPresence, soci::use(v_.tenant_id), soci::use(v_.device_id),
              soci::use(v_.received_at), soci::use(v_.online));
    });
  }
  long long raw() {
    return run(raw_, [this] {
      return (sql_.prepare << kRaw, soci::use(v_.tenant_id), soci::use(v_.device_id),
              soci::use(v_.message_id), soci::use(v_.ts), soci::use(v_.received_at),
              soci::use(v_.body));
    });
  }

 private:
  template <class Prepare>
  long long run(std::optional<soci::statement>& statement, const Prepare& prepare) {
    if (!statement) {
      statement.emplace(prepare());
    }
    statement->execute(true);
    return statement->get_affected_rows();
  }

  soci::session& sql_;
  const Values& v_;
  std::optional<soci::statement> hello_;
  std::optional<soci::statement> status_;
  std::optional<soci::statement> telemetry_;
  std::optional<soci::statement> touch_;
  std::optional<soci::statement> raw_;
  std::optional<soci::statement> online_before_;
  std::optional<soci::statement> presence_;
  int online_before_value_ = 0;  // kOnlineBefore reads into it
};

Result<void> validate(const IngestItem& item) {
  if (item.tenant_id.empty() || item.device_id.empty()) {
    return fail(Errc::invalid_input, "item without tenant or device id");
  }
  if (item.kind == IngestItem::Kind::telemetry && item.message_id.empty()) {
    return fail(Errc::invalid_input, "telemetry without message id");
  }
  if (item.session > static_cast<std::uint64_t>(std::numeric_limits<long long>::max())) {
    return fail(Errc::invalid_input, fmt::format("session {} out of range", item.session));
  }
  return {};
}

void apply(const IngestItem& item, Statements& statements, IngestStats& stats) {
  switch (item.kind) {
    case IngestItem::Kind::hello:
    case IngestItem::Kind::status: {
      const bool hello = item.kind == IngestItem::Kind::hello;
      const int before = hello ? 0 : statements.online_before();
      if ((hello ? statements.hello() : statements.status()) > 0) {
        if (!hello && before != (item.online ? 1 : 0)) {
          statements.presence();
        }
        ++stats.applied;
      } else if (statements.touch() > 0) {
        ++stats.stale;
      } else {
        ++stats.rejected;
      }
      break;
    }
    case IngestItem::Kind::telemetry:
      if (statements.telemetry() == 0) {
        ++stats.rejected;
      } else if (statements.raw() == 0) {
        ++stats.duplicates;
      } else {
        ++stats.applied;
      }
      break;
  }
}

}  // namespace

Result<IngestStats> DeviceStore::ingest(std::span<const IngestItem> batch) {
  for (const IngestItem& item : batch) {
    if (auto valid = validate(item); !valid) {
      return fail(std::move(valid.error()), "ingest");
    }
  }
  IngestStats stats;
  if (batch.empty()) {
    return stats;
  }
  auto written = db_.transact([&](soci::session& sql) -> Result<void> {
    Values values;
    Statements statements(sql, values);
    for (const IngestItem& item : batch) {
      values.assign(item);
      apply(item, statements, stats);
    }
    return {};
  });
  if (!written) {
    return fail(std::move(written.error()), "ingest");
  }
  return stats;
}

}  // namespace hecs::control::store
