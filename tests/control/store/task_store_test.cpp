// TaskStore over both backends: the dispatcher's and the result writer's queries.
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "control/store/store.h"
#include "store_fixture.h"

namespace hecs::control::store {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr const char* kTask = "cccccccc-0000-4000-8000-000000000001";
constexpr const char* kDev1 = "aaaaaaaa-0000-4000-8000-000000000001";
constexpr const char* kDev2 = "aaaaaaaa-0000-4000-8000-000000000002";
constexpr const char* kDev3 = "aaaaaaaa-0000-4000-8000-000000000003";
constexpr std::int64_t kNow = 1'000'000;

ResultItem state(const std::string& device, const std::string& to, std::int64_t at,
                 const std::string& message_id) {
  ResultItem r;
  r.device_id = device;
  r.message_id = message_id;
  r.task_id = kTask;
  r.state = to;
  r.started_at = to == "running" ? at : at - 1;
  if (to != "running") {
    r.ended_at = at;
    r.exit_code = to == "succeeded" ? 0 : 1;
  }
  return r;
}

ResultItem output(const std::string& device, std::int64_t pos, const std::string& data) {
  ResultItem r;
  r.device_id = device;
  r.message_id = device + "-out-" + std::to_string(pos);
  r.task_id = kTask;
  r.pos = pos;
  r.data = data;
  return r;
}

class Tasks : public Store {
 protected:
  void SetUp() override {
    Store::SetUp();
    tasks_.emplace(*db_);
    TaskRow task;
    task.id = kTask;
    task.tenant_id = kTenantA;
    task.created_at = kNow;
    task.created_by = "key:test";
    task.target = R"({"devices":[]})";
    task.spec = R"({"task":"x"})";
    task.expires_at = kNow + 60'000;
    task.total = 3;
    const std::vector<std::string> devices{kDev1, kDev2, kDev3};
    ASSERT_TRUE(tasks_->create(task, devices));
  }

  RunRow run(const std::string& device) {
    RunFilter filter;
    filter.device = device;
    auto runs = tasks_->runs(kTenantA, kTask, filter);
    EXPECT_TRUE(runs && runs->size() == 1);
    return runs && runs->size() == 1 ? runs->front() : RunRow{};
  }

  ResultStats apply(const std::vector<ResultItem>& batch, std::int64_t now) {
    auto stats = tasks_->apply(batch, now);
    EXPECT_TRUE(stats) << stats.error().message;
    return stats ? *stats : ResultStats{};
  }

