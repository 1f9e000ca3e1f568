#include "common/db/db.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <soci/soci.h>

#include "support/postgres.h"
#include "support/tempdir.h"

namespace hecs {
namespace db {
// Names the parameter in test output ("GetParam() = sqlite").
static void PrintTo(Backend backend, std::ostream* out) {
  *out << (backend == Backend::sqlite ? "sqlite" : "postgresql");
}
}  // namespace db
namespace {

using db::Backend;
using db::Migration;
using db::Options;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr Migration kNotes[] = {
    {1, "0001_notes", "CREATE TABLE notes (id BIGINT UNIQUE, body TEXT NOT NULL);"},
};
constexpr Migration kNotesAndTags[] = {
    kNotes[0],
    {2, "0002_tags", "CREATE TABLE tags (name TEXT NOT NULL);\nINSERT INTO tags VALUES ('x');"},
};

// Started on first use by a PostgreSQL test, stopped at exit.
test::Postgres& postgres() {
  static const std::unique_ptr<test::Postgres> server = test::Postgres::start();
  return *server;
}

Options options(const std::string& url, std::size_t pool_size = 2, bool synchronous_full = false) {
  Options out;
  out.url = url;
  out.pool_size = pool_size;
  out.synchronous_full = synchronous_full;
  return out;
}

Result<void> insert_note(db::Database& db, const std::string& body) {
  return db.transact([&](soci::session& sql) -> Result<void> {
    sql << "INSERT INTO notes (body) VALUES (:body)", soci::use(body);
    return {};
  });
}

long long count_notes(db::Database& db) {
  long long notes = -1;
  auto read = db.with_session([&](soci::session& sql) -> Result<void> {
    sql << "SELECT COUNT(*) FROM notes", soci::into(notes);
    return {};
  });
  EXPECT_TRUE(read) << read.error().message;
  return notes;
}

// ---- behaviour shared by both backends ------------------------------------------------------

class Database : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    static std::atomic<int> databases{0};
    const std::string url =
        GetParam() == Backend::sqlite
            ? (dir_.path() / "hecs.db").string()
            : postgres().create_database("db_test_" + std::to_string(++databases));
    auto opened = db::Database::open(options(url));
    ASSERT_TRUE(opened) << opened.error().message;
    db_ = std::move(*opened);
    ASSERT_EQ(db_->backend(), GetParam());
    ASSERT_TRUE(db_->migrate(kNotes));
  }

  test::TempDir dir_{"db"};
  std::unique_ptr<db::Database> db_;
};

TEST_P(Database, RollsBackATransactionWhoseFunctionFails) {
  auto failed = db_->transact([](soci::session& sql) -> Result<void> {
    sql << "INSERT INTO notes (body) VALUES ('lost')";
    return fail(Errc::invalid_input, "changed my mind");
  });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, Errc::invalid_input);
  EXPECT_EQ(count_notes(*db_), 0);
}

TEST_P(Database, ReportsAConstraintViolationAsConflictAndKeepsNothingOfTheTransaction) {
  auto twice = db_->transact([](soci::session& sql) -> Result<void> {
    sql << "INSERT INTO notes (id, body) VALUES (1, 'a')";
    sql << "INSERT INTO notes (id, body) VALUES (1, 'b')";
    return {};
  });
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, Errc::conflict);
  EXPECT_THAT(twice.error().message, HasSubstr("notes"));  // the engine's own text
  EXPECT_EQ(count_notes(*db_), 0);
  ASSERT_TRUE(insert_note(*db_, "the session still works"));
}

TEST_P(Database, AppliesEachMigrationOnceAndRecordsTheVersion) {
  ASSERT_TRUE(db_->migrate(kNotesAndTags));
  ASSERT_TRUE(db_->migrate(kNotesAndTags));
  auto version = db_->schema_version();
  ASSERT_TRUE(version);
  EXPECT_EQ(*version, 2);
  long long tags = 0;
  ASSERT_TRUE(db_->with_session([&](soci::session& sql) -> Result<void> {
    sql << "SELECT COUNT(*) FROM tags", soci::into(tags);
    return {};
  }));
  EXPECT_EQ(tags, 1);
}

