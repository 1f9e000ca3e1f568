// The task journal (private to src/agent/tasks): one row per task id the agent has seen, in
// the outbox's database, so that a state change and the result it produces commit together.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "proto/proto.h"

struct sqlite3;
struct sqlite3_stmt;

namespace hecs::agent::tasks {

struct JournalEntry {
  std::string task;
  std::string state;  // proto::run_state_name()
  std::string spec;   // the "task" body, JSON text; "" for a cancel that came first
  std::int64_t received_at = 0;
  std::int64_t started_at = 0;
};

class Journal {
 public:
  static Result<std::unique_ptr<Journal>> open(sqlite3* db);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // nullopt when the task id was never seen.
  Result<std::optional<JournalEntry>> find(const std::string& task);
  // Inserts a new row; Errc::conflict when the id exists.
  Result<void> insert(const JournalEntry& entry);
  Result<void> set_state(const std::string& task, const std::string& state, std::int64_t at);
  // Entries in one state, oldest first.
  Result<std::vector<JournalEntry>> in_state(const std::string& state);
  // Forgets finished entries received before `before` (unix ms), and beyond the newest `keep`.
  Result<std::size_t> prune(std::int64_t before, std::size_t keep);

  // ---- local schedules (local_schedules.cpp) ----------------------------------------------
  // How far a schedule's fires have been dealt with (fired or skipped), unix ms; nullopt for a
  // schedule never seen.
  Result<std::optional<std::int64_t>> done_until(const std::string& schedule);
  Result<void> set_done_until(const std::string& schedule, std::int64_t at);
  // Forgets the schedules not in `keep`, and the local runs the journal no longer holds.
  Result<void> prune_local(const std::vector<std::string>& keep);
  // Which fire of which schedule a task id is (nullopt for a task from the control plane).
  Result<void> insert_local_run(const std::string& task, const proto::LocalRun& run);
  Result<std::optional<proto::LocalRun>> find_local_run(const std::string& task);

 private:
  explicit Journal(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

}  // namespace hecs::agent::tasks
