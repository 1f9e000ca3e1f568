// Task routes in process: answers for a device not in the task, bad cursors, finished_at of a
// cancelled task (docs/tasks.md, "Routes").
#include "control/api/api_fixture.h"

namespace hecs::control::api::test {
namespace {
namespace json = boost::json;

constexpr const char* kDevice = "6f1c1a52-2f47-4a8e-9b7e-00000000000b";
constexpr const char* kOther = "6f1c1a52-2f47-4a8e-9b7e-00000000000c";

class TaskRoutes : public ApiFixture {
 protected:
  void SetUp() override {
    ApiFixture::SetUp();
    for (const char* id : {kDevice, kOther}) {
      store::IngestItem hello;
      hello.kind = store::IngestItem::Kind::hello;
      hello.tenant_id = default_tenant_;
      hello.device_id = id;
      hello.message_id = random_uuid();
      hello.ts = hello.received_at = clock_.now;
      hello.session = 1;
      hello.body = "{}";
      ASSERT_TRUE(devices_->ingest(std::span(&hello, 1)));
    }
    auto made = post("/api/v1/tasks", super_,
                     json::object{{"target", json::object{{"devices", json::array{kDevice}}}},
                                  {"command", json::object{{"argv", json::array{"true"}}}}});
    ASSERT_EQ(made.status, 201) << made.raw.body;
    task_ = std::string(made.body.at("id").as_string());
  }

  std::string task_;
};

TEST_F(TaskRoutes, OutputOfADeviceNotInTheTaskIsNotFound) {
  const std::string base = "/api/v1/tasks/" + task_ + "/runs/";
  EXPECT_EQ(get(base + kDevice + "/output", super_).status, 200);
  auto other = get(base + kOther + "/output", super_);
  EXPECT_EQ(other.status, 404) << other.raw.body;
  EXPECT_EQ(get(base + "not-a-device/output", super_).status, 404);
}

TEST_F(TaskRoutes, ABadRunsCursorIsRefused) {
  const std::string runs = "/api/v1/tasks/" + task_ + "/runs?after=";
  EXPECT_EQ(get(runs + "0", super_).status, 200);
  for (const char* bad : {"-1", "x", "99999999999999999999", "1x", "%20"}) {
    auto r = get(runs + bad, super_);
    EXPECT_EQ(r.status, 400) << bad << ": " << r.raw.body;
  }
}

TEST_F(TaskRoutes, ACancelledTaskHasItsFinishedTime) {
  auto cancelled = post("/api/v1/tasks/" + task_ + "/cancel", super_, json::object{});
  ASSERT_LT(cancelled.status, 300) << cancelled.raw.body;
  auto task = get("/api/v1/tasks/" + task_, super_);
  ASSERT_EQ(task.status, 200);
  EXPECT_EQ(task.body.at("state"), "cancelled");
  EXPECT_TRUE(task.body.at("finished_at").is_string()) << json::serialize(task.body);
}

}  // namespace
}  // namespace hecs::control::api::test