TEST_P(Database, RefusesADatabaseNewerThanTheBinary) {
  ASSERT_TRUE(db_->migrate(kNotesAndTags));
  auto older = db_->migrate(kNotes);
  ASSERT_FALSE(older);
  EXPECT_EQ(older.error().code, Errc::corrupt);
}

INSTANTIATE_TEST_SUITE_P(Backends, Database,
                         ::testing::Values(Backend::sqlite, Backend::postgresql),
                         [](const ::testing::TestParamInfo<Backend>& backend) {
                           return backend.param == Backend::sqlite ? "sqlite" : "postgresql";
                         });

// ---- SQLite files, with synchronous NORMAL and FULL -----------------------------------------

class SqliteFile : public ::testing::TestWithParam<bool> {
 protected:
  std::string path() const { return (dir_.path() / "hecs.db").string(); }

  std::unique_ptr<db::Database> open(std::size_t pool_size = 2) {
    auto db = db::Database::open(options(path(), pool_size, /*synchronous_full=*/GetParam()));
    EXPECT_TRUE(db) << db.error().message;
    return db ? std::move(*db) : nullptr;
  }

  static void write_garbage(const std::string& file, int bytes) {
    std::ofstream out(file, std::ios::binary);
    for (int i = 0; i < bytes; ++i) {
      out.put(static_cast<char>((i * 7919) % 251));
    }
  }

  void write_many_pages() {
    auto db = open();
    ASSERT_TRUE(db->migrate(kNotes));
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(insert_note(*db, std::string(4000, static_cast<char>('a' + i % 26))));
    }
  }

  static void expect_fresh_and_working(db::Database& db) {
    ASSERT_TRUE(db.migrate(kNotes));
    ASSERT_TRUE(insert_note(db, "fresh"));
    EXPECT_EQ(count_notes(db), 1);
  }

  test::TempDir dir_{"db"};
};

TEST_P(SqliteFile, KeepsItsDataOnReopen) {
  {
    auto db = open();
    ASSERT_TRUE(db->migrate(kNotes));
    ASSERT_TRUE(insert_note(*db, "kept"));
  }
  auto db = open();
  EXPECT_FALSE(db->quarantined_path());
  EXPECT_EQ(count_notes(*db), 1);
}

TEST_P(SqliteFile, RunsInWalModeWithForeignKeysOnEveryPooledSession) {
  auto db = open(/*pool_size=*/3);
  std::vector<std::string> settings;
  // Nested, so that the three sessions are leased at once and each one is read.
  std::function<Result<void>()> read = [&]() -> Result<void> {
    return db->with_session([&](soci::session& sql) -> Result<void> {
      std::string mode;
      int foreign_keys = 0;
      int synchronous = 0;
      sql << "PRAGMA journal_mode", soci::into(mode);
      sql << "PRAGMA foreign_keys", soci::into(foreign_keys);
      sql << "PRAGMA synchronous", soci::into(synchronous);
      settings.push_back(fmt::format("{} {} {}", mode, foreign_keys, synchronous));
      return settings.size() < 3 ? read() : Result<void>{};
    });
  };
  ASSERT_TRUE(read());
  const std::string expected = GetParam() ? "wal 1 2" : "wal 1 1";  // synchronous FULL : NORMAL
  EXPECT_THAT(settings, ElementsAre(expected, expected, expected));
}

// Frames in the WAL now (a PASSIVE checkpoint reports them without waiting for anyone).
long long wal_frames(db::Database& db) {
  long long busy = 0, frames = 0, done = 0;
  EXPECT_TRUE(db.with_session([&](soci::session& sql) -> Result<void> {
    sql << "PRAGMA wal_checkpoint(PASSIVE)", soci::into(busy), soci::into(frames), soci::into(done);
    return {};
  }));
  return frames;
}

