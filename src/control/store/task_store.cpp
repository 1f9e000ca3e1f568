// TaskStore (tasks.h): tasks and their runs as the API and the dispatcher see them. Results
// from devices are applied in run_store.cpp.
#include <algorithm>

#include <soci/soci.h>

#include "control/store/row.h"
#include "control/store/store.h"

namespace hecs::control::store {
namespace {

// " AND state IN ('a','b')" for a filter's states, or "" for none. The names are written into
// the SQL, so anything but lower-case letters and '_' is refused here as well as by the caller.
Result<std::string> states_clause(const std::vector<std::string>& states) {
  if (states.empty()) {
    return std::string();
  }
  std::string clause = " AND state IN (";
  for (std::size_t i = 0; i < states.size(); ++i) {
    const auto& s = states[i];
    if (s.empty() || s.size() > 32 || !std::all_of(s.begin(), s.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || c == '_';
        })) {
      return fail(Errc::invalid_input, "state: not a state name");
    }
    clause += (i == 0 ? "'" : ",'") + s + "'";
  }
  return clause + ")";
}

constexpr const char* kTaskColumns =
    "SELECT id, tenant_id, created_at, created_by, target, spec, state, expires_at, "
    "max_in_flight, per_minute, abort_percent, abort_min, total, schedule_id, finished_at, "
    "origin FROM tasks";

struct TaskSociRow {
  TaskRow task;
  long long created_at = 0, expires_at = 0;
  NullableInt finished_at;
  void bind(soci::statement& st) {
    st.exchange(soci::into(task.id));
    st.exchange(soci::into(task.tenant_id));
    st.exchange(soci::into(created_at));
    st.exchange(soci::into(task.created_by));
    st.exchange(soci::into(task.target));
    st.exchange(soci::into(task.spec));
    st.exchange(soci::into(task.state));
    st.exchange(soci::into(expires_at));
    st.exchange(soci::into(task.max_in_flight));
    st.exchange(soci::into(task.per_minute));
    st.exchange(soci::into(task.abort_percent));
    st.exchange(soci::into(task.abort_min));
    st.exchange(soci::into(task.total));
    st.exchange(soci::into(task.schedule_id));
    finished_at.bind(st);
    st.exchange(soci::into(task.origin));
  }
  TaskRow take() const {
    TaskRow out = task;
    out.created_at = created_at;
    out.expires_at = expires_at;
    out.finished_at = finished_at.get();
    return out;
  }
};

constexpr const char* kRunColumns =
    "SELECT task_id, device_id, tenant_id, position, state, cancel_requested, sent_at, "
    "started_at, ended_at, exit_code, signal, error, stdout_bytes, stderr_bytes, truncated, "
    "updated_at FROM task_runs";

struct RunSociRow {
  RunRow run;
  int cancel_requested = 0, truncated = 0;
  NullableInt sent_at, started_at, ended_at, exit_code, signal;
  long long stdout_bytes = 0, stderr_bytes = 0, updated_at = 0;
  void bind(soci::statement& st) {
    st.exchange(soci::into(run.task_id));
    st.exchange(soci::into(run.device_id));
    st.exchange(soci::into(run.tenant_id));
    st.exchange(soci::into(run.position));
    st.exchange(soci::into(run.state));
    st.exchange(soci::into(cancel_requested));
    sent_at.bind(st);
    started_at.bind(st);
    ended_at.bind(st);
    exit_code.bind(st);
    signal.bind(st);
    st.exchange(soci::into(run.error));
    st.exchange(soci::into(stdout_bytes));
    st.exchange(soci::into(stderr_bytes));
    st.exchange(soci::into(truncated));
    st.exchange(soci::into(updated_at));
  }
  RunRow take() const {
    RunRow out = run;
    out.cancel_requested = cancel_requested != 0;
    out.truncated = truncated != 0;
    out.sent_at = sent_at.get();
    out.started_at = started_at.get();
    out.ended_at = ended_at.get();
    out.exit_code = exit_code.get();
    out.signal = signal.get();
    out.stdout_bytes = stdout_bytes;
    out.stderr_bytes = stderr_bytes;
    out.updated_at = updated_at;
    return out;
  }
};

}  // namespace

