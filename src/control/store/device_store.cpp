#include <cctype>
#include <functional>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <soci/soci.h>

#include "control/store/store.h"

namespace hecs::control::store {
namespace {

constexpr const char* kDeviceColumns =
    "SELECT tenant_id, id, hostname, online, session, first_seen, last_seen, inventory, "
    "telemetry, telemetry_ts, state, tags FROM devices";

// One row as SOCI reads it: integers as long long, a nullable column with its indicator.
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

// "%" + q with LIKE's wildcards escaped + "%", lower-cased like LOWER() on the column side.
std::string like_pattern(const std::string& q) {
  std::string pattern = "%";
  for (char c : q) {
    if (c == '%' || c == '_' || c == '\\') {
      pattern += '\\';
    }
    pattern += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  pattern += '%';
  return pattern;
}

// Appends the filter's WHERE clause to sql, and to binds the bindings of its values in
// placeholder order; they bind references, which must outlive the statement. Placeholder names
// are all distinct on purpose: SQLite gives equal names one slot, and positional binding would
// then go wrong.
// fold_case: LOWER() both sides for PostgreSQL, whose LIKE is case-sensitive; SQLite's LIKE
// already ignores ASCII case, and LOWER() there doubled the cost of a filtered count (one string
// copy per row and column; bench/RESULTS.md, api).
void build_where(const std::string& tenant_id, const DeviceFilter& filter, bool with_cursor,
                 bool fold_case, const int& online, const std::string& pattern, std::string& sql,
                 std::vector<std::function<void(soci::statement&)>>& binds) {
  sql += " WHERE tenant_id = :tenant_id";
  binds.emplace_back([&tenant_id](soci::statement& s) { s.exchange(soci::use(tenant_id)); });
  if (filter.online) {
    sql += " AND online = :online";
    binds.emplace_back([&online](soci::statement& s) { s.exchange(soci::use(online)); });
  }
  if (!filter.q.empty()) {
    sql += fold_case ? " AND (LOWER(id) LIKE :q_id ESCAPE '\\' OR LOWER(hostname) LIKE :q_hostname "
                       "ESCAPE '\\')"
                     : " AND (id LIKE :q_id ESCAPE '\\' OR hostname LIKE :q_hostname ESCAPE '\\')";
    binds.emplace_back([&pattern](soci::statement& s) { s.exchange(soci::use(pattern)); });
    binds.emplace_back([&pattern](soci::statement& s) { s.exchange(soci::use(pattern)); });
  }
  if (with_cursor && !filter.after_id.empty()) {
    sql += " AND id > :after_id";
    binds.emplace_back([&filter](soci::statement& s) { s.exchange(soci::use(filter.after_id)); });
  }
}

}  // namespace

Result<DevicePage> DeviceStore::list(const std::string& tenant_id, const DeviceFilter& filter) {
  if (filter.limit == 0) {
    return fail(Errc::invalid_input, "list devices: limit must be at least 1");
  }
  DevicePage page;
  const bool fold_case = db_.backend() == db::Backend::postgresql;
  // One snapshot for the page and its total, so they agree while devices come and go.
  auto read = db_.read([&](soci::session& sql) -> Result<void> {
    const int online = filter.online.value_or(false) ? 1 : 0;
    const std::string pattern = like_pattern(filter.q);
    // One row past the page tells whether another page follows.
    const long long fetch = static_cast<long long>(filter.limit) + 1;

    std::string query = kDeviceColumns;
    std::vector<std::function<void(soci::statement&)>> binds;
    build_where(tenant_id, filter, /*with_cursor=*/true, fold_case, online, pattern, query, binds);
    query += " ORDER BY id LIMIT :fetch";
    DeviceRow row;
    soci::statement select(sql);
    row.bind(select);
    for (const auto& bind : binds) {
      bind(select);
    }
    select.exchange(soci::use(fetch));
    select.alloc();
    select.prepare(query);
    select.define_and_bind();
    select.execute();
    while (select.fetch()) {
      if (page.items.size() == filter.limit) {
        page.more = true;
        break;
      }
      page.items.push_back(row.get());
    }

    std::string count_query = "SELECT COUNT(*) FROM devices";
    binds.clear();
    build_where(tenant_id, filter, /*with_cursor=*/false, fold_case, online, pattern, count_query,
                binds);
    long long total = 0;
    soci::statement count(sql);
    count.exchange(soci::into(total));
    for (const auto& bind : binds) {
      bind(count);
    }
    count.alloc();
    count.prepare(count_query);
    count.define_and_bind();
    count.execute(true);
    page.total = static_cast<std::uint64_t>(total);
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "list devices");
  }
  return page;
}

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
