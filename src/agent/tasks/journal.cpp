// Journal (journal.h): the task_journal, local_schedules and local_runs tables, in SQL.
#include "agent/tasks/journal.h"

#include <algorithm>

#include <fmt/format.h>
#include <sqlite3.h>

namespace hecs::agent::tasks {
namespace {

struct StmtFinalize {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

tl::unexpected<Error> sql_error(sqlite3* db, std::string_view doing) {
  const int rc = sqlite3_extended_errcode(db);
  const Errc code = (rc & 0xff) == SQLITE_CONSTRAINT ? Errc::conflict
                    : (rc & 0xff) == SQLITE_CORRUPT  ? Errc::corrupt
                                                     : Errc::unavailable;
  return fail(code, fmt::format("task journal: {}: {}", doing, sqlite3_errmsg(db)));
}

void bind(sqlite3_stmt* s, int at, const std::string& text) {
  sqlite3_bind_text(s, at, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

void bind(sqlite3_stmt* s, int at, std::int64_t value) { sqlite3_bind_int64(s, at, value); }

// `sql` with `params` bound to ?1, ?2, … in order.
template <class... Params>
Result<Stmt> prepare(sqlite3* db, const char* sql, const Params&... params) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) {
    return sql_error(db, "prepare");
  }
  Stmt stmt(s);
  int at = 0;
  (bind(stmt.get(), ++at, params), ...);
  return stmt;
}

// Runs a statement that returns no rows; `doing` names it in the error.
template <class... Params>
Result<void> execute(sqlite3* db, std::string_view doing, const char* sql,
                     const Params&... params) {
  auto s = prepare(db, sql, params...);
  if (!s) {
    return tl::unexpected(s.error());
  }
  if (sqlite3_step(s->get()) != SQLITE_DONE) {
    return sql_error(db, doing);
  }
  return {};
}

std::string column_text(sqlite3_stmt* s, int at) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s, at));
  return text != nullptr ? std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(s, at)))
                         : std::string();
}

JournalEntry read_entry(sqlite3_stmt* s) {
  JournalEntry e;
  e.task = column_text(s, 0);
  e.state = column_text(s, 1);
  e.spec = column_text(s, 2);
  e.received_at = sqlite3_column_int64(s, 3);
  e.started_at = sqlite3_column_int64(s, 4);
  return e;
}

}  // namespace

Journal::~Journal() = default;

Result<std::unique_ptr<Journal>> Journal::open(sqlite3* db) {
  char* message = nullptr;
  int rc = sqlite3_exec(db,
                        "CREATE TABLE IF NOT EXISTS task_journal ("
                        " task TEXT PRIMARY KEY,"
                        " state TEXT NOT NULL,"
                        " spec TEXT NOT NULL,"
                        " received_at INTEGER NOT NULL,"
                        " started_at INTEGER NOT NULL DEFAULT 0,"
                        " ended_at INTEGER NOT NULL DEFAULT 0);"
                        "CREATE INDEX IF NOT EXISTS task_journal_state"
                        " ON task_journal(state, received_at);"
                        // Local schedules: how far each one's fires were dealt with, and
                        // which fire each of their runs is (docs/tasks.md).
                        "CREATE TABLE IF NOT EXISTS local_schedules ("
                        " name TEXT PRIMARY KEY,"
                        " done_until INTEGER NOT NULL);"
                        "CREATE TABLE IF NOT EXISTS local_runs ("
                        " task TEXT PRIMARY KEY,"
                        " schedule TEXT NOT NULL,"
                        " fire_at INTEGER NOT NULL,"
                        " cron TEXT NOT NULL,"
                        " timezone TEXT NOT NULL,"
                        " command TEXT NOT NULL)",
                        nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string text = message != nullptr ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    return fail(Errc::unavailable, "task journal: " + text);
  }
  return std::unique_ptr<Journal>(new Journal(db));
}

Result<std::optional<JournalEntry>> Journal::find(const std::string& task) {
  auto s = prepare(db_,
                   "SELECT task, state, spec, received_at, started_at FROM task_journal "
                   "WHERE task = ?",
                   task);
  if (!s) {
    return tl::unexpected(s.error());
  }
  int rc = sqlite3_step(s->get());
  if (rc == SQLITE_ROW) {
    return std::optional<JournalEntry>(read_entry(s->get()));
  }
  if (rc != SQLITE_DONE) {
    return sql_error(db_, "find");
  }
  return std::optional<JournalEntry>();
}

Result<void> Journal::insert(const JournalEntry& entry) {
  return execute(db_, "insert",
                 "INSERT INTO task_journal (task, state, spec, received_at, started_at) "
                 "VALUES (?, ?, ?, ?, ?)",
                 entry.task, entry.state, entry.spec, entry.received_at, entry.started_at);
}