Result<void> TaskStore::create(const TaskRow& task, std::span<const std::string> devices) {
  return db_.transact([&](soci::session& sql) -> Result<void> {
    const long long created_at = task.created_at, expires_at = task.expires_at;
    sql << "INSERT INTO tasks (id, tenant_id, created_at, created_by, target, spec, state, "
           "expires_at, max_in_flight, per_minute, abort_percent, abort_min, total, schedule_id, "
           "origin) VALUES (:id, :tenant, :created, :by, :target, :spec, :state, :expires, :mif, "
           ":pm, :ap, :am, :total, :schedule, :origin)",
        soci::use(task.id), soci::use(task.tenant_id), soci::use(created_at),
        soci::use(task.created_by), soci::use(task.target), soci::use(task.spec),
        soci::use(task.state), soci::use(expires_at), soci::use(task.max_in_flight),
        soci::use(task.per_minute), soci::use(task.abort_percent), soci::use(task.abort_min),
        soci::use(task.total), soci::use(task.schedule_id), soci::use(task.origin);
    std::string device;
    int position = 0;
    soci::statement insert =
        (sql.prepare << "INSERT INTO task_runs (task_id, device_id, tenant_id, position, state, "
                        "updated_at) VALUES (:task, :device, :tenant, :position, 'queued', :at)",
         soci::use(task.id), soci::use(device), soci::use(task.tenant_id), soci::use(position),
         soci::use(created_at));
    for (const auto& d : devices) {
      device = d;
      insert.execute(true);
      ++position;
    }
    return {};
  });
}

Result<TaskRow> TaskStore::get(const std::string& tenant_id, const std::string& id) {
  std::vector<TaskRow> rows;
  if (auto r = fetch_all<TaskSociRow>(
          db_, std::string(kTaskColumns) + " WHERE tenant_id = :t AND id = :i", rows, tenant_id,
          id);
      !r) {
    return tl::unexpected(r.error());
  }
  if (rows.empty()) {
    return fail(Errc::not_found, "no such task");
  }
  return std::move(rows.front());
}

Result<TaskRow> TaskStore::get_any(const std::string& id) {
  std::vector<TaskRow> rows;
  if (auto r = fetch_all<TaskSociRow>(db_, std::string(kTaskColumns) + " WHERE id = :i", rows, id);
      !r) {
    return tl::unexpected(r.error());
  }
  if (rows.empty()) {
    return fail(Errc::not_found, "no such task");
  }
  return std::move(rows.front());
}

Result<std::vector<TaskRow>> TaskStore::list(const std::string& tenant_id,
                                             const TaskFilter& filter) {
  std::vector<TaskRow> rows;
  auto states = states_clause(filter.states);
  if (!states) {
    return tl::unexpected(states.error());
  }
  std::string query = std::string(kTaskColumns) + " WHERE tenant_id = :t" + *states;
  // The cursor is a task id; its (created_at, id) places the next page.
  query += filter.origin.empty() ? " AND '' = :origin" : " AND origin = :origin";
  query += filter.after.empty()
               ? " AND '' = :after"
               : " AND (created_at, id) < (SELECT created_at, id FROM tasks WHERE id = :after)";
  query += " ORDER BY created_at DESC, id DESC LIMIT :limit";
  const long long limit = static_cast<long long>(filter.limit);
  if (auto r =
          fetch_all<TaskSociRow>(db_, query, rows, tenant_id, filter.origin, filter.after, limit);
      !r) {
    return tl::unexpected(r.error());
  }
  return rows;
}

Result<std::vector<RunRow>> TaskStore::runs(const std::string& tenant_id,
                                            const std::string& task_id, const RunFilter& filter) {
  std::vector<RunRow> rows;
  auto states = states_clause(filter.states);
  if (!states) {
    return tl::unexpected(states.error());
  }
  std::string query =
      std::string(kRunColumns) + " WHERE tenant_id = :tenant AND task_id = :task" + *states;
  query += filter.device.empty() ? " AND '' = :device" : " AND device_id = :device";
  query += " AND position > :after ORDER BY position LIMIT :limit";
  const long long limit = static_cast<long long>(filter.limit);
  if (auto r = fetch_all<RunSociRow>(db_, query, rows, tenant_id, task_id, filter.device,
                                     filter.after_position, limit);
      !r) {
    return tl::unexpected(r.error());
  }
  return rows;
}

