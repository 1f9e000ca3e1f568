#include "common/db/db.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <soci/soci.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "support/tempdir.h"

namespace hecs::db {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr Migration kNotes[] = {
    {1, "0001_notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);"},
};

class SqliteDatabase : public ::testing::Test {
 protected:
  std::string path() const { return (dir_.path() / "hecs.db").string(); }

  std::unique_ptr<Database> open(std::size_t pool_size = 2) {
    Options options;
    options.url = path();
    options.pool_size = pool_size;
    auto db = Database::open(options);
    EXPECT_TRUE(db) << db.error().message;
    return db ? std::move(*db) : nullptr;
  }

  static Result<void> insert_note(Database& db, const std::string& body) {
    return db.transact([&](soci::session& sql) -> Result<void> {
      sql << "INSERT INTO notes (body) VALUES (:body)", soci::use(body);
      return {};
    });
  }

  static long long count_notes(Database& db) {
    long long notes = -1;
    auto read = db.with_session([&](soci::session& sql) -> Result<void> {
      sql << "SELECT COUNT(*) FROM notes", soci::into(notes);
      return {};
    });
    EXPECT_TRUE(read) << read.error().message;
    return notes;
  }

  // A database of many pages, so that cutting it in half loses b-tree pages.
  void write_a_database_of_a_few_hundred_kilobytes() {
    auto db = open();
    ASSERT_TRUE(db->migrate(kNotes));
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(insert_note(*db, std::string(4000, static_cast<char>('a' + i % 26))));
    }
  }

  test::TempDir dir_{"db"};
};

TEST_F(SqliteDatabase, CreatesAFreshFileAndKeepsItsDataOnReopen) {
  {
    auto db = open();
    ASSERT_TRUE(db->migrate(kNotes));
    ASSERT_TRUE(insert_note(*db, "kept"));
  }
  auto db = open();
  EXPECT_FALSE(db->quarantined_path());
  EXPECT_EQ(count_notes(*db), 1);
}

TEST_F(SqliteDatabase, RunsInWalModeWithForeignKeysOnEveryPooledSession) {
  auto db = open(/*pool_size=*/3);
  int checked = 0;
  // Nested, so that the three sessions are leased at once and each one is checked.
  std::function<Result<void>()> check = [&]() -> Result<void> {
    return db->with_session([&](soci::session& sql) -> Result<void> {
      std::string mode;
      int foreign_keys = 0;
      sql << "PRAGMA journal_mode", soci::into(mode);
      sql << "PRAGMA foreign_keys", soci::into(foreign_keys);
      EXPECT_EQ(mode, "wal");
      EXPECT_EQ(foreign_keys, 1);
      return ++checked < 3 ? check() : Result<void>{};
    });
  };
  ASSERT_TRUE(check());
  EXPECT_EQ(checked, 3);
}

TEST_F(SqliteDatabase, QuarantinesAGarbageFileAndStartsAFreshOne) {  // S32
  {
    std::ofstream garbage(path(), std::ios::binary);
    for (int i = 0; i < 10000; ++i) {
      garbage.put(static_cast<char>((i * 7919) % 251));
    }
  }
  auto db = open();
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->quarantined_path());
  EXPECT_THAT(*db->quarantined_path(), StartsWith(path() + ".corrupt-"));
  EXPECT_TRUE(std::filesystem::exists(*db->quarantined_path()));
  EXPECT_EQ(std::filesystem::file_size(*db->quarantined_path()), 10000U);
  ASSERT_TRUE(db->migrate(kNotes));
  ASSERT_TRUE(insert_note(*db, "fresh"));
  EXPECT_EQ(count_notes(*db), 1);
}

TEST_F(SqliteDatabase, QuarantinesATruncatedFileAndStartsAFreshOne) {  // S32
  write_a_database_of_a_few_hundred_kilobytes();
  const auto size = std::filesystem::file_size(path());
  ASSERT_GT(size, 100000U);
  std::filesystem::resize_file(path(), size / 2);

  auto db = open();
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->quarantined_path());
  EXPECT_EQ(std::filesystem::file_size(*db->quarantined_path()), size / 2);
  auto version = db->schema_version();
  ASSERT_TRUE(version);
  EXPECT_EQ(*version, 0);
  ASSERT_TRUE(db->migrate(kNotes));
  ASSERT_TRUE(insert_note(*db, "fresh"));
  EXPECT_EQ(count_notes(*db), 1);
}

