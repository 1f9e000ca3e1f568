// Stores of the tasks context (docs/tasks.md): groups, tasks, their runs and output. Part of
// the store module (store.h includes it). Every tenant-facing query filters by tenant_id; the
// dispatcher's and the result writer's queries are keyed by task id, or by the device id the
// broker vouched for.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/db/db.h"
#include "common/result.h"

namespace hecs::control::store {

struct Group {
  std::string id;
  std::string tenant_id;
  std::string name;
  std::string selector;              // dynamic group; "" for a static one
  std::vector<std::string> devices;  // static group's members
  std::int64_t created_at = 0;
};

class GroupStore {
 public:
  explicit GroupStore(db::Database& db) : db_(db) {}
  Result<void> create(const Group& group);  // Errc::conflict for a name taken in the tenant
  Result<std::vector<Group>> list(const std::string& tenant_id);
  Result<Group> get(const std::string& tenant_id, const std::string& id);  // not_found
  Result<Group> find_by_name(const std::string& tenant_id, const std::string& name);
  Result<void> update(const Group& group);  // name, selector, devices; not_found
  Result<void> remove(const std::string& tenant_id, const std::string& id);

 private:
  db::Database& db_;
};

struct TaskRow {
  std::string id;
  std::string tenant_id;
  std::int64_t created_at = 0;
  std::string created_by;  // the audit actor
  std::string target;      // JSON
  std::string spec;        // JSON: the "task" body every device gets
  std::string state = "running";
  std::int64_t expires_at = 0;
  int max_in_flight = 0;   // 0 = no limit
  int per_minute = 0;      // 0 = no limit
  int abort_percent = -1;  // -1 = no abort criterion
  int abort_min = 0;
  int total = 0;
  std::string schedule_id;
  std::optional<std::int64_t> finished_at;
  std::string origin = "api";  // api, schedule, local-schedule
};

struct RunRow {
  std::string task_id;
  std::string device_id;
  std::string tenant_id;
  int position = 0;
  std::string state = "queued";
  bool cancel_requested = false;
  std::optional<std::int64_t> sent_at, started_at, ended_at;
  std::optional<std::int64_t> exit_code, signal;
  std::string error;
  std::int64_t stdout_bytes = 0, stderr_bytes = 0;
  bool truncated = false;
  std::int64_t updated_at = 0;
};

// States are checked by the caller against the known names (they are written into the SQL).
struct TaskFilter {
  std::vector<std::string> states;  // empty = any
  std::string origin;               // "" = any
  std::string after;                // cursor: tasks older than this one (id); "" = newest first
  std::size_t limit = 50;
};

struct RunFilter {
  std::vector<std::string> states;  // empty = any; known run state names only
  std::string device;
  int after_position = -1;  // cursor
  std::size_t limit = 100;
};

struct OutputRow {
  std::int64_t id = 0;
  std::string device_id;
  int stream = 0;  // 0 stdout, 1 stderr
  std::int64_t pos = 0;
  std::string data;
};

// A result's claim to be a run of a device's local schedule (proto::LocalRun), its task id
// already checked to be the one of that device's fire.
struct LocalOrigin {
  std::string schedule;
  std::int64_t fire_at = 0;
  std::string cron, timezone, command;
};

// One validated up/result message.
struct ResultItem {
  std::string device_id;
  std::string message_id;
  std::string task_id;
  // A state report…
  std::string state;  // "" for output
  std::int64_t started_at = 0, ended_at = 0;
  std::optional<std::int64_t> exit_code, signal;
  std::string error;
  std::int64_t stdout_bytes = 0, stderr_bytes = 0;
  bool truncated = false;
  // …or output…
  int stream = 0;
  std::int64_t pos = 0;  // output: offset in the stream's text; artifact: of the piece
  std::string data;      // output: text; artifact: raw bytes of the piece
  // …or a piece of the run's artifact (artifact_name set; pos and data as above).
  std::string artifact_name;
  std::int64_t artifact_size = 0;
  std::string artifact_sha256;
  // A state report of a local schedule's run: the task and run are made on the first one.
  std::optional<LocalOrigin> local;
};

// A run's artifact (collect-logs bundle): state receiving, complete or corrupt.
struct ArtifactRow {
  std::string device_id;
  std::string name;
  std::int64_t size = 0;
  std::string sha256;
  std::int64_t received = 0;
  std::string state;
  std::string error;
  std::int64_t updated_at = 0;
};

struct ResultStats {
  std::size_t applied = 0;
  std::size_t ignored = 0;         // no such run, or a state it cannot move to (final already)
  std::vector<std::string> tasks;  // tasks that changed, each once
  std::size_t local_created = 0;   // tasks made for local schedules' runs
  std::size_t local_refused = 0;   // local claims refused: device not accepted, or not its task
};

class TaskStore {
 public:
  explicit TaskStore(db::Database& db) : db_(db) {}