TEST_P(SqliteFile, WithBackgroundCheckpointsTheWalGrowsUntilCheckpointCopiesIt) {
  auto opts = options(path(), 2, GetParam());
  opts.background_checkpoint = true;
  auto opened = db::Database::open(opts);
  ASSERT_TRUE(opened) << opened.error().message;
  auto& db = **opened;
  ASSERT_TRUE(db.migrate(kNotes));
  auto large_commit = [&] {  // about 300 pages of 4 KiB
    ASSERT_TRUE(db.transact([&](soci::session& sql) -> Result<void> {
      for (int i = 0; i < 300; ++i) {
        std::string body(4000, 'x');
        sql << "INSERT INTO notes (body) VALUES (:body)", soci::use(body);
      }
      return {};
    }));
  };
  for (int i = 0; i < 5; ++i) {
    large_commit();
  }
  // The commits crossed SQLite's automatic threshold (1000 pages) without a checkpoint in them.
  auto copied = db.checkpoint();
  ASSERT_TRUE(copied) << copied.error().message;
  EXPECT_GT(*copied, 1400U);
  // Everything was copied, so the next writer starts the WAL over from its beginning.
  large_commit();
  EXPECT_LT(wal_frames(db), 400);
  EXPECT_EQ(count_notes(db), 1800);
}

TEST_P(SqliteFile, WithoutBackgroundCheckpointsSqliteCheckpointsByItself) {
  auto db = open();
  ASSERT_TRUE(db->migrate(kNotes));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(db->transact([&](soci::session& sql) -> Result<void> {
      for (int k = 0; k < 300; ++k) {
        std::string body(4000, 'x');
        sql << "INSERT INTO notes (body) VALUES (:body)", soci::use(body);
      }
      return {};
    }));
  }
  EXPECT_LT(wal_frames(*db), 1400);
}

TEST_P(SqliteFile, QuarantinesAGarbageFileAndStartsAFreshOne) {  // S32
  write_garbage(path(), 10000);
  write_garbage(path() + "-wal", 5000);  // SQLite drops it on close; none may reach the new file
  auto db = open();
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->quarantined_path());
  const std::string moved = *db->quarantined_path();
  EXPECT_THAT(moved, StartsWith(path() + ".corrupt-"));
  EXPECT_EQ(std::filesystem::file_size(moved), 10000U);
  expect_fresh_and_working(*db);
}

TEST_P(SqliteFile, QuarantinesATruncatedFileAndStartsAFreshOne) {  // S32
  write_many_pages();
  const auto size = std::filesystem::file_size(path());
  ASSERT_GT(size, 100000U);
  std::filesystem::resize_file(path(), size / 2);  // half the b-tree pages are gone

  auto db = open();
  ASSERT_TRUE(db && db->quarantined_path());
  EXPECT_EQ(std::filesystem::file_size(*db->quarantined_path()), size / 2);
  auto version = db->schema_version();
  EXPECT_EQ(version.value_or(-1), 0);
  expect_fresh_and_working(*db);
}

TEST_P(SqliteFile, ReportsAFullDiskAsUnavailableAndWritesAgainOnceSpaceIsBack) {  // S30
  auto db = open(/*pool_size=*/1);  // max_page_count holds for one connection only
  ASSERT_TRUE(db->migrate(kNotes));
  ASSERT_TRUE(insert_note(*db, "before"));
  ASSERT_TRUE(db->with_session([](soci::session& sql) -> Result<void> {
    long long pages = 0;
    sql << "PRAGMA page_count", soci::into(pages);
    sql << "PRAGMA max_page_count = " << pages;  // no room to grow: the disk is "full"
    return {};
  }));

  auto full = insert_note(*db, std::string(100000, 'x'));
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, Errc::unavailable);
  EXPECT_THAT(full.error().message, HasSubstr("full"));

  std::string integrity;
  ASSERT_TRUE(db->with_session([&](soci::session& sql) -> Result<void> {
    sql << "PRAGMA integrity_check", soci::into(integrity);
    return {};
  }));
  EXPECT_EQ(integrity, "ok");
  EXPECT_EQ(count_notes(*db), 1);  // reads are still served

  ASSERT_TRUE(db->with_session([](soci::session& sql) -> Result<void> {
    sql << "PRAGMA max_page_count = 1073741823";
    return {};
  }));
  auto later = insert_note(*db, std::string(100000, 'x'));
  EXPECT_TRUE(later) << later.error().message;
  EXPECT_EQ(count_notes(*db), 2);
}

