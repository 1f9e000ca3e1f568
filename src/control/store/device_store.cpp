// DeviceStore: one device, counts, changes, tags and targets (the list is in device_list.cpp).
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <soci/soci.h>

#include "control/store/device_row.h"
#include "control/store/store.h"

namespace hecs::control::store {

using detail::DeviceRow;
using detail::kDeviceColumns;

Result<Device> DeviceStore::get(const std::string& tenant_id, const std::string& device_id) {
  std::optional<Device> found;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    DeviceRow row;
    soci::statement select(sql);
    row.bind(select);
    select.exchange(soci::use(tenant_id));
    select.exchange(soci::use(device_id));
    select.alloc();
    select.prepare(std::string(kDeviceColumns) + " WHERE tenant_id = :tenant_id AND id = :id");
    select.define_and_bind();
    if (select.execute(true)) {
      found = row.get();
    }
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "get device");
  }
  if (!found) {
    return fail(Errc::not_found, fmt::format("get device: no device {}", device_id));
  }
  return std::move(*found);
}

Result<std::uint64_t> DeviceStore::count(std::optional<bool> online) {
  long long devices = 0;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    if (online) {
      const int wanted = *online ? 1 : 0;
      sql << "SELECT COUNT(*) FROM devices WHERE online = :online", soci::use(wanted),
          soci::into(devices);
    } else {
      sql << "SELECT COUNT(*) FROM devices", soci::into(devices);
    }
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "count devices");
  }
  return static_cast<std::uint64_t>(devices);
}

Result<std::vector<DeviceChange>> DeviceStore::changed_since(const std::string& tenant_id,
                                                             std::int64_t after_at,
                                                             const std::string& after_id,
                                                             std::size_t limit) {
  std::vector<DeviceChange> out;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    DeviceChange row;
    int online = 0;
    long long last_seen = 0;
    long long changed_at = 0;
    const long long from = after_at;
    const long long most = static_cast<long long>(limit);
    soci::statement st =
        (sql.prepare << "SELECT id, hostname, online, state, last_seen, changed_at FROM devices "
                        "WHERE tenant_id = :t AND changed_at >= :from AND (changed_at > :from2 "
                        "OR id > :after_id) ORDER BY changed_at, id LIMIT :limit",
         soci::use(tenant_id), soci::use(from), soci::use(from), soci::use(after_id),
         soci::use(most), soci::into(row.id), soci::into(row.hostname), soci::into(online),
         soci::into(row.state), soci::into(last_seen), soci::into(changed_at));
    st.execute();
    while (st.fetch()) {
      row.online = online != 0;
      row.last_seen = last_seen;
      row.changed_at = changed_at;
      out.push_back(row);
    }
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "read changed devices");
  }
  return out;
}

Result<DeviceCounts> DeviceStore::counts(const std::string& tenant_id) {
  DeviceCounts out;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    std::string state;
    int online = 0;
    long long n = 0;
    soci::statement st =
        (sql.prepare << "SELECT state, online, COUNT(*) FROM devices WHERE tenant_id = :t "
                        "GROUP BY state, online",
         soci::use(tenant_id), soci::into(state), soci::into(online), soci::into(n));
    st.execute();
    while (st.fetch()) {
      const auto count = static_cast<std::uint64_t>(n);
      out.total += count;
      if (state == "pending") {
        out.pending += count;
      } else if (state == "accepted") {
        (online != 0 ? out.online : out.offline) += count;
      }
    }
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "count devices");
  }
  return out;
}

Result<void> DeviceStore::set_tags(const std::string& tenant_id, const std::string& device_id,
                                   const std::string& tags_json) {
  return db_.transact([&](soci::session& sql) -> Result<void> {
    soci::statement st =
        (sql.prepare << "UPDATE devices SET tags = :tags WHERE tenant_id = :t AND id = :i",
         soci::use(tags_json), soci::use(tenant_id), soci::use(device_id));
    st.execute(true);
    if (st.get_affected_rows() == 0) {
      return fail(Errc::not_found, "no such device");
    }
    return {};
  });
}

Result<std::vector<DeviceStore::TargetInfo>> DeviceStore::targets(const std::string& tenant_id,
                                                                  bool with_inventory) {
  std::vector<TargetInfo> out;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    TargetInfo row;
    soci::statement st(sql);
    st.alloc();
    st.prepare(
        with_inventory
            ? "SELECT id, state, tags, inventory FROM devices WHERE tenant_id = :t ORDER BY id"
            : "SELECT id, state, tags, '' FROM devices WHERE tenant_id = :t ORDER BY id");
    st.exchange(soci::into(row.id));
    st.exchange(soci::into(row.state));
    st.exchange(soci::into(row.tags));
    st.exchange(soci::into(row.inventory));
    st.exchange(soci::use(tenant_id));
    st.define_and_bind();
    st.execute();
    while (st.fetch()) {
      out.push_back(row);
    }
    return {};
  });
  if (!read) {
    return tl::unexpected(read.error());
  }
  return out;
}

Result<std::string> DeviceStore::tenant_of(const std::string& device_id) {
  std::string tenant;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    sql << "SELECT tenant_id FROM devices WHERE id = :id", soci::use(device_id), soci::into(tenant);
    if (!sql.got_data()) {
      return fail(Errc::not_found, "no such device");
    }
    return {};
  });
  if (!read) {
    return tl::unexpected(read.error());
  }
  return tenant;
}

Result<std::map<std::string, std::string>> DeviceStore::tenants_of(
    std::span<const std::string> device_ids) {
  std::map<std::string, std::string> out;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    std::string id, tenant;
    soci::statement st = (sql.prepare << "SELECT tenant_id FROM devices WHERE id = :id",
                          soci::use(id), soci::into(tenant));
    for (const auto& device : device_ids) {
      id = device;
      if (st.execute(true)) {
        out.emplace(device, tenant);
      }
    }
    return {};
  });
  if (!read) {
    return tl::unexpected(read.error());
  }
  return out;
}

}  // namespace hecs::control::store