  // The task and one queued run per device, in one transaction.
  Result<void> create(const TaskRow& task, std::span<const std::string> devices);
  Result<TaskRow> get(const std::string& tenant_id, const std::string& id);  // not_found
  Result<TaskRow> get_any(const std::string& id);  // the dispatcher's: any tenant
  Result<std::vector<TaskRow>> list(const std::string& tenant_id, const TaskFilter& filter);
  // Runs per state.
  Result<std::map<std::string, int>> counts(const std::string& task_id);
  // counts() of several tasks in one query; a task without runs is absent.
  Result<std::map<std::string, std::map<std::string, int>>> counts_of(
      const std::vector<std::string>& task_ids);
  Result<std::vector<RunRow>> runs(const std::string& tenant_id, const std::string& task_id,
                                   const RunFilter& filter);
  // Runs of a task updated at or after `since` (unix ms), for live events.
  Result<std::vector<RunRow>> runs_updated(const std::string& task_id, std::int64_t since);
  Result<std::vector<OutputRow>> output(const std::string& tenant_id, const std::string& task_id,
                                        const std::string& device_id, int stream,
                                        std::int64_t after_id, std::size_t limit);
  // The pieces of one stream from the one holding byte `offset` on, in stream order, at most
  // `limit`; the first may begin before `offset`.
  Result<std::vector<OutputRow>> output_from(const std::string& tenant_id,
                                             const std::string& task_id,
                                             const std::string& device_id, int stream,
                                             std::int64_t offset, std::size_t limit);
  // Output of every device of a task with id > after_id, in id order.
  Result<std::vector<OutputRow>> output_since(const std::string& task_id, std::int64_t after_id,
                                              std::size_t limit);

  // ---- the dispatcher -------------------------------------------------------------------
  Result<std::vector<TaskRow>> active();  // state running, every tenant
  Result<std::vector<std::string>> queued(const std::string& task_id, std::size_t limit);
  // queued → sent (or a resend: sent_at moves); a run whose result came first keeps its
  // state and gets the sent_at it lacked. Returns how many changed.
  Result<std::size_t> mark_sent(const std::string& task_id, std::span<const std::string> devices,
                                std::int64_t now);
  // Runs in `state` whose sent_at is before `before`, for a resend.
  Result<std::vector<std::string>> stale_sent(const std::string& task_id, std::int64_t before,
                                              std::size_t limit);
  // Unfinished runs for a device (resend on hello): state sent, or cancel_requested.
  Result<std::vector<RunRow>> pending_for_device(const std::string& device_id);
  // Unfinished runs → final `state` with `error`. With `only_queued`, only queued ones.
  // Returns the device ids changed.
  Result<std::vector<std::string>> end_runs(const std::string& task_id, const std::string& state,
                                            const std::string& error, bool only_queued,
                                            const std::optional<std::string>& device,
                                            std::int64_t now);
  // Marks sent/running runs as cancel_requested; returns their device ids.
  Result<std::vector<std::string>> request_cancel(const std::string& task_id,
                                                  const std::optional<std::string>& device,
                                                  std::int64_t now);
  // Runs still queued or sent of tasks past their expires_at, and running ones past it by the
  // longest timeout (a day): → expired. Returns the task ids touched.
  Result<std::vector<std::string>> expire(std::int64_t now);
  Result<void> set_state(const std::string& task_id, const std::string& state,
                         std::optional<std::int64_t> finished_at);

