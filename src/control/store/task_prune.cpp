// TaskStore (tasks.h): retention. Ended tasks past the retention go with everything that
// hangs off them; artifacts, the bulky part, may be emptied sooner on their own.
#include <utility>

#include <fmt/format.h>
#include <soci/soci.h>

#include "control/store/row.h"
#include "control/store/store.h"

namespace hecs::control::store {

Result<std::size_t> TaskStore::prune(std::int64_t before, std::size_t limit) {
  std::vector<std::string> ids;
  auto done = db_.transact([&](soci::session& sql) -> Result<void> {
    const long long cutoff = before, n = static_cast<long long>(limit);
    std::string id;
    // A cancelled or aborted task may still have runs the devices have not ended: kept until
    // they end (expire() sees to it at the latest a day after the deadline).
    soci::statement select =
        (sql.prepare << "SELECT id FROM tasks WHERE state IN ('finished', 'cancelled', "
                        "'aborted') AND finished_at < :before AND NOT EXISTS (SELECT 1 FROM "
                        "task_runs r WHERE r.task_id = tasks.id AND r.state IN ('queued', "
                        "'sent', 'running')) ORDER BY finished_at LIMIT :n",
         soci::use(cutoff), soci::use(n), soci::into(id));
    select.execute();
    while (select.fetch()) {
      ids.push_back(id);
    }
    for (const auto& task : ids) {
      for (const char* table :
           {"task_artifact_chunks", "task_artifacts", "task_output", "task_runs"}) {
        sql << fmt::format("DELETE FROM {} WHERE task_id = :t", table), soci::use(task);
      }
      sql << "DELETE FROM tasks WHERE id = :t", soci::use(task);
    }
    return {};
  });
  if (!done) {
    return fail(std::move(done.error()), "prune tasks");
  }
  return ids.size();
}

Result<std::size_t> TaskStore::prune_artifacts(std::int64_t before, std::size_t limit) {
  std::vector<std::pair<std::string, std::string>> runs;
  auto done = db_.transact([&](soci::session& sql) -> Result<void> {
    const long long cutoff = before, n = static_cast<long long>(limit);
    std::string task, device;
    soci::statement select =
        (sql.prepare << "SELECT task_id, device_id FROM task_artifacts WHERE updated_at < "
                        ":before AND state <> 'expired' ORDER BY updated_at LIMIT :n",
         soci::use(cutoff), soci::use(n), soci::into(task), soci::into(device));
    select.execute();
    while (select.fetch()) {
      runs.emplace_back(task, device);
    }
    // The row stays, marked, so the run still says it had an artifact and why it is gone, and
    // a late piece of it is not taken as the start of a new one.
    for (const auto& [t, d] : runs) {
      sql << "DELETE FROM task_artifact_chunks WHERE task_id = :t AND device_id = :d", soci::use(t),
          soci::use(d);
      sql << "UPDATE task_artifacts SET state = 'expired', received = 0, error = 'removed "
             "when its retention ended' WHERE task_id = :t AND device_id = :d",
          soci::use(t), soci::use(d);
    }
    return {};
  });
  if (!done) {
    return fail(std::move(done.error()), "prune artifacts");
  }
  return runs.size();
}

}  // namespace hecs::control::store
