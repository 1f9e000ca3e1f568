// Artifacts of task runs (collect-logs, issue 6) on both backends: pieces kept once by offset,
// the whole checked against its sha256, bounded by its size, and read only within the tenant.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/crypto/crypto.h"
#include "store_fixture.h"

namespace hecs::control::store {
namespace {

constexpr const char* kTask = "33333333-3333-4333-8333-333333333333";
constexpr const char* kDevice = "44444444-4444-4444-8444-444444444444";

class Artifacts : public Store {
 protected:
  void SetUp() override {
    Store::SetUp();
    tasks_.emplace(*db_);
    TaskRow task;
    task.id = kTask;
    task.tenant_id = kTenantA;
    task.created_at = 1;
    task.created_by = "test";
    task.target = "{}";
    task.spec = "{}";
    task.expires_at = 1000000;
    task.total = 1;
    const std::string devices[] = {kDevice};
    ASSERT_TRUE(tasks_->create(task, devices));
  }

  // The pieces of `bytes`, `piece` bytes each, as the result writer makes them.
  std::vector<ResultItem> pieces(const std::string& bytes, std::size_t piece,
                                 const std::string& sha256) {
    std::vector<ResultItem> out;
    for (std::size_t at = 0; at < bytes.size(); at += piece) {
      ResultItem item;
      item.device_id = kDevice;
      item.message_id = "m-" + std::to_string(at);
      item.task_id = kTask;
      item.artifact_name = "collect-logs.tar.gz";
      item.artifact_size = static_cast<std::int64_t>(bytes.size());
      item.artifact_sha256 = sha256;
      item.pos = static_cast<std::int64_t>(at);
      item.data = bytes.substr(at, piece);
      out.push_back(std::move(item));
    }
    return out;
  }

  ResultStats apply(const std::vector<ResultItem>& batch) {
    auto stats = tasks_->apply(batch, 5);
    EXPECT_TRUE(stats) << stats.error().message;
    return stats ? *stats : ResultStats{};
  }

  std::optional<TaskStore> tasks_;
};

TEST_P(Artifacts, KeepsPiecesOnceInAnyOrderAndCompletesWhenTheSha256Matches) {
  using std::string_literals::operator""s;
  const std::string bytes = "\x1f\x8b binary \x00\xff bundle of ten pieces and more"s;
  ASSERT_GT(bytes.size(), 15u);
  const auto sha = crypto::sha256_hex(bytes);
  auto all = pieces(bytes, 5, sha);
  std::vector<ResultItem> shuffled(all.rbegin(), all.rend());
  shuffled.push_back(all[2]);  // delivered twice
  auto first = apply({shuffled.begin(), shuffled.begin() + 3});
  EXPECT_EQ(first.applied, 3u);
  auto partial = tasks_->artifact_bytes(kTenantA, kTask, kDevice);
  ASSERT_FALSE(partial);
  EXPECT_EQ(partial.error().code, Errc::conflict);
  auto rest = apply({shuffled.begin() + 3, shuffled.end()});
  EXPECT_EQ(rest.ignored, 1u);
  auto whole = tasks_->artifact_bytes(kTenantA, kTask, kDevice);
  ASSERT_TRUE(whole) << whole.error().message;
  EXPECT_EQ(whole->second, bytes);
  EXPECT_EQ(whole->first.state, "complete");
  EXPECT_EQ(whole->first.sha256, sha);
  auto listed = tasks_->artifacts(kTenantA, kTask);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->count(kDevice), 1u);
  EXPECT_EQ(listed->at(kDevice).received, static_cast<std::int64_t>(bytes.size()));
}

TEST_P(Artifacts, MarksPiecesThatDoNotMatchTheSha256Corrupt) {
  const std::string bytes(100, 'x');
  apply(pieces(bytes, 30, crypto::sha256_hex("something else")));
  auto whole = tasks_->artifact_bytes(kTenantA, kTask, kDevice);
  ASSERT_FALSE(whole);
  EXPECT_EQ(whole.error().code, Errc::conflict);
  EXPECT_NE(whole.error().message.find("sha256"), std::string::npos);
  EXPECT_EQ(tasks_->artifacts(kTenantA, kTask)->at(kDevice).state, "corrupt");
}

TEST_P(Artifacts, IgnoresAnotherArtifactOfTheRunAndPiecesBeyondItsSize) {
  const std::string bytes(40, 'y');
  const auto sha = crypto::sha256_hex(bytes);
  auto all = pieces(bytes, 20, sha);
  auto other = all[1];
  other.artifact_name = "other.tar.gz";
  auto flood = all[1];
  flood.pos = 5;
  flood.data = std::string(30, 'y');  // 20 + 30 bytes kept would pass the size of 40
  auto stats = apply({all[0], other, flood});
  EXPECT_EQ(stats.applied, 1u);
  EXPECT_EQ(stats.ignored, 2u);
  apply({all[1]});
  auto whole = tasks_->artifact_bytes(kTenantA, kTask, kDevice);
  ASSERT_TRUE(whole) << whole.error().message;
  EXPECT_EQ(whole->second, bytes);
}

TEST_P(Artifacts, MarksOverlappingPiecesCorrupt) {
  const std::string bytes(40, 'z');
  auto all = pieces(bytes, 20, crypto::sha256_hex(bytes));
  auto overlap = all[1];
  overlap.pos = 10;  // covers 10..30: the size adds up, the bytes do not
  apply({all[0], overlap});
  auto whole = tasks_->artifact_bytes(kTenantA, kTask, kDevice);
  ASSERT_FALSE(whole);
  EXPECT_EQ(whole.error().code, Errc::conflict);
  EXPECT_EQ(tasks_->artifacts(kTenantA, kTask)->at(kDevice).state, "corrupt");
}

TEST_P(Artifacts, IgnoresPiecesForARunThatDoesNotExist) {
  auto stray = pieces("abc", 3, crypto::sha256_hex("abc"));
  stray[0].device_id = "55555555-5555-4555-8555-555555555555";
  EXPECT_EQ(apply(stray).ignored, 1u);
  EXPECT_TRUE(tasks_->artifacts(kTenantA, kTask)->empty());
}

TEST_P(Artifacts, AnotherTenantFindsNoArtifact) {
  const std::string bytes = "tenant A's logs";
  apply(pieces(bytes, 4, crypto::sha256_hex(bytes)));
  ASSERT_TRUE(tasks_->artifact_bytes(kTenantA, kTask, kDevice));
  auto theirs = tasks_->artifact_bytes(kTenantB, kTask, kDevice);
  ASSERT_FALSE(theirs);
  EXPECT_EQ(theirs.error().code, Errc::not_found);
  EXPECT_TRUE(tasks_->artifacts(kTenantB, kTask)->empty());
}

HECS_STORE_ON_BOTH_BACKENDS(Artifacts);

}  // namespace
}  // namespace hecs::control::store
