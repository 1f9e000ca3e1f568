// Database (db.h): the pool on SQLite or PostgreSQL, errors as Errc, sessions and transactions;
// migrations are in migrate.cpp.
#include "common/db/db.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>
#include <sqlite3.h>

#include "common/db/internal.h"
#include "common/log.h"

namespace hecs::db {

namespace detail {

log::Logger& logger() {
  static log::Logger instance = log::get("db");
  return instance;
}

std::int64_t now_ms() {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  using std::chrono::system_clock;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace detail

namespace {

using detail::logger;
using detail::now_ms;

constexpr std::string_view kSqlitePrefix = "sqlite://";

bool is_postgresql_url(std::string_view url) {
  return url.starts_with("postgresql://") || url.starts_with("postgres://");
}

Errc sqlite_errc(int result) {
  switch (result & 0xff) {  // the primary code of an extended one
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_NOMEM:
    case SQLITE_PROTOCOL:
      return Errc::unavailable;
    case SQLITE_CONSTRAINT:
      return Errc::conflict;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Errc::corrupt;
    default:
      return Errc::internal;
  }
}

// SQLSTATE classes: https://www.postgresql.org/docs/15/errcodes-appendix.html
Errc postgresql_errc(const std::string& state) {
  if (state.starts_with("08") || state.starts_with("53") || state.starts_with("57P") ||
      state == "40001" || state == "40P01") {
    return Errc::unavailable;  // connection, resources, shutdown, serialization, deadlock
  }
  if (state.starts_with("23")) {
    return Errc::conflict;
  }
  if (state == "XX001" || state == "XX002") {
    return Errc::corrupt;
  }
  return Errc::internal;
}

// The message leaves out SOCI's context, which quotes the statement and its bound values.
Error to_error(const soci::soci_error& e) {
  if (const auto* lite = dynamic_cast<const soci::sqlite3_soci_error*>(&e)) {
    return {sqlite_errc(lite->result()), "sqlite: " + lite->get_error_message()};
  }
  Errc code = Errc::internal;
  if (const auto* pg = dynamic_cast<const soci::postgresql_soci_error*>(&e)) {
    code = postgresql_errc(pg->sqlstate());
  }
  if (code == Errc::internal) {
    switch (e.get_error_category()) {
      case soci::soci_error::connection_error:
        code = Errc::unavailable;
        break;
      case soci::soci_error::constraint_violation:
        code = Errc::conflict;
        break;
      default:
        break;
    }
  }
  return {code, "database: " + e.get_error_message()};
}

// SOCI splits its connection string on blanks; double quotes keep a path with spaces whole.
Result<std::string> sqlite_connect_string(const std::string& path) {
  if (path.empty()) {
    return fail(Errc::invalid_input, "db.url: empty sqlite path");
  }
  if (path == ":memory:" || path.starts_with("file:")) {
    // Each pooled connection would get a database of its own.
    return fail(Errc::invalid_input, "db.url: a sqlite database must be a file path");
  }
  if (path.find('"') != std::string::npos) {
    return fail(Errc::invalid_input, "db.url: a sqlite path cannot contain '\"'");
  }
  return "db=\"" + path + "\"";
}

// SOCI 4.0 reads its connection string as "key=value" words, which mangles a URL: libpq parses
// the URL into keywords here, and they are passed on quoted.
Result<std::string> postgresql_conninfo(const std::string& url) {
  char* message = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &message);
  if (options == nullptr) {
    std::string reason = message != nullptr ? message : "out of memory";
    PQfreemem(message);
    while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) {
      reason.pop_back();
    }
    return fail(Errc::invalid_input, "db.url: " + reason);
  }
  std::string conninfo;
  for (const PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (option->val == nullptr || *option->val == '\0') {
      continue;
    }
    conninfo += conninfo.empty() ? "" : " ";
    conninfo += option->keyword;
    conninfo += "='";
    for (const char* c = option->val; *c != '\0'; ++c) {
      if (*c == '\'' || *c == '\\') {
        conninfo += '\\';
      }
      conninfo += *c;
    }
    conninfo += '\'';
  }
  PQconninfoFree(options);
  return conninfo;
}

// Moves a damaged database and its WAL and shared-memory files aside (S32).
Result<std::string> quarantine(const std::string& path) {
  const std::string target = fmt::format("{}.corrupt-{}", path, now_ms());
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ec;
    const std::filesystem::path from = path + suffix;
    if (!std::filesystem::exists(from, ec)) {
      continue;
    }
    std::filesystem::rename(from, target + suffix, ec);
    if (ec) {
      return fail(Errc::unavailable, fmt::format("move {} aside: {}", from.string(), ec.message()));
    }
  }
  return target;
}

// Opens one connection to check the file: true when healthy, false when it must be quarantined,
// an error when it cannot be told (busy, unreadable).
Result<bool> sqlite_is_healthy(const std::string& connect) {
  try {
    soci::session session(soci::sqlite3, connect);
    session << "PRAGMA busy_timeout = 5000";
    std::string verdict;
    session << "PRAGMA quick_check", soci::into(verdict);
    return verdict == "ok";
  } catch (const soci::sqlite3_soci_error& e) {
    if (sqlite_errc(e.result()) == Errc::corrupt) {
      return false;
    }
    return tl::unexpected(to_error(e));
  } catch (const soci::soci_error& e) {
    return tl::unexpected(to_error(e));
  }
}

void rollback(soci::session& session) noexcept {
  try {
    session << "ROLLBACK";
  } catch (const std::exception&) {
    // SQLite may already have rolled back by itself (SQLITE_FULL, SQLITE_IOERR), and a lost
    // connection has nothing left to roll back.
  }
}

}  // namespace

