#include "agent/uplink/uplink.h"

#include <fstream>

#include <gtest/gtest.h>

#include "common/clock.h"
#include "support/process.h"
#include "support/tempdir.h"

namespace hecs::agent::uplink {
namespace {

std::unique_ptr<Outbox> open_outbox(const test::TempDir& dir, OutboxLimits limits = {}) {
  auto outbox = Outbox::open(dir.path() / "outbox.db", limits, false);
  EXPECT_TRUE(outbox) << outbox.error().message;
  return std::move(*outbox);
}

TEST(Outbox, KeepsEntriesInOrderUntilTheControlPlaneAcknowledgesThem) {
  test::TempDir dir("outbox");
  auto outbox = open_outbox(dir);
  ASSERT_TRUE(outbox->append("t", "one", "id-1"));
  ASSERT_TRUE(outbox->append("t", "two", "id-2"));
  ASSERT_TRUE(outbox->append("t", "three", "id-3"));
  auto entries = outbox->peek(0, 10);
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].payload, "one");
  EXPECT_EQ((*entries)[2].msg_id, "id-3");

  auto removed = outbox->acknowledge({"id-1", "id-3", "unknown"});
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, 2u);
  entries = outbox->peek(0, 10);
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].msg_id, "id-2");
}

TEST(Outbox, SurvivesAReopenWithItsEntries) {
  test::TempDir dir("outbox");
  {
    auto outbox = open_outbox(dir);
    ASSERT_TRUE(outbox->append("t", "kept", "id-1"));
  }
  auto outbox = open_outbox(dir);
  EXPECT_EQ(outbox->size().value_or(0), 1u);
}

TEST(Outbox, DropsTheOldestEntriesBeyondItsLimit) {
  test::TempDir dir("outbox");
  auto outbox = open_outbox(dir, OutboxLimits{.max_entries = 100});
  for (int i = 0; i < 130; ++i) {
    ASSERT_TRUE(outbox->append("t", std::to_string(i), "id-" + std::to_string(i)));
  }
  EXPECT_EQ(outbox->size().value_or(0), 100u);
  EXPECT_EQ(outbox->dropped(), 30u);
  EXPECT_EQ(outbox->peek(0, 1)->front().payload, "30");
}

TEST(Outbox, MovesAGarbageFileAsideAndStartsAfresh) {  // S32
  test::TempDir dir("outbox");
  std::ofstream(dir.path() / "outbox.db") << std::string(4096, 'Z');
  auto outbox = open_outbox(dir);
  EXPECT_FALSE(outbox->quarantined().empty());
  EXPECT_TRUE(std::filesystem::exists(outbox->quarantined()));
  EXPECT_TRUE(outbox->append("t", "p", "id"));
}

TEST(Outbox, GivesAnOutboxFromBeforeAcksTheMessageIdsOfItsEntries) {
  test::TempDir dir("outbox");
  auto db = (dir.path() / "outbox.db").string();
  ASSERT_EQ(test::run_command("sqlite3 " + db +
                              " \"CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                              "topic TEXT NOT NULL, payload BLOB NOT NULL, created_at INTEGER NOT "
                              "NULL); INSERT INTO outbox(topic, payload, created_at) VALUES "
                              "('t', '{\\\"id\\\":\\\"old-1\\\"}', 0)\""),
            0);
  auto outbox = open_outbox(dir);
  auto entries = outbox->peek(0, 10);
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].msg_id, "old-1");
  EXPECT_EQ(outbox->acknowledge({"old-1"}).value_or(0), 1u);
}

TEST(Identity, IsCreatedOnceAndKept) {
  test::TempDir dir("identity");
  auto first = load_or_create_identity(dir.path());
  ASSERT_TRUE(first);
  EXPECT_TRUE(is_uuid(first->device_id));
  auto again = load_or_create_identity(dir.path());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->device_id, first->device_id);
  auto perms = std::filesystem::status(dir.path() / "device-id").permissions();
  EXPECT_EQ(perms & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST(Identity, RefusesADamagedIdFileInsteadOfMakingANewDevice) {
  test::TempDir dir("identity");
  std::ofstream(dir.path() / "device-id") << "not-a-uuid\n";
  auto id = load_or_create_identity(dir.path());
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code, Errc::corrupt);
}

TEST(SessionCounter, GrowsAcrossRestarts) {  // S28
  test::TempDir dir("session");
  auto a = SessionCounter::open(dir.path());
  ASSERT_TRUE(a);
  EXPECT_EQ(a->next().value_or(0), 1u);
  EXPECT_EQ(a->next().value_or(0), 2u);
  auto b = SessionCounter::open(dir.path());
  EXPECT_EQ(b->next().value_or(0), 3u);
}

TEST(SessionCounter, RestartsAboveEverySentSessionWhenItsFileIsLost) {  // S28
  test::TempDir dir("session");
  ASSERT_TRUE(load_or_create_identity(dir.path()));
  auto before = SystemClock{}.now_ms();
  auto counter = SessionCounter::open(dir.path());
  ASSERT_TRUE(counter);
  EXPECT_GE(counter->next().value_or(0), static_cast<std::uint64_t>(before));
}

}  // namespace
}  // namespace hecs::agent::uplink