Result<void> Journal::set_state(const std::string& task, const std::string& state,
                                std::int64_t at) {
  // `at` is the start time for "running", the end time for a final state.
  auto updated = execute(db_, "update",
                         "UPDATE task_journal SET state = ?1, "
                         "started_at = CASE WHEN ?1 = 'running' THEN ?2 ELSE started_at END, "
                         "ended_at = CASE WHEN ?1 = 'running' THEN ended_at ELSE ?2 END "
                         "WHERE task = ?3",
                         state, at, task);
  if (!updated) {
    return updated;
  }
  if (sqlite3_changes(db_) != 1) {
    return fail(Errc::not_found, "task journal: no task " + task);
  }
  return {};
}

Result<std::vector<JournalEntry>> Journal::in_state(const std::string& state) {
  auto s = prepare(db_,
                   "SELECT task, state, spec, received_at, started_at FROM task_journal "
                   "WHERE state = ? ORDER BY received_at, rowid",
                   state);
  if (!s) {
    return tl::unexpected(s.error());
  }
  std::vector<JournalEntry> out;
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(s->get())) == SQLITE_ROW) {
    out.push_back(read_entry(s->get()));
  }
  if (rc != SQLITE_DONE) {
    return sql_error(db_, "list");
  }
  return out;
}

Result<std::size_t> Journal::prune(std::int64_t before, std::size_t keep) {
  auto pruned = execute(db_, "prune",
                        "DELETE FROM task_journal WHERE state NOT IN ('queued', 'running') AND "
                        "(received_at < ?1 OR rowid NOT IN (SELECT rowid FROM task_journal "
                        "ORDER BY received_at DESC LIMIT ?2))",
                        before, static_cast<std::int64_t>(keep));
  if (!pruned) {
    return tl::unexpected(pruned.error());
  }
  return static_cast<std::size_t>(sqlite3_changes(db_));
}

Result<std::optional<std::int64_t>> Journal::done_until(const std::string& schedule) {
  auto s = prepare(db_, "SELECT done_until FROM local_schedules WHERE name = ?", schedule);
  if (!s) {
    return tl::unexpected(s.error());
  }
  int rc = sqlite3_step(s->get());
  if (rc == SQLITE_ROW) {
    return std::optional<std::int64_t>(sqlite3_column_int64(s->get(), 0));
  }
  if (rc != SQLITE_DONE) {
    return sql_error(db_, "local schedule");
  }
  return std::optional<std::int64_t>();
}

Result<void> Journal::set_done_until(const std::string& schedule, std::int64_t at) {
  return execute(db_, "local schedule",
                 "INSERT INTO local_schedules (name, done_until) VALUES (?1, ?2) "
                 "ON CONFLICT (name) DO UPDATE SET done_until = ?2",
                 schedule, at);
}

Result<void> Journal::prune_local(const std::vector<std::string>& keep) {
  auto runs = execute(db_, "prune local runs",
                      "DELETE FROM local_runs WHERE task NOT IN (SELECT task FROM task_journal)");
  if (!runs) {
    return runs;
  }
  auto names = prepare(db_, "SELECT name FROM local_schedules");
  if (!names) {
    return tl::unexpected(names.error());
  }
  std::vector<std::string> gone;
  while (sqlite3_step(names->get()) == SQLITE_ROW) {
    auto name = column_text(names->get(), 0);
    if (std::find(keep.begin(), keep.end(), name) == keep.end()) {
      gone.push_back(std::move(name));
    }
  }
  for (const auto& name : gone) {
    if (auto r = execute(db_, "prune local schedules", "DELETE FROM local_schedules WHERE name = ?",
                         name);
        !r) {
      return r;
    }
  }
  return {};
}

Result<void> Journal::insert_local_run(const std::string& task, const proto::LocalRun& run) {
  return execute(db_, "insert local run",
                 "INSERT INTO local_runs (task, schedule, fire_at, cron, timezone, command) "
                 "VALUES (?, ?, ?, ?, ?, ?)",
                 task, run.schedule, run.fire_at, run.cron, run.timezone, run.command);
}

Result<std::optional<proto::LocalRun>> Journal::find_local_run(const std::string& task) {
  auto s = prepare(db_,
                   "SELECT schedule, fire_at, cron, timezone, command FROM local_runs "
                   "WHERE task = ?",
                   task);
  if (!s) {
    return tl::unexpected(s.error());
  }
  int rc = sqlite3_step(s->get());
  if (rc == SQLITE_ROW) {
    proto::LocalRun run;
    run.schedule = column_text(s->get(), 0);
    run.fire_at = sqlite3_column_int64(s->get(), 1);
    run.cron = column_text(s->get(), 2);
    run.timezone = column_text(s->get(), 3);
    run.command = column_text(s->get(), 4);
    return std::optional<proto::LocalRun>(std::move(run));
  }
  if (rc != SQLITE_DONE) {
    return sql_error(db_, "find local run");
  }
  return std::optional<proto::LocalRun>();
}

}  // namespace hecs::agent::tasks
