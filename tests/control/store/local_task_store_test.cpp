// TaskStore on both backends: the task a local schedule's run becomes from its first result,
// made once, in the device's tenant, and only for the device's own runs (docs/tasks.md).
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/clock.h"
#include "control/store/store.h"
#include "store_fixture.h"

namespace hecs::control::store {
namespace {

constexpr const char* kDevice = "aaaaaaaa-0000-4000-8000-000000000001";
constexpr const char* kOther = "aaaaaaaa-0000-4000-8000-000000000002";
constexpr const char* kLocalTask = "bbbbbbbb-0000-8000-8000-000000000001";
constexpr const char* kApiTask = "cccccccc-0000-4000-8000-000000000001";
constexpr std::int64_t kFire = 1'764'000'000'000;

class LocalTasks : public Store {
 protected:
  void SetUp() override {
    Store::SetUp();
    tasks_.emplace(*db_);
    ingest({hello(kDevice, 1, 1), hello(kOther, 1, 1, "other", kTenantB)});
  }

  static ResultItem state(const std::string& device, const std::string& task,
                          const std::string& name, bool local = true) {
    ResultItem item;
    item.device_id = device;
    item.message_id = random_uuid();
    item.task_id = task;
    item.state = "succeeded";
    item.started_at = kFire + 20;
    item.ended_at = kFire + 900;
    item.exit_code = 0;
    if (local) {
      item.local = LocalOrigin{name, kFire, "* * * * *", "UTC", "argv: true"};
    }
    return item;
  }

  ResultStats apply(const std::vector<ResultItem>& batch) {
    auto stats = tasks_->apply(batch, kFire + 5000);
    EXPECT_TRUE(stats) << stats.error().message;
    return stats ? *stats : ResultStats{};
  }

  std::vector<TaskRow> listed(const std::string& tenant, const std::string& origin) {
    TaskFilter filter;
    filter.origin = origin;
    auto rows = tasks_->list(tenant, filter);
    EXPECT_TRUE(rows) << rows.error().message;
    return rows ? *rows : std::vector<TaskRow>{};
  }

  std::optional<TaskStore> tasks_;
};

TEST_P(LocalTasks, TheFirstLocalResultMakesTheTaskAndItsRunOnce) {
  auto running = state(kDevice, kLocalTask, "backup");
  running.state = "running";
  auto stats = apply({running, state(kDevice, kLocalTask, "backup")});
  EXPECT_EQ(stats.local_created, 1u);
  EXPECT_EQ(stats.applied, 2u);
  stats = apply({state(kDevice, kLocalTask, "backup")});  // delivered again
  EXPECT_EQ(stats.local_created, 0u);
  EXPECT_EQ(stats.local_refused, 0u);
  auto task = tasks_->get(kTenantA, kLocalTask);
  ASSERT_TRUE(task) << task.error().message;
  EXPECT_EQ(task->origin, "local-schedule");
  EXPECT_EQ(task->created_at, kFire);
  EXPECT_EQ(task->created_by, "local-schedule:backup");
  EXPECT_EQ(task->total, 1);
  auto runs = tasks_->runs(kTenantA, kLocalTask, RunFilter{});
  ASSERT_TRUE(runs);
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].device_id, kDevice);
  EXPECT_EQ((*runs)[0].state, "succeeded");
  EXPECT_EQ((*runs)[0].started_at, kFire + 20);
  EXPECT_EQ(listed(kTenantA, "local-schedule").size(), 1u);
  EXPECT_TRUE(listed(kTenantA, "api").empty());
  EXPECT_TRUE(listed(kTenantB, "").empty()) << "another tenant sees it";
}

TEST_P(LocalTasks, ALocalClaimOnAnotherTaskOrFromAnUnknownDeviceIsRefused) {
  TaskRow api;
  api.id = kApiTask;
  api.tenant_id = kTenantA;
  api.created_at = 1;
  api.created_by = "admin";
  api.target = "{}";
  api.spec = "{}";
  api.expires_at = kFire * 2;
  api.total = 1;
  const std::vector<std::string> devices = {kDevice};
  ASSERT_TRUE(tasks_->create(api, devices));
  auto stats = apply({state(kDevice, kApiTask, "evil"),
                      state("aaaaaaaa-0000-4000-8000-00000000000f", kLocalTask, "evil")});
  EXPECT_EQ(stats.local_refused, 2u);
  EXPECT_EQ(stats.applied, 0u);
  // The local run of one device is not another's, even with the id right.
  ASSERT_EQ(apply({state(kDevice, kLocalTask, "backup")}).local_created, 1u);
  stats = apply({state(kOther, kLocalTask, "backup")});
  EXPECT_EQ(stats.local_refused, 1u);
  auto runs = tasks_->runs(kTenantA, kApiTask, RunFilter{});
  ASSERT_TRUE(runs);
  EXPECT_EQ((*runs)[0].state, "queued");
  EXPECT_EQ(tasks_->get(kTenantA, kApiTask)->origin, "api");
}

HECS_STORE_ON_BOTH_BACKENDS(LocalTasks);

}  // namespace
}  // namespace hecs::control::store