Database::~Database() = default;

Result<std::unique_ptr<Database>> Database::open(const Options& options) {
  if (options.pool_size == 0) {
    return fail(Errc::invalid_input, "db.pool_size: must be at least 1");
  }
  // The constructor is private: only open() makes a Database.
  std::unique_ptr<Database> db(new Database());
  db->pool_size_ = options.pool_size;
  db->pool_ = std::make_unique<soci::connection_pool>(options.pool_size);
  if (is_postgresql_url(options.url)) {
    db->backend_ = Backend::postgresql;
    auto conninfo = postgresql_conninfo(options.url);
    if (!conninfo) {
      return tl::unexpected(std::move(conninfo.error()));
    }
    try {
      for (std::size_t i = 0; i < options.pool_size; ++i) {
        db->pool_->at(i).open(soci::postgresql, *conninfo);
      }
    } catch (const soci::soci_error& e) {
      auto error = to_error(e);
      if (error.code == Errc::internal) {
        error.code = Errc::unavailable;  // a refused or failed connection is worth a retry
      }
      return fail(std::move(error), "open postgresql");
    }
    return db;
  }

  db->backend_ = Backend::sqlite;
  // SQLite's allocation statistics take one process-wide mutex per malloc and free: with API
  // workers and ingest on separate connections, that mutex and its futex waits were a fifth of
  // a filtered device list's time (perf, bench/RESULTS.md). Only possible before SQLite's first
  // use in the process; later calls fail harmlessly.
  // (SOCI's header declares the C API inside namespace sqlite_api.)
  static const int memstatus_off = sqlite_api::sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  static_cast<void>(memstatus_off);
  std::string path = options.url;
  if (path.starts_with(kSqlitePrefix)) {
    path.erase(0, kSqlitePrefix.size());
  }
  auto connect = sqlite_connect_string(path);
  if (!connect) {
    return tl::unexpected(std::move(connect.error()));
  }
  auto healthy = sqlite_is_healthy(*connect);
  if (!healthy) {
    return fail(std::move(healthy.error()), "open " + path);
  }
  if (!*healthy) {
    auto moved = quarantine(path);
    if (!moved) {
      return fail(std::move(moved.error()), "quarantine " + path);
    }
    logger()->error("db.quarantined path={} moved_to={}", log::quoted(path), log::quoted(*moved));
    db->quarantined_ = std::move(*moved);
  }
  try {
    const char* synchronous = options.synchronous_full ? "FULL" : "NORMAL";
    for (std::size_t i = 0; i < options.pool_size; ++i) {
      soci::session& session = db->pool_->at(i);
      session.open(soci::sqlite3, *connect);
      session << "PRAGMA busy_timeout = 5000";
      if (i == 0) {
        std::string mode;  // persistent in the file: once is enough
        session << "PRAGMA journal_mode = WAL", soci::into(mode);
      }
      session << "PRAGMA foreign_keys = ON";
      session << "PRAGMA synchronous = " << synchronous;
      // Read pages through a memory map instead of read() into each connection's own cache:
      // every ingest commit invalidates those caches, and a filtered device list then copied the
      // whole table from the kernel on each request (perf: _copy_to_iter on top).
      session << "PRAGMA mmap_size = 268435456";
      // 32 MiB of page cache per connection instead of 2: a 2000-message ingest batch spilled
      // dirty pages mid-transaction and re-read WAL pages with pread (perf: PcacheFetchStress
      // and pread64, a quarter of the writer's samples).
      session << "PRAGMA cache_size = -32768";
      if (options.background_checkpoint) {
        session << "PRAGMA wal_autocheckpoint = 0";
      }
    }
  } catch (const soci::soci_error& e) {
    return fail(to_error(e), "open " + path);
  }
  return db;
}

