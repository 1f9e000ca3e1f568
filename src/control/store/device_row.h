// A device row as SOCI reads it, shared by device_store.cpp and device_list.cpp (private to
// the store).
#pragma once

#include <cstdint>

#include <soci/soci.h>

#include "control/store/store.h"

namespace hecs::control::store::detail {

inline constexpr const char* kDeviceColumns =
    "SELECT tenant_id, id, hostname, online, session, first_seen, last_seen, inventory, "
    "telemetry, telemetry_ts, state, tags, agent_version FROM devices";

// Integers as long long, a nullable column with its indicator.
struct DeviceRow {
  Device device;
  int online = 0;
  long long session = 0;
  long long first_seen = 0;
  long long last_seen = 0;
  long long telemetry_ts = 0;
  soci::indicator telemetry_ts_ind = soci::i_null;

  void bind(soci::statement& statement) {
    statement.exchange(soci::into(device.tenant_id));
    statement.exchange(soci::into(device.id));
    statement.exchange(soci::into(device.hostname));
    statement.exchange(soci::into(online));
    statement.exchange(soci::into(session));
    statement.exchange(soci::into(first_seen));
    statement.exchange(soci::into(last_seen));
    statement.exchange(soci::into(device.inventory));
    statement.exchange(soci::into(device.telemetry));
    statement.exchange(soci::into(telemetry_ts, telemetry_ts_ind));
    statement.exchange(soci::into(device.state));
    statement.exchange(soci::into(device.tags));
    statement.exchange(soci::into(device.agent_version));
  }

  Device get() const {
    Device out = device;
    out.online = online != 0;
    out.session = static_cast<std::uint64_t>(session);
    out.first_seen = first_seen;
    out.last_seen = last_seen;
    if (telemetry_ts_ind == soci::i_ok) {
      out.telemetry_ts = telemetry_ts;
    }
    return out;
  }
};

}  // namespace hecs::control::store::detail