  // ---- results ---------------------------------------------------------------------------
  // A batch in one transaction: state reports move a run forward only (sent → running → final;
  // a final state never changes), output is kept once per (device, stream, pos). A state
  // report with `local` first makes its task (origin local-schedule, in the device's tenant,
  // created at the fire time) and run, unless they exist; two at once make one.
  Result<ResultStats> apply(std::span<const ResultItem> batch, std::int64_t now);

  // ---- retention (task_prune.cpp) -----------------------------------------------------------
  // Up to `limit` tasks ended (finished, cancelled, aborted) before `before` with no run left
  // unfinished, oldest first, with their runs, output and artifacts. How many went.
  Result<std::size_t> prune(std::int64_t before, std::size_t limit);
  // Up to `limit` artifacts last written before `before`: their bytes go, the row stays as
  // state "expired". How many.
  Result<std::size_t> prune_artifacts(std::int64_t before, std::size_t limit);

  // ---- artifacts (artifact_store.cpp) ------------------------------------------------------
  // The artifacts of a task's runs, by device.
  Result<std::map<std::string, ArtifactRow>> artifacts(const std::string& tenant_id,
                                                       const std::string& task_id);
  // One complete artifact and its bytes; not_found when there is none or it expired, conflict
  // while it is incomplete or corrupt.
  Result<std::pair<ArtifactRow, std::string>> artifact_bytes(const std::string& tenant_id,
                                                             const std::string& task_id,
                                                             const std::string& device_id);

 private:
  // One piece in apply()'s transaction; false when ignored (no such run, a piece already kept,
  // a different artifact, past its size).
  static bool apply_artifact(soci::session& sql, const ResultItem& item, std::int64_t now);
  db::Database& db_;
};

struct ScheduleRow {
  std::string id;
  std::string tenant_id;
  std::string name;
  std::string cron;
  std::string timezone;
  std::string task;             // JSON: a POST /api/v1/tasks body
  std::string missed = "skip";  // skip, once, all
  int max_catchup = 1;
  bool enabled = true;
  std::optional<std::int64_t> next_fire, last_fire;
  std::string last_task;
  std::string last_error;
  std::int64_t created_at = 0;
  std::string created_by;
};

class ScheduleStore {
 public:
  explicit ScheduleStore(db::Database& db) : db_(db) {}
  Result<void> create(const ScheduleRow& row);  // Errc::conflict for a name taken
  Result<std::vector<ScheduleRow>> list(const std::string& tenant_id);
  Result<ScheduleRow> get(const std::string& tenant_id, const std::string& id);  // not_found
  // Everything but id, tenant, created_*, last_*: not_found, conflict.
  Result<void> update(const ScheduleRow& row);
  Result<void> remove(const std::string& tenant_id, const std::string& id);
  // Enabled schedules whose next_fire is at or before `now`, every tenant.
  Result<std::vector<ScheduleRow>> due(std::int64_t now);
  // Moves next_fire from `expected` to `next` and records the fire; false when another replica
  // (or a concurrent edit) moved it first, and the fire is not ours.
  Result<bool> advance(const std::string& id, std::int64_t expected,
                       std::optional<std::int64_t> next, std::int64_t fired_at,
                       const std::string& last_task, const std::string& last_error);
  // What a fire made: the task, or why it made none.
  Result<void> record(const std::string& id, const std::string& last_task,
                      const std::string& last_error);

 private:
  db::Database& db_;
};

}  // namespace hecs::control::store