INSTANTIATE_TEST_SUITE_P(Synchronous, SqliteFile, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& full) {
                           return full.param ? "synchronous_full" : "synchronous_normal";
                         });

// ---- URLs that cannot be opened ---------------------------------------------------------------

struct BadUrl {
  const char* name;
  std::function<std::string(const std::filesystem::path& dir)> url;
  Errc expected;
};

class Opening : public ::testing::TestWithParam<BadUrl> {};

TEST_P(Opening, FailsWithTheErrorTheCallerCanActOn) {
  test::TempDir dir("db");
  auto db = db::Database::open(options(GetParam().url(dir.path())));
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, GetParam().expected) << db.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    BadUrls, Opening,
    ::testing::Values(
        BadUrl{"sqlite_path_with_a_double_quote",
               [](const auto& dir) { return (dir / "a\"b.db").string(); }, Errc::invalid_input},
        BadUrl{"sqlite_in_memory", [](const auto&) { return std::string(":memory:"); },
               Errc::invalid_input},
        BadUrl{"sqlite_file_in_a_missing_directory",
               [](const auto& dir) { return (dir / "missing" / "hecs.db").string(); },
               Errc::unavailable},
        BadUrl{"postgresql_url_that_does_not_parse",
               [](const auto&) { return std::string("postgresql://[::1"); }, Errc::invalid_input},
        BadUrl{"postgresql_server_that_is_not_running",
               [](const auto&) {
                 return "postgresql://postgres@127.0.0.1:" + std::to_string(test::free_port()) +
                        "/postgres";
               },
               Errc::unavailable}),
    [](const ::testing::TestParamInfo<BadUrl>& url) { return url.param.name; });

// ---- splitting migration scripts ---------------------------------------------------------------

struct Script {
  const char* name;
  const char* sql;
  std::vector<std::string> statements;
};

class SplitStatements : public ::testing::TestWithParam<Script> {};

TEST_P(SplitStatements, YieldsOneStatementPerSemicolonAtALineEnd) {
  EXPECT_THAT(db::split_statements(GetParam().sql), ElementsAreArray(GetParam().statements));
}

INSTANTIATE_TEST_SUITE_P(
    Scripts, SplitStatements,
    ::testing::Values(
        Script{"two_statements",
               "CREATE TABLE a (x INT);\n\nCREATE TABLE b (y INT);  \n",
               {"CREATE TABLE a (x INT)", "CREATE TABLE b (y INT)"}},
        Script{"last_statement_without_semicolon", "SELECT 1;\nSELECT 2", {"SELECT 1", "SELECT 2"}},
        Script{"semicolon_inside_a_string",
               "INSERT INTO t VALUES ('a;\nb');\n",
               {"INSERT INTO t VALUES ('a;\nb')"}},
        Script{"comments_dropped",
               "-- a comment; with a semicolon\nSELECT 1;  -- trailing\n-- only a comment\n",
               {"SELECT 1"}},
        Script{"semicolon_inside_a_line_kept", "SELECT 1; SELECT 2;\n", {"SELECT 1; SELECT 2"}},
        Script{"doubled_quote_inside_a_string",
               "INSERT INTO t VALUES ('it''s;\n');\n",
               {"INSERT INTO t VALUES ('it''s;\n')"}},
        Script{"dollar_quoted_body",
               "CREATE FUNCTION f(int) RETURNS int AS $$\nSELECT $1;\n$$ LANGUAGE sql;\n",
               {"CREATE FUNCTION f(int) RETURNS int AS $$\nSELECT $1;\n$$ LANGUAGE sql"}}),
    [](const ::testing::TestParamInfo<Script>& script) { return script.param.name; });

}  // namespace
}  // namespace hecs