TEST_F(SqliteDatabase, ReportsAFullDiskAsUnavailableAndWritesAgainOnceSpaceIsBack) {  // S30
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
  EXPECT_EQ(count_notes(*db), 1);  // reads still served

  ASSERT_TRUE(db->with_session([](soci::session& sql) -> Result<void> {
    sql << "PRAGMA max_page_count = 1073741823";
    return {};
  }));
  auto later = insert_note(*db, std::string(100000, 'x'));
  EXPECT_TRUE(later) << later.error().message;
  EXPECT_EQ(count_notes(*db), 2);
}

TEST_F(SqliteDatabase, RollsBackATransactionWhoseFunctionFails) {
  auto db = open();
  ASSERT_TRUE(db->migrate(kNotes));
  auto failed = db->transact([](soci::session& sql) -> Result<void> {
    sql << "INSERT INTO notes (body) VALUES ('lost')";
    return fail(Errc::invalid_input, "changed my mind");
  });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, Errc::invalid_input);
  EXPECT_EQ(count_notes(*db), 0);
}

TEST_F(SqliteDatabase, ReportsAConstraintViolationAsConflict) {
  auto db = open();
  ASSERT_TRUE(db->migrate(kNotes));
  auto twice = db->transact([](soci::session& sql) -> Result<void> {
    sql << "INSERT INTO notes (id, body) VALUES (1, 'a')";
    sql << "INSERT INTO notes (id, body) VALUES (1, 'b')";
    return {};
  });
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, Errc::conflict);
  EXPECT_THAT(twice.error().message, HasSubstr("UNIQUE"));
  EXPECT_EQ(count_notes(*db), 0);
}

TEST_F(SqliteDatabase, AppliesEachMigrationOnceAndRecordsTheVersion) {
  auto db = open();
  constexpr Migration kTwo[] = {
      kNotes[0],
      {2, "0002_tags", "CREATE TABLE tags (name TEXT);\nINSERT INTO tags VALUES ('x');"},
  };
  ASSERT_TRUE(db->migrate(kNotes));
  ASSERT_TRUE(db->migrate(kTwo));
  ASSERT_TRUE(db->migrate(kTwo));
  auto version = db->schema_version();
  ASSERT_TRUE(version);
  EXPECT_EQ(*version, 2);
}

TEST_F(SqliteDatabase, RefusesADatabaseNewerThanTheBinary) {
  auto db = open();
  constexpr Migration kTwo[] = {kNotes[0], {2, "0002_tags", "CREATE TABLE tags (name TEXT);"}};
  ASSERT_TRUE(db->migrate(kTwo));
  auto older = db->migrate(kNotes);
  ASSERT_FALSE(older);
  EXPECT_EQ(older.error().code, Errc::corrupt);
}

TEST_F(SqliteDatabase, RejectsAPathWithADoubleQuote) {
  Options options;
  options.url = (dir_.path() / "a\"b.db").string();
  auto db = Database::open(options);
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, Errc::invalid_input);
}

TEST(PostgresqlDatabase, ReportsAnUnreachableServerAsUnavailable) {
  const auto port = test::free_port();  // nothing listens there
  Options options;
  options.url = "postgresql://postgres@127.0.0.1:" + std::to_string(port) + "/postgres";
  auto db = Database::open(options);
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, Errc::unavailable);
}

TEST(SplitStatements, SplitsAtSemicolonsThatEndALine) {
  EXPECT_THAT(split_statements("CREATE TABLE a (x INT);\n\nCREATE TABLE b (y INT);  \n"),
              ElementsAre("CREATE TABLE a (x INT)", "CREATE TABLE b (y INT)"));
}

TEST(SplitStatements, KeepsSemicolonsInsideQuotesAndDropsComments) {
  EXPECT_THAT(split_statements("-- a comment; with a semicolon\n"
                               "INSERT INTO t VALUES ('a;\nb');  -- trailing\n"
                               "INSERT INTO t VALUES ('c'); INSERT INTO t VALUES ('d');\n"),
              ElementsAre("INSERT INTO t VALUES ('a;\nb')",
                          "INSERT INTO t VALUES ('c'); INSERT INTO t VALUES ('d')"));
}

}  // namespace
}  // namespace hecs::db
