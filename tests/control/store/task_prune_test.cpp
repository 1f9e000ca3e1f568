// Retention of tasks and artifacts (docs/tasks.md "Retention") on both backends: what ended
// before the cutoff goes with its runs, output and artifact; what is recent, still running or
// not yet ended by all its devices stays; artifacts are emptied but still named.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <soci/soci.h>

#include "common/crypto/crypto.h"
#include "store_fixture.h"

namespace hecs::control::store {
namespace {

constexpr const char* kDevice = "44444444-4444-4444-8444-444444444444";

class Prune : public Store {
 protected:
  void SetUp() override {
    Store::SetUp();
    tasks_.emplace(*db_);
  }

  // A task of one run on kDevice, created at `at`; its run ends (succeeded, with output and a
  // complete artifact) when `run_done`, and the task takes `state` at `finished_at`.
  std::string make(const std::string& id, std::int64_t at, const std::string& state,
                   std::optional<std::int64_t> finished_at, bool run_done = true) {
    TaskRow task;
    task.id = id;
    task.tenant_id = kTenantA;
    task.created_at = at;
    task.created_by = "test";
    task.target = "{}";
    task.spec = "{}";
    task.expires_at = at + 1000000;
    task.total = 1;
    const std::string devices[] = {kDevice};
    EXPECT_TRUE(tasks_->create(task, devices));
    std::vector<ResultItem> batch;
    ResultItem out = base(id, "o-" + id);
    out.data = "hello";
    batch.push_back(out);
    const std::string bytes = "artifact of " + id;
    ResultItem piece = base(id, "a-" + id);
    piece.artifact_name = "logs.tar.gz";
    piece.artifact_size = static_cast<std::int64_t>(bytes.size());
    piece.artifact_sha256 = crypto::sha256_hex(bytes);
    piece.data = bytes;
    batch.push_back(piece);
    ResultItem final_state = base(id, "s-" + id);
    final_state.state = run_done ? "succeeded" : "running";
    final_state.started_at = at + 1;
    if (run_done) {
      final_state.ended_at = at + 2;
      final_state.exit_code = 0;
    }
    batch.push_back(final_state);
    EXPECT_TRUE(tasks_->apply(batch, at + 2));
    EXPECT_TRUE(tasks_->set_state(id, state, finished_at));
    return id;
  }

  static ResultItem base(const std::string& task, const std::string& message) {
    ResultItem item;
    item.device_id = kDevice;
    item.task_id = task;
    item.message_id = message;
    return item;
  }

  bool exists(const std::string& id) { return tasks_->get(kTenantA, id).has_value(); }

  long long rows(const std::string& table, const std::string& id) {
    long long n = -1;
    EXPECT_TRUE(db_->read([&](soci::session& sql) -> Result<void> {
      sql << "SELECT COUNT(*) FROM " + table + " WHERE task_id = :t", soci::use(id), soci::into(n);
      return {};
    }));
    return n;
  }

  std::optional<TaskStore> tasks_;
};

TEST_P(Prune, DeletesTasksEndedBeforeTheCutoffWithAllTheirRows) {
  const auto old_done = make("00000000-0000-4000-8000-000000000001", 100, "finished", 1000);
  const auto old_cancelled = make("00000000-0000-4000-8000-000000000002", 100, "cancelled", 1100);
  const auto recent = make("00000000-0000-4000-8000-000000000003", 100, "finished", 5000);
  const auto running =
      make("00000000-0000-4000-8000-000000000004", 100, "running", std::nullopt, false);
  // Cancelled long ago, but its device has not ended the run yet: kept until it does.
  const auto unfinished =
      make("00000000-0000-4000-8000-000000000005", 100, "cancelled", 900, false);
  for (const auto& id : {old_done, old_cancelled}) {
    ASSERT_EQ(rows("task_output", id), 1) << id;
    ASSERT_EQ(rows("task_artifact_chunks", id), 1) << id;
  }

  auto n = tasks_->prune(2000, 100);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 2U);
  for (const auto& id : {old_done, old_cancelled}) {
    EXPECT_FALSE(exists(id)) << id;
    for (const char* table :
         {"task_runs", "task_output", "task_artifacts", "task_artifact_chunks"}) {
      EXPECT_EQ(rows(table, id), 0) << table << " " << id;
    }
  }
  for (const auto& id : {recent, running, unfinished}) {
    EXPECT_TRUE(exists(id)) << id;
    EXPECT_EQ(rows("task_runs", id), 1) << id;
    EXPECT_EQ(rows("task_output", id), 1) << id;
  }
  auto again = tasks_->prune(2000, 100);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0U);
}

TEST_P(Prune, TakesAtMostTheLimitOldestFirst) {
  const auto a = make("00000000-0000-4000-8000-00000000000a", 100, "finished", 300);
  const auto b = make("00000000-0000-4000-8000-00000000000b", 100, "finished", 100);
  const auto c = make("00000000-0000-4000-8000-00000000000c", 100, "finished", 200);
  auto n = tasks_->prune(1000, 2);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 2U);
  EXPECT_FALSE(exists(b));
  EXPECT_FALSE(exists(c));
  EXPECT_TRUE(exists(a));
}

TEST_P(Prune, EmptiesOldArtifactsButKeepsTheirTaskAndSaysWhy) {
  const auto old_task = make("00000000-0000-4000-8000-000000000010", 100, "finished", 150);
  const auto new_task = make("00000000-0000-4000-8000-000000000011", 5000, "finished", 5050);
  ASSERT_TRUE(tasks_->artifact_bytes(kTenantA, old_task, kDevice));

  auto n = tasks_->prune_artifacts(1000, 100);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 1U);
  EXPECT_TRUE(exists(old_task));
  EXPECT_EQ(rows("task_artifact_chunks", old_task), 0);
  EXPECT_EQ(rows("task_output", old_task), 1);
  auto listed = tasks_->artifacts(kTenantA, old_task);
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->at(kDevice).state, "expired");
  auto gone = tasks_->artifact_bytes(kTenantA, old_task, kDevice);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, Errc::not_found);
  EXPECT_NE(gone.error().message.find("retention"), std::string::npos);
  EXPECT_TRUE(tasks_->artifact_bytes(kTenantA, new_task, kDevice));

  // A piece arriving late does not start the artifact again.
  ResultItem late = base(old_task, "late");
  late.artifact_name = "logs.tar.gz";
  late.artifact_size = 5;
  late.artifact_sha256 = crypto::sha256_hex("abcde");
  late.data = "abcde";
  auto stats = tasks_->apply(std::vector{late}, 6000);
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->applied, 0U);
  EXPECT_EQ(rows("task_artifact_chunks", old_task), 0);
  auto again = tasks_->prune_artifacts(1000, 100);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0U);
}

HECS_STORE_ON_BOTH_BACKENDS(Prune);

}  // namespace
}  // namespace hecs::control::store
