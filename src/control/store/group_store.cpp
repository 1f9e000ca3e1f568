// GroupStore (tasks.h): named device groups, static (a list of ids) or dynamic (a selector).
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <soci/soci.h>

#include "control/store/row.h"
#include "control/store/store.h"

namespace hecs::control::store {
namespace {

constexpr const char* kGroupColumns =
    "SELECT id, tenant_id, name, selector, devices, created_at FROM device_groups";

struct GroupRow {
  Group group;
  std::string devices;
  long long created_at = 0;
  void bind(soci::statement& st) {
    st.exchange(soci::into(group.id));
    st.exchange(soci::into(group.tenant_id));
    st.exchange(soci::into(group.name));
    st.exchange(soci::into(group.selector));
    st.exchange(soci::into(devices));
    st.exchange(soci::into(created_at));
  }
  Group take() {
    Group out = group;
    out.created_at = created_at;
    out.devices.clear();
    boost::system::error_code ec;
    auto value = boost::json::parse(devices, ec);
    if (!ec && value.is_array()) {
      for (const auto& id : value.get_array()) {
        if (id.is_string()) {
          out.devices.emplace_back(id.get_string());
        }
      }
    }
    return out;
  }
};

std::string devices_json(const std::vector<std::string>& devices) {
  boost::json::array a;
  for (const auto& d : devices) {
    a.emplace_back(d);
  }
  return boost::json::serialize(a);
}

// The groups a WHERE clause selects, in name order.
template <class... Params>
Result<std::vector<Group>> select(db::Database& db, const std::string& where,
                                  const Params&... params) {
  std::vector<Group> out;
  auto read = db.with_session([&](soci::session& sql) -> Result<void> {
    GroupRow row;
    auto st =
        select_into(sql, row, std::string(kGroupColumns) + where + " ORDER BY name", params...);
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

Result<Group> first(Result<std::vector<Group>> rows) {
  if (!rows) {
    return tl::unexpected(rows.error());
  }
  if (rows->empty()) {
    return fail(Errc::not_found, "no such group");
  }
  return std::move(rows->front());
}

}  // namespace

Result<void> GroupStore::create(const Group& group) {
  return db_.transact([&](soci::session& sql) -> Result<void> {
    long long taken = 0;
    sql << "SELECT COUNT(*) FROM device_groups WHERE tenant_id = :t AND name = :n",
        soci::use(group.tenant_id), soci::use(group.name), soci::into(taken);
    if (taken > 0) {
      return fail(Errc::conflict, "a group of this name exists");
    }
    const std::string devices = devices_json(group.devices);
    const long long at = group.created_at;
    sql << "INSERT INTO device_groups (id, tenant_id, name, selector, devices, created_at) "
           "VALUES (:id, :t, :n, :s, :d, :c)",
        soci::use(group.id), soci::use(group.tenant_id), soci::use(group.name),
        soci::use(group.selector), soci::use(devices), soci::use(at);
    return {};
  });
}

Result<std::vector<Group>> GroupStore::list(const std::string& tenant_id) {
  return select(db_, " WHERE tenant_id = :t", tenant_id);
}

Result<Group> GroupStore::get(const std::string& tenant_id, const std::string& id) {
  return first(select(db_, " WHERE tenant_id = :t AND id = :i", tenant_id, id));
}

Result<Group> GroupStore::find_by_name(const std::string& tenant_id, const std::string& name) {
  return first(select(db_, " WHERE tenant_id = :t AND name = :n", tenant_id, name));
}

Result<void> GroupStore::update(const Group& group) {
  return db_.transact([&](soci::session& sql) -> Result<void> {
    long long taken = 0;
    sql << "SELECT COUNT(*) FROM device_groups WHERE tenant_id = :t AND name = :n AND id <> :i",
        soci::use(group.tenant_id), soci::use(group.name), soci::use(group.id), soci::into(taken);
    if (taken > 0) {
      return fail(Errc::conflict, "a group of this name exists");
    }
    const std::string devices = devices_json(group.devices);
    soci::statement st = (sql.prepare << "UPDATE device_groups SET name = :n, selector = :s, "
                                         "devices = :d WHERE tenant_id = :t AND id = :i",
                          soci::use(group.name), soci::use(group.selector), soci::use(devices),
                          soci::use(group.tenant_id), soci::use(group.id));
    st.execute(true);
    if (st.get_affected_rows() == 0) {
      return fail(Errc::not_found, "no such group");
    }
    return {};
  });
}

Result<void> GroupStore::remove(const std::string& tenant_id, const std::string& id) {
  return db_.transact([&](soci::session& sql) -> Result<void> {
    soci::statement st =
        (sql.prepare << "DELETE FROM device_groups WHERE tenant_id = :t AND id = :i",
         soci::use(tenant_id), soci::use(id));
    st.execute(true);
    if (st.get_affected_rows() == 0) {
      return fail(Errc::not_found, "no such group");
    }
    return {};
  });
}

}  // namespace hecs::control::store