Result<std::vector<RunRow>> TaskStore::runs_updated(const std::string& task_id,
                                                    std::int64_t since) {
  std::vector<RunRow> rows;
  const long long at = since;
  if (auto r = fetch_all<RunSociRow>(db_,
                                     std::string(kRunColumns) +
                                         " WHERE task_id = :t AND updated_at >= :since "
                                         "ORDER BY updated_at, position",
                                     rows, task_id, at);
      !r) {
    return tl::unexpected(r.error());
  }
  return rows;
}

Result<std::vector<TaskRow>> TaskStore::active() {
  std::vector<TaskRow> rows;
  if (auto r = fetch_all<TaskSociRow>(
          db_, std::string(kTaskColumns) + " WHERE state = :s ORDER BY created_at", rows,
          std::string("running"));
      !r) {
    return tl::unexpected(r.error());
  }
  return rows;
}

Result<std::vector<std::string>> TaskStore::queued(const std::string& task_id, std::size_t limit) {
  std::vector<std::string> out;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    std::string device;
    const long long n = static_cast<long long>(limit);
    soci::statement st = (sql.prepare << "SELECT device_id FROM task_runs WHERE task_id = :t AND "
                                         "state = 'queued' ORDER BY position LIMIT :n",
                          soci::use(task_id), soci::use(n), soci::into(device));
    st.execute();
    while (st.fetch()) {
      out.push_back(device);
    }
    return {};
  });
  if (!read) {
    return tl::unexpected(read.error());
  }
  return out;
}

Result<std::size_t> TaskStore::mark_sent(const std::string& task_id,
                                         std::span<const std::string> devices, std::int64_t now) {
  std::size_t changed = 0;
  auto written = db_.transact([&](soci::session& sql) -> Result<void> {
    std::string device;
    const long long at = now;
    soci::statement st =
        (sql.prepare << "UPDATE task_runs SET "
                        "sent_at = CASE WHEN state IN ('queued', 'sent') OR sent_at IS NULL "
                        "THEN :at ELSE sent_at END, "
                        "state = CASE WHEN state = 'queued' THEN 'sent' ELSE state END, "
                        // Never back: a result stored before this pass ended keeps its time,
                        // or a task's event stream, asking for runs updated since its last
                        // look, would not see it.
                        "updated_at = CASE WHEN updated_at > :at2 THEN updated_at ELSE :at3 END "
                        "WHERE task_id = :t AND device_id = :d "
                        "AND (state IN ('queued', 'sent') OR sent_at IS NULL)",
         soci::use(at), soci::use(at), soci::use(at), soci::use(task_id), soci::use(device));
    for (const auto& d : devices) {
      device = d;
      st.execute(true);
      changed += static_cast<std::size_t>(st.get_affected_rows());
    }
    return {};
  });
  if (!written) {
    return tl::unexpected(written.error());
  }
  return changed;
}

Result<std::vector<std::string>> TaskStore::stale_sent(const std::string& task_id,
                                                       std::int64_t before, std::size_t limit) {
  std::vector<std::string> out;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    std::string device;
    const long long at = before, n = static_cast<long long>(limit);
    soci::statement st = (sql.prepare << "SELECT device_id FROM task_runs WHERE task_id = :t AND "
                                         "state = 'sent' AND sent_at < :b ORDER BY position "
                                         "LIMIT :n",
                          soci::use(task_id), soci::use(at), soci::use(n), soci::into(device));
    st.execute();
    while (st.fetch()) {
      out.push_back(device);
    }
    return {};
  });
  if (!read) {
    return tl::unexpected(read.error());
  }
  return out;
}

Result<std::vector<RunRow>> TaskStore::pending_for_device(const std::string& device_id) {
  std::vector<RunRow> rows;
  if (auto r = fetch_all<RunSociRow>(
          db_,
          std::string(kRunColumns) +
              " WHERE device_id = :d AND (state = 'sent' OR (cancel_requested = 1 AND state IN "
              "('sent', 'running'))) ORDER BY task_id",
          rows, device_id);
      !r) {
    return tl::unexpected(r.error());
  }
  return rows;
}

