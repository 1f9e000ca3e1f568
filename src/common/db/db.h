// One database handle for SQLite and PostgreSQL through SOCI (DESIGN §5). Stores above it are
// written once; the few places where the dialects differ ask backend().
//
// Thread-safety: Database may be used from any thread; each call takes a pooled session.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace soci {
class session;
class connection_pool;
}  // namespace soci

namespace hecs::db {

enum class Backend { sqlite, postgresql };

struct Options {
  // "postgresql://user@host:port/db?…" selects PostgreSQL; anything else is a SQLite file path
  // (an optional "sqlite://" prefix is stripped).
  std::string url;
  std::size_t pool_size = 4;
  // SQLite: synchronous=FULL (each commit survives power loss) instead of NORMAL (DESIGN §4).
  bool synchronous_full = false;
  // SQLite: no checkpoint inside the commit that crosses 1000 WAL pages; the owner calls
  // checkpoint() from a timer instead, so the checkpoint runs beside the single ingest writer
  // rather than in it (bench/ingest.sh: 18 % of that writer's time).
  bool background_checkpoint = false;
};

struct Migration {
  int version;            // 1, 2, 3 …: applied in order, each once
  std::string_view name;  // "0001_init"
  std::string_view sql;   // statements separated by ';' at line ends
};

class Database {
 public:
  // Opens the database. For SQLite: enables WAL and foreign keys, runs `PRAGMA quick_check`, and
  // when the file is truncated, garbage or fails the check, moves it aside to
  // "<file>.corrupt-<unix ms>" and creates a fresh one (S32); quarantined_path() then tells
  // where it went so the caller can report it. Errc::unavailable when the server is
  // unreachable, Errc::invalid_input for a malformed URL.
  static Result<std::unique_ptr<Database>> open(const Options& options);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Backend backend() const { return backend_; }
  const std::optional<std::string>& quarantined_path() const { return quarantined_; }

  // Applies, in one transaction each, the migrations whose version is above the recorded one
  // (table schema_migrations). Errc::corrupt when the database is newer than this binary.
  Result<void> migrate(std::span<const Migration> migrations);
  Result<int> schema_version();

  // Runs fn on a pooled session inside a transaction; commits when fn succeeds, rolls back
  // when it fails or throws. SOCI exceptions become errors: unavailable (busy, locked, lost
  // connection), conflict (constraint), corrupt (damaged file or page), internal (anything
  // else); a full disk or I/O error is unavailable with the engine's message. SQLite write
  // transactions start with BEGIN IMMEDIATE. fn must not lease a second session of a full pool.
  Result<void> transact(const std::function<Result<void>(soci::session&)>& fn);
  // SQLite: copies committed WAL pages into the database without waiting for anyone (PASSIVE),
  // and returns how many frames the WAL holds. Nothing to do (0) on PostgreSQL.
  Result<std::size_t> checkpoint();
  // A read-only transaction: every statement of fn sees the same snapshot.
  Result<void> read(const std::function<Result<void>(soci::session&)>& fn);
  // Same without a transaction (single statements, reads).
  Result<void> with_session(const std::function<Result<void>(soci::session&)>& fn);

 private:
  Database() = default;
  enum class Mode { none, read, write };
  Result<void> run(Mode mode, const std::function<Result<void>(soci::session&)>& fn);
  Backend backend_ = Backend::sqlite;
  std::unique_ptr<soci::connection_pool> pool_;
  std::size_t pool_size_ = 0;
  std::optional<std::string> quarantined_;
};

// Splits a migration script into statements (on ';' at the end of a line, outside quotes).
std::vector<std::string> split_statements(std::string_view sql);

}  // namespace hecs::db
