// Database migrations (db.h): the schema version, the migrations applied in order, each once,
// and the split of a migration script into statements.
#include <algorithm>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <soci/soci.h>

#include "common/db/db.h"
#include "common/db/internal.h"

namespace hecs::db {
namespace {

using detail::logger;
using detail::now_ms;

// Any constant works: it only has to be the same in every replica that migrates.
constexpr long long kMigrationLockKey = 0x68656373;  // "hecs"

// Scans a migration script once, tracking whether it is inside '…', "…" or $$…$$, where a
// semicolon does not end a statement. Comments ("--" to the line end) are dropped.
class StatementSplitter {
 public:
  explicit StatementSplitter(std::string_view sql) : sql_(sql) {}

  std::vector<std::string> split() {
    while (next_ < sql_.size()) {
      if (quote_ != 0) {
        scan_quoted();
      } else {
        scan_plain();
      }
    }
    flush();
    return std::move(statements_);
  }

 private:
  bool at(std::string_view token) const { return sql_.substr(next_, token.size()) == token; }

  void scan_quoted() {
    if (quote_ == '$' && at("$$")) {
      current_ += "$$";
      next_ += 2;
      quote_ = 0;
      return;
    }
    const char c = sql_[next_++];
    current_ += c;
    if (c == quote_ && quote_ != '$') {
      quote_ = 0;  // a doubled '' reopens on the next character
    }
  }

  void scan_plain() {
    if (at("--")) {
      next_ = std::min(sql_.find('\n', next_), sql_.size());
      return;
    }
    if (at("$$")) {
      current_ += "$$";
      next_ += 2;
      quote_ = '$';
      return;
    }
    const char c = sql_[next_++];
    if (c == ';' && only_blanks_to_line_end()) {
      flush();
      return;
    }
    if (c == '\'' || c == '"') {
      quote_ = c;
    }
    current_ += c;
  }

  bool only_blanks_to_line_end() const {
    for (std::size_t i = next_; i < sql_.size() && sql_[i] != '\n'; ++i) {
      if (sql_.substr(i, 2) == "--") {
        return true;
      }
      if (sql_[i] != ' ' && sql_[i] != '\t' && sql_[i] != '\r') {
        return false;
      }
    }
    return true;
  }

  void flush() {
    const auto first = current_.find_first_not_of(" \t\r\n");
    if (first != std::string::npos) {
      const auto last = current_.find_last_not_of(" \t\r\n");
      statements_.push_back(current_.substr(first, last - first + 1));
    }
    current_.clear();
  }

  std::string_view sql_;
  std::size_t next_ = 0;
  char quote_ = 0;  // ', " or $ while inside one
  std::string current_;
  std::vector<std::string> statements_;
};

}  // namespace

Result<int> Database::schema_version() {
  int version = 0;
  auto read = with_session([&](soci::session& session) -> Result<void> {
    long long tables = 0;
    if (backend_ == Backend::sqlite) {
      session << "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND "
                 "name = 'schema_migrations'",
          soci::into(tables);
    } else {
      session << "SELECT COUNT(*) FROM information_schema.tables WHERE "
                 "table_schema = current_schema() AND table_name = 'schema_migrations'",
          soci::into(tables);
    }
    if (tables > 0) {
      session << "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", soci::into(version);
    }
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "schema version");
  }
  return version;
}

Result<void> Database::migrate(std::span<const Migration> migrations) {
  for (std::size_t i = 1; i < migrations.size(); ++i) {
    if (migrations[i].version <= migrations[i - 1].version) {
      return fail(Errc::internal, "migrations are not in increasing version order");
    }
  }
  // Serialises replicas that start together: PostgreSQL through an advisory lock held until
  // the end of each transaction, SQLite through BEGIN IMMEDIATE.
  auto lock = [this](soci::session& session) {
    if (backend_ == Backend::postgresql) {
      int unused = 0;
      session << "SELECT 1 FROM (SELECT pg_advisory_xact_lock(:key)) AS locked",
          soci::use(kMigrationLockKey), soci::into(unused);
    }
  };
  auto created = transact([&](soci::session& session) -> Result<void> {
    lock(session);
    session << "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
               "name TEXT NOT NULL, applied_at BIGINT NOT NULL)";
    return {};
  });
  if (!created) {
    return fail(std::move(created.error()), "migrate");
  }
  auto current = schema_version();
  if (!current) {
    return fail(std::move(current.error()), "migrate");
  }
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  if (*current > latest) {
    return fail(Errc::corrupt, fmt::format("migrate: database schema version {} is newer than "
                                           "this binary's {}",
                                           *current, latest));
  }
  for (const Migration& migration : migrations) {
    if (migration.version <= *current) {
      continue;
    }
    bool applied = false;
    auto step = transact([&](soci::session& session) -> Result<void> {
      lock(session);
      int version = 0;
      session << "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", soci::into(version);
      if (version >= migration.version) {
        return {};  // another replica applied it meanwhile
      }
      for (const std::string& statement : split_statements(migration.sql)) {
        session << statement;
      }
      const std::string name(migration.name);
      const long long applied_at = now_ms();
      session << "INSERT INTO schema_migrations (version, name, applied_at) "
                 "VALUES (:version, :name, :applied_at)",
          soci::use(migration.version), soci::use(name), soci::use(applied_at);
      applied = true;
      return {};
    });
    if (!step) {
      return fail(std::move(step.error()), fmt::format("migrate {}", migration.name));
    }
    if (applied) {
      logger()->info("db.migrated version={} name={}", migration.version, migration.name);
    }
  }
  return {};
}

std::vector<std::string> split_statements(std::string_view sql) {
  return StatementSplitter(sql).split();
}

}  // namespace hecs::db