Result<std::vector<std::string>> TaskStore::end_runs(const std::string& task_id,
                                                     const std::string& state,
                                                     const std::string& error, bool only_queued,
                                                     const std::optional<std::string>& device,
                                                     std::int64_t now) {
  std::vector<std::string> changed;
  auto written = db_.transact([&](soci::session& sql) -> Result<void> {
    const std::string states = only_queued ? "('queued')" : "('queued', 'sent', 'running')";
    const std::string one = device.value_or("");
    std::string id;
    soci::statement select =
        (sql.prepare << "SELECT device_id FROM task_runs WHERE task_id = :t AND state IN " +
                            states + (device ? " AND device_id = :d" : " AND '' = :d"),
         soci::use(task_id), soci::use(one), soci::into(id));
    select.execute();
    while (select.fetch()) {
      changed.push_back(id);
    }
    const long long at = now;
    sql << "UPDATE task_runs SET state = :state, error = :error, ended_at = :at, updated_at = "
           ":at2 WHERE task_id = :t AND state IN " +
               states + (device ? " AND device_id = :d" : " AND '' = :d"),
        soci::use(state), soci::use(error), soci::use(at), soci::use(at), soci::use(task_id),
        soci::use(one);
    return {};
  });
  if (!written) {
    return tl::unexpected(written.error());
  }
  return changed;
}

Result<std::vector<std::string>> TaskStore::request_cancel(const std::string& task_id,
                                                           const std::optional<std::string>& device,
                                                           std::int64_t now) {
  std::vector<std::string> changed;
  auto written = db_.transact([&](soci::session& sql) -> Result<void> {
    const std::string one = device.value_or("");
    const std::string where = std::string(" WHERE task_id = :t AND state IN ('sent', 'running')") +
                              (device ? " AND device_id = :d" : " AND '' = :d");
    std::string id;
    soci::statement select = (sql.prepare << "SELECT device_id FROM task_runs" + where,
                              soci::use(task_id), soci::use(one), soci::into(id));
    select.execute();
    while (select.fetch()) {
      changed.push_back(id);
    }
    const long long at = now;
    sql << "UPDATE task_runs SET cancel_requested = 1, updated_at = :at" + where, soci::use(at),
        soci::use(task_id), soci::use(one);
    return {};
  });
  if (!written) {
    return tl::unexpected(written.error());
  }
  return changed;
}

Result<std::vector<std::string>> TaskStore::expire(std::int64_t now) {
  // A run already running may go on past the deadline for as long as the longest timeout.
  constexpr long long kRunningGraceMs = (86400LL + 60) * 1000;
  std::vector<std::string> tasks;
  auto written = db_.transact([&](soci::session& sql) -> Result<void> {
    const long long at = now, running_before = now - kRunningGraceMs;
    std::string id;
    soci::statement select =
        (sql.prepare << "SELECT DISTINCT r.task_id FROM task_runs r JOIN tasks t ON t.id = "
                        "r.task_id WHERE t.state IN ('running', 'cancelled', 'aborted') AND "
                        "((r.state IN ('queued', 'sent') AND t.expires_at < :now) OR "
                        "(r.state = 'running' AND t.expires_at < :running_before))",
         soci::use(at), soci::use(running_before), soci::into(id));
    select.execute();
    while (select.fetch()) {
      tasks.push_back(id);
    }
    for (const auto& task : tasks) {
      sql << "UPDATE task_runs SET state = 'expired', ended_at = :at, updated_at = :at2, error = "
             "'the device did not start it before the deadline' "
             "WHERE task_id = :t AND state IN ('queued', 'sent')",
          soci::use(at), soci::use(at), soci::use(task);
      sql << "UPDATE task_runs SET state = 'expired', ended_at = :at, updated_at = :at2, error = "
             "'no result from the device before the deadline' WHERE task_id = :t AND state = "
             "'running' AND :before > (SELECT expires_at FROM tasks WHERE id = :t2)",
          soci::use(at), soci::use(at), soci::use(task), soci::use(running_before), soci::use(task);
    }
    return {};
  });
  if (!written) {
    return tl::unexpected(written.error());
  }
  return tasks;
}

Result<void> TaskStore::set_state(const std::string& task_id, const std::string& state,
                                  std::optional<std::int64_t> finished_at) {
  return db_.transact([&](soci::session& sql) -> Result<void> {
    NullableValue at(finished_at);
    sql << "UPDATE tasks SET state = :s, finished_at = :at WHERE id = :t", soci::use(state),
        soci::use(at.value, at.indicator), soci::use(task_id);
    return {};
  });
}

}  // namespace hecs::control::store
