// TaskStore (tasks.h): the task a local schedule's run becomes when its first result arrives
// (docs/tasks.md "Local schedules"). The result writer calls it inside its transaction.
#include <boost/json/serialize.hpp>
#include <soci/soci.h>

#include "control/store/row.h"
#include "control/store/store.h"

namespace hecs::control::store {
namespace {

constexpr long long kLocalExpiryMs = 86'400'000;  // as a task's default deadline

std::string local_target(const ResultItem& item) {
  return boost::json::serialize(
      boost::json::object{{"devices", boost::json::array{boost::json::value(item.device_id)}},
                          {"resolved", 1},
                          {"local_schedule", item.local->schedule}});
}

// Not a task body the control plane could send: the device holds the spec, this says which.
std::string local_spec(const ResultItem& item) {
  const auto& l = *item.local;
  return boost::json::serialize(
      boost::json::object{{"local_schedule", boost::json::object{{"name", l.schedule},
                                                                 {"cron", l.cron},
                                                                 {"timezone", l.timezone},
                                                                 {"fire_at", l.fire_at}}},
                          {"command", boost::json::object{{"summary", l.command}}}});
}

}  // namespace

Result<bool> ensure_local_task(soci::session& sql, const ResultItem& item) {
  std::string tenant, device_state;
  sql << "SELECT tenant_id, state FROM devices WHERE id = :d", soci::use(item.device_id),
      soci::into(tenant), soci::into(device_state);
  if (!sql.got_data() || device_state != "accepted") {
    return fail(Errc::unauthorized, "the device is not accepted");
  }
  const auto& l = *item.local;
  const long long fire_at = l.fire_at, expires_at = l.fire_at + kLocalExpiryMs;
  const std::string by = "local-schedule:" + l.schedule, target = local_target(item),
                    spec = local_spec(item);
  // Another writer (a second replica) may make the same task at once: one insert wins, and the
  // checks below then hold for both.
  soci::statement insert_task =
      (sql.prepare << "INSERT INTO tasks (id, tenant_id, created_at, created_by, target, spec, "
                      "state, expires_at, total, origin) VALUES (:id, :tenant, :created, :by, "
                      ":target, :spec, 'running', :expires, 1, 'local-schedule') "
                      "ON CONFLICT (id) DO NOTHING",
       soci::use(item.task_id), soci::use(tenant), soci::use(fire_at), soci::use(by),
       soci::use(target), soci::use(spec), soci::use(expires_at));
  insert_task.execute(true);
  const bool made = insert_task.get_affected_rows() > 0;
  std::string origin, task_tenant;
  sql << "SELECT origin, tenant_id FROM tasks WHERE id = :id", soci::use(item.task_id),
      soci::into(origin), soci::into(task_tenant);
  if (origin != "local-schedule" || task_tenant != tenant) {
    return fail(Errc::unauthorized, "the task is not a local schedule's of this device");
  }
  if (made) {
    sql << "INSERT INTO task_runs (task_id, device_id, tenant_id, position, state, sent_at, "
           "updated_at) VALUES (:t, :d, :tenant, 0, 'sent', :sent, :at) "
           "ON CONFLICT (task_id, device_id) DO NOTHING",
        soci::use(item.task_id), soci::use(item.device_id), soci::use(tenant), soci::use(fire_at),
        soci::use(fire_at);
  }
  int runs = 0;
  sql << "SELECT COUNT(*) FROM task_runs WHERE task_id = :t AND device_id = :d",
      soci::use(item.task_id), soci::use(item.device_id), soci::into(runs);
  if (runs != 1) {
    return fail(Errc::unauthorized, "the task is another device's");
  }
  return made;
}

}  // namespace hecs::control::store
