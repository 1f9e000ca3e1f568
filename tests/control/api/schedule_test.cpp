// Cron schedules in process (docs/tasks.md, "Schedules"): routes, and the scheduler's fires
// under a manual clock, with each policy for fires missed while the control plane was down.
#include "control/api/api_fixture.h"

namespace hecs::control::api::test {
namespace {
namespace json = boost::json;

class Schedules : public ApiFixture {
 protected:
  void SetUp() override {
    ApiFixture::SetUp();
    store::IngestItem hello;
    hello.kind = store::IngestItem::Kind::hello;
    hello.tenant_id = default_tenant_;
    hello.device_id = "6f1c1a52-2f47-4a8e-9b7e-00000000000a";
    hello.message_id = random_uuid();
    hello.ts = hello.received_at = clock_.now;
    hello.session = 1;
    hello.body = "{}";
    ASSERT_TRUE(devices_->ingest(std::span(&hello, 1)));
    device_ = hello.device_id;
    scheduler_.emplace(*schedules_, *tasks_, clock_, parse_task_request);
  }

  json::object schedule(const std::string& name, const std::string& cron,
                        const std::string& missed) {
    return json::object{
        {"name", name},
        {"cron", cron},
        {"timezone", "Europe/Paris"},
        {"missed", missed},
        {"max_catchup", 5},
        {"task", json::object{{"target", json::object{{"devices", json::array{device_}}}},
                              {"command", json::object{{"argv", json::array{"true"}}}}}}};
  }

  std::size_t tasks_of(const std::string& schedule_id) {
    auto list = get("/api/v1/tasks?limit=500", super_);
    std::size_t n = 0;
    for (const auto& t : list.body.at("items").as_array()) {
      n += t.as_object().contains("schedule_id") && t.at("schedule_id").as_string() == schedule_id
               ? 1
               : 0;
    }
    return n;
  }

  std::string device_;
  std::optional<tasks::Scheduler> scheduler_;
};

TEST_F(Schedules, AScheduleFiresItsTaskAtEachTimeAndOnlyThen) {
  clock_.now = 1'780'000'000'000;  // 2026-05-28T20:26:40Z
  auto made = post("/api/v1/schedules", super_, schedule("hourly", "0 * * * *", "skip"));
  ASSERT_EQ(made.status, 201) << made.raw.body;
  const std::string id(made.body.at("id").as_string());
  EXPECT_EQ(made.body.at("next_fire"), "2026-05-28T21:00:00.000Z");
  EXPECT_EQ(scheduler_->tick(), 0u);
  clock_.now = 1'780'001'900'000;  // 20:58:20: not yet
  EXPECT_EQ(scheduler_->tick(), 0u);
  clock_.now = 1'780'002'005'000;  // 21:00:05
  EXPECT_EQ(scheduler_->tick(), 1u);
  EXPECT_EQ(scheduler_->tick(), 0u);  // taken once
  EXPECT_EQ(tasks_of(id), 1u);
  // Listed by origin: the schedule's task is not an API one.
  auto by_origin = get("/api/v1/tasks?origin=schedule", super_);
  ASSERT_EQ(by_origin.body.at("items").as_array().size(), 1u);
  EXPECT_EQ(by_origin.body.at("items").as_array()[0].at("origin"), "schedule");
  EXPECT_TRUE(get("/api/v1/tasks?origin=api", super_).body.at("items").as_array().empty());
  auto after = get("/api/v1/schedules/" + id, super_);
  EXPECT_EQ(after.body.at("next_fire"), "2026-05-28T22:00:00.000Z");
  EXPECT_EQ(after.body.at("last_error"), "");
}

TEST_F(Schedules, MissedFiresFollowTheSchedulesPolicy) {
  clock_.now = 1'780'000'000'000;
  std::map<std::string, std::string> ids;
  for (const auto* policy : {"skip", "once", "all"}) {
    auto made = post("/api/v1/schedules", super_,
                     schedule(std::string("every-10-") + policy, "*/10 * * * *", policy));
    ASSERT_EQ(made.status, 201) << made.raw.body;
    ids[policy] = std::string(made.body.at("id").as_string());
  }
  // Down for 61 minutes: six or seven fire times passed.
  clock_.now += 61 * 60 * 1000;
  scheduler_->tick();
  EXPECT_EQ(tasks_of(ids["skip"]), 0u);  // none was on time
  EXPECT_EQ(tasks_of(ids["once"]), 1u);
  EXPECT_EQ(tasks_of(ids["all"]), 5u);  // max_catchup
  // Back to normal: each fires on its next time, 21:30 (5 s late).
  clock_.now = 1'780'000'000'000 + 3'805'000;
  scheduler_->tick();
  EXPECT_EQ(tasks_of(ids["skip"]), 1u);
  EXPECT_EQ(tasks_of(ids["once"]), 2u);
  EXPECT_EQ(tasks_of(ids["all"]), 6u);
}

TEST_F(Schedules, BadSchedulesAreRefusedAndADisabledOneNeverFires) {
  for (const auto& [cron, tz] :
       std::vector<std::pair<std::string, std::string>>{{"61 * * * *", "UTC"},
                                                        {"@reboot", "UTC"},
                                                        {"* * *", "UTC"},
                                                        {"0 0 30 2 *", "UTC"},
                                                        {"0 * * * *", "Mars/Olympus"}}) {
    auto body = schedule("bad", cron, "skip");
    body["timezone"] = tz;
    auto r = post("/api/v1/schedules", super_, body);
    EXPECT_EQ(r.status, 400) << cron << " " << tz << ": " << r.raw.body;
  }
  auto body = schedule("bad-target", "0 * * * *", "skip");
  body["task"].as_object()["target"] = json::object{{"group", "nope"}};
  EXPECT_EQ(post("/api/v1/schedules", super_, body).status, 400);
  EXPECT_TRUE(get("/api/v1/schedules", super_).body.at("items").as_array().empty());

  clock_.now = 1'780'000'000'000;
  auto made = post("/api/v1/schedules", super_, schedule("paused", "* * * * *", "skip"));
  ASSERT_EQ(made.status, 201);
  const std::string id(made.body.at("id").as_string());
  auto patched = call("PATCH", "/api/v1/schedules/" + id, super_, R"({"enabled":false})");
  ASSERT_EQ(patched.status, 200) << patched.raw.body;
  EXPECT_TRUE(patched.body.at("next_fire").is_null());
  clock_.now += 5 * 60 * 1000;
  EXPECT_EQ(scheduler_->tick(), 0u);
  EXPECT_EQ(tasks_of(id), 0u);
}

}  // namespace
}  // namespace hecs::control::api::test