Result<std::size_t> Database::checkpoint() {
  if (backend_ != Backend::sqlite) {
    return std::size_t{0};
  }
  long long busy = 0, frames = 0, done = 0;
  auto r = with_session([&](soci::session& session) -> Result<void> {
    session << "PRAGMA wal_checkpoint(PASSIVE)", soci::into(busy), soci::into(frames),
        soci::into(done);
    return {};
  });
  if (!r) {
    return tl::unexpected(std::move(r.error()));
  }
  return static_cast<std::size_t>(std::max(frames, 0LL));
}

Result<void> Database::transact(const std::function<Result<void>(soci::session&)>& fn) {
  return run(Mode::write, fn);
}

Result<void> Database::read(const std::function<Result<void>(soci::session&)>& fn) {
  return run(Mode::read, fn);
}

Result<void> Database::with_session(const std::function<Result<void>(soci::session&)>& fn) {
  return run(Mode::none, fn);
}

Result<void> Database::run(Mode mode, const std::function<Result<void>(soci::session&)>& fn) {
  try {
    soci::session session(*pool_);  // leased until the end of scope
    if (backend_ == Backend::postgresql) {
      // A pooled connection that broke (server restart) is reopened before it is reused.
      auto* backend = static_cast<soci::postgresql_session_backend*>(session.get_backend());
      if (backend == nullptr || PQstatus(backend->conn_) != CONNECTION_OK) {
        session.reconnect();
      }
    }
    if (mode == Mode::none) {
      return fn(session);
    }
    // IMMEDIATE takes SQLite's write lock up front: a deferred transaction that later writes
    // can fail with SQLITE_BUSY at once, without waiting for busy_timeout. A SQLite read
    // transaction (deferred) holds one WAL snapshot from its first read to COMMIT.
    if (backend_ == Backend::sqlite) {
      session << (mode == Mode::write ? "BEGIN IMMEDIATE" : "BEGIN");
    } else {
      session << (mode == Mode::write ? "BEGIN"
                                      : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    }
    try {
      auto result = fn(session);
      if (!result) {
        rollback(session);
        return result;
      }
      session << "COMMIT";
      return result;
    } catch (...) {
      rollback(session);
      throw;
    }
  } catch (const soci::soci_error& e) {
    return tl::unexpected(to_error(e));
  } catch (const std::exception& e) {
    return fail(Errc::internal, std::string("database: ") + e.what());
  }
}

}  // namespace hecs::db