  std::optional<TaskStore> tasks_;
};

TEST_P(Tasks, QueuedRunsComeInPositionOrderAndMarkSentMovesThem) {
  auto queued = tasks_->queued(kTask, 2);
  ASSERT_TRUE(queued);
  EXPECT_THAT(*queued, ElementsAre(kDev1, kDev2));
  const std::vector<std::string> sent{kDev1, kDev2};
  auto changed = tasks_->mark_sent(kTask, sent, kNow + 10);
  ASSERT_TRUE(changed);
  EXPECT_EQ(*changed, 2U);
  EXPECT_EQ(run(kDev1).state, "sent");
  EXPECT_EQ(run(kDev1).sent_at, kNow + 10);
  EXPECT_THAT(*tasks_->queued(kTask, 10), ElementsAre(kDev3));
  auto counts = tasks_->counts(kTask);
  ASSERT_TRUE(counts);
  EXPECT_EQ((*counts)["sent"], 2);
  EXPECT_EQ((*counts)["queued"], 1);
}

// A fast device answers before the dispatcher marks its run sent: the run keeps its state and
// still records when it was sent.
TEST_P(Tasks, MarkSentAfterTheRunningResultKeepsTheStateAndStampsSentAt) {
  apply({state(kDev1, "running", kNow + 3, "m1")}, kNow + 4);
  apply({state(kDev2, "running", kNow + 3, "m2"), state(kDev2, "succeeded", kNow + 4, "m3")},
        kNow + 5);
  const std::vector<std::string> sent{kDev1, kDev2};
  ASSERT_TRUE(tasks_->mark_sent(kTask, sent, kNow + 6));
  EXPECT_EQ(run(kDev1).state, "running");
  EXPECT_EQ(run(kDev1).sent_at, kNow + 6);
  EXPECT_EQ(run(kDev2).state, "succeeded");
  EXPECT_EQ(run(kDev2).sent_at, kNow + 6);
  // A resend of a run already sent moves sent_at; a later state keeps its first stamp.
  ASSERT_TRUE(tasks_->mark_sent(kTask, sent, kNow + 50));
  EXPECT_EQ(run(kDev1).sent_at, kNow + 6);
}

// The dispatcher stamps its runs sent after signing them all, and on a large fleet a device's
// result can be stored seconds before that. The run's updated_at must not go back to the
// dispatch time: a task's event stream asks for runs updated since its last look, and would
// never show that run's final state.
TEST_P(Tasks, MarkSentNeverMovesUpdatedAtBack) {
  apply({state(kDev1, "succeeded", kNow + 3, "m1")}, kNow + 5'000);
  const std::vector<std::string> sent{kDev1, kDev2};
  ASSERT_TRUE(tasks_->mark_sent(kTask, sent, kNow + 10));
  EXPECT_EQ(run(kDev1).state, "succeeded");
  EXPECT_EQ(run(kDev1).sent_at, kNow + 10);
  EXPECT_EQ(run(kDev1).updated_at, kNow + 5'000);
  EXPECT_EQ(run(kDev2).updated_at, kNow + 10);
  auto since = tasks_->runs_updated(kTask, kNow + 4'000);
  ASSERT_TRUE(since) << since.error().message;
  ASSERT_EQ(since->size(), 1U);
  EXPECT_EQ((*since)[0].device_id, kDev1);
}

TEST_P(Tasks, ResultsMoveRunsForwardOnlyAndOutputIsKeptOnce) {
  const std::vector<std::string> all{kDev1, kDev2, kDev3};
  ASSERT_TRUE(tasks_->mark_sent(kTask, all, kNow + 1));
  auto stats = apply({state(kDev1, "running", kNow + 2, "a"), output(kDev1, 0, "hello "),
                      output(kDev1, 6, "world"), state(kDev1, "succeeded", kNow + 3, "b")},
                     kNow + 10);
  EXPECT_EQ(stats.applied, 4U);
  EXPECT_THAT(stats.tasks, ElementsAre(kTask));
  // Delivered again, and a late "running" after the final state: nothing changes.
  stats = apply({output(kDev1, 0, "hello "), state(kDev1, "running", kNow + 2, "a2"),
                 state(kDev1, "failed", kNow + 4, "c")},
                kNow + 20);
  EXPECT_EQ(stats.applied, 0U);
  const RunRow done = run(kDev1);
  EXPECT_EQ(done.state, "succeeded");
  EXPECT_EQ(done.exit_code, 0);
  EXPECT_EQ(done.started_at, kNow + 2);
  auto out = tasks_->output(kTenantA, kTask, kDev1, 0, 0, 10);
  ASSERT_TRUE(out);
  ASSERT_EQ(out->size(), 2U);
  EXPECT_EQ((*out)[0].data + (*out)[1].data, "hello world");
  // Another tenant sees neither the task nor its output.
  EXPECT_FALSE(tasks_->get(kTenantB, kTask));
  auto foreign = tasks_->output(kTenantB, kTask, kDev1, 0, 0, 10);
  EXPECT_TRUE(!foreign || foreign->empty());
}

TEST_P(Tasks, StaleSentRunsAreFoundForAResend) {
  const std::vector<std::string> first{kDev1};
  const std::vector<std::string> later{kDev2};
  ASSERT_TRUE(tasks_->mark_sent(kTask, first, kNow));
  ASSERT_TRUE(tasks_->mark_sent(kTask, later, kNow + 30'000));
  auto stale = tasks_->stale_sent(kTask, kNow + 10'000, 10);
  ASSERT_TRUE(stale);
  EXPECT_THAT(*stale, ElementsAre(kDev1));
  apply({state(kDev1, "running", kNow + 2, "r")}, kNow + 3);
  EXPECT_THAT(*tasks_->stale_sent(kTask, kNow + 10'000, 10), IsEmpty());
}

TEST_P(Tasks, CancelAndEndRunsTouchOnlyUnfinishedRuns) {
  const std::vector<std::string> two{kDev1, kDev2};
  ASSERT_TRUE(tasks_->mark_sent(kTask, two, kNow));
  apply({state(kDev2, "running", kNow + 1, "r"), state(kDev2, "failed", kNow + 2, "f")}, kNow + 3);
  auto asked = tasks_->request_cancel(kTask, std::nullopt, kNow + 4);
  ASSERT_TRUE(asked);
  EXPECT_THAT(*asked, ElementsAre(kDev1));
  auto ended = tasks_->end_runs(kTask, "cancelled", "cancelled by the operator", true, std::nullopt,
                                kNow + 5);
  ASSERT_TRUE(ended);
  EXPECT_THAT(*ended, ElementsAre(kDev3));
  EXPECT_EQ(run(kDev3).state, "cancelled");
  EXPECT_EQ(run(kDev2).state, "failed");
  EXPECT_TRUE(run(kDev1).cancel_requested);
  auto pending = tasks_->pending_for_device(kDev1);
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 1U);
  EXPECT_EQ(pending->front().task_id, kTask);
}

TEST_P(Tasks, RunsNotStartedByTheDeadlineExpire) {
  const std::vector<std::string> one{kDev1};
  ASSERT_TRUE(tasks_->mark_sent(kTask, one, kNow));
  apply({state(kDev3, "running", kNow + 1, "r")}, kNow + 2);
  auto touched = tasks_->expire(kNow + 60'001);
  ASSERT_TRUE(touched);
  EXPECT_THAT(*touched, ElementsAre(kTask));
  EXPECT_EQ(run(kDev1).state, "expired");
  EXPECT_EQ(run(kDev2).state, "expired");
  EXPECT_EQ(run(kDev3).state, "running");
  auto counts = tasks_->counts(kTask);
  ASSERT_TRUE(counts);
  EXPECT_THAT(*counts, UnorderedElementsAre(std::pair<const std::string, int>("expired", 2),
                                            std::pair<const std::string, int>("running", 1)));
}

TEST_P(Tasks, RunsFilterBySeveralStatesAndCountsComeForManyTasksAtOnce) {
  apply({state(kDev1, "running", kNow + 1, "r1"), state(kDev2, "running", kNow + 1, "r2"),
         state(kDev2, "failed", kNow + 2, "f2")},
        kNow + 3);
  RunFilter filter;
  filter.states = {"failed", "queued"};
  auto runs = tasks_->runs(kTenantA, kTask, filter);
  ASSERT_TRUE(runs) << runs.error().message;
  std::vector<std::string> devices;
  for (const auto& r : *runs) {
    devices.push_back(r.device_id);
  }
  EXPECT_THAT(devices, ElementsAre(kDev2, kDev3));
  filter.states = {"failed') OR ('1'='1"};
  EXPECT_FALSE(tasks_->runs(kTenantA, kTask, filter));  // never reaches the SQL
  auto counts = tasks_->counts_of({kTask, "cccccccc-0000-4000-8000-00000000ffff"});
  ASSERT_TRUE(counts) << counts.error().message;
  ASSERT_EQ(counts->size(), 1U);
  EXPECT_THAT(counts->at(kTask),
              UnorderedElementsAre(std::pair<const std::string, int>("running", 1),
                                   std::pair<const std::string, int>("failed", 1),
                                   std::pair<const std::string, int>("queued", 1)));
  TaskFilter tasks;
  tasks.states = {"finished", "running"};
  auto listed = tasks_->list(kTenantA, tasks);
  ASSERT_TRUE(listed) << listed.error().message;
  EXPECT_EQ(listed->size(), 1U);
}

TEST_P(Tasks, OutputFromAnOffsetStartsAtThePieceHoldingIt) {
  apply({output(kDev1, 0, "hello "), output(kDev1, 6, "wide "), output(kDev1, 11, "world")},
        kNow + 1);
  auto pieces = [&](std::int64_t offset) {
    std::vector<std::int64_t> positions;
    auto out = tasks_->output_from(kTenantA, kTask, kDev1, 0, offset, 10);
    EXPECT_TRUE(out) << out.error().message;
    for (const auto& o : out ? *out : std::vector<OutputRow>{}) {
      positions.push_back(o.pos);
    }
    return positions;
  };
  EXPECT_THAT(pieces(0), ElementsAre(0, 6, 11));
  EXPECT_THAT(pieces(8), ElementsAre(6, 11));
  EXPECT_THAT(pieces(11), ElementsAre(11));
  EXPECT_THAT(pieces(100), ElementsAre(11));  // the caller cuts what lies before the offset
  auto foreign = tasks_->output_from(kTenantB, kTask, kDev1, 0, 0, 10);
  EXPECT_TRUE(!foreign || foreign->empty());
}

HECS_STORE_ON_BOTH_BACKENDS(Tasks);

}  // namespace
}  // namespace hecs::control::store
