// Task routes in process: answers for a device not in the task, bad cursors, finished_at of a
// cancelled task, state lists, output offsets, target previews and the confirmation code
// (docs/tasks.md, "Routes").
#include <fmt/format.h>

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
    add_devices({kDevice, kOther});
    auto made = post("/api/v1/tasks", super_,
                     json::object{{"target", json::object{{"devices", json::array{kDevice}}}},
                                  {"command", json::object{{"argv", json::array{"true"}}}}});
    ASSERT_EQ(made.status, 201) << made.raw.body;
    task_ = std::string(made.body.at("id").as_string());
  }

  void add_devices(const std::vector<std::string>& ids) {
    std::vector<store::IngestItem> hellos;
    for (const auto& id : ids) {
      store::IngestItem hello;
      hello.kind = store::IngestItem::Kind::hello;
      hello.tenant_id = default_tenant_;
      hello.device_id = id;
      hello.message_id = random_uuid();
      hello.ts = hello.received_at = clock_.now;
      hello.session = 1;
      hello.hostname = "host-" + id.substr(id.size() - 4);
      hello.body = "{}";
      hellos.push_back(std::move(hello));
    }
    ASSERT_TRUE(devices_->ingest(hellos));
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

TEST_F(TaskRoutes, StateFiltersTakeSeveralKnownStatesAndRefuseOthers) {
  const std::string runs = "/api/v1/tasks/" + task_ + "/runs?state=";
  auto some = get(runs + "queued,sent,running", super_);
  ASSERT_EQ(some.status, 200) << some.raw.body;
  EXPECT_EQ(some.body.at("items").as_array().size(), 1U);
  EXPECT_TRUE(get(runs + "failed,expired", super_).body.at("items").as_array().empty());
  for (const char* bad : {"bogus", "failed,", "failed,bogus", "failed%27"}) {
    auto r = get(runs + bad, super_);
    EXPECT_EQ(r.status, 400) << bad << ": " << r.raw.body;
  }
  auto tasks = get("/api/v1/tasks?state=running,finished", super_);
  ASSERT_EQ(tasks.status, 200) << tasks.raw.body;
  ASSERT_EQ(tasks.body.at("items").as_array().size(), 1U);
  // The list carries each task's counts, read for the whole page at once.
  EXPECT_EQ(tasks.body.at("items").at(0).at("counts").at("queued").as_int64() +
                tasks.body.at("items").at(0).at("counts").at("sent").as_int64(),
            1);
  EXPECT_EQ(get("/api/v1/tasks?state=queued", super_).status, 400);  // a run state, not a task's
}

// JSON lets a device send "\u0000"; PostgreSQL text cannot hold it and would cut the value
// there, so the service stores U+2400 instead, as hecs-agent itself sends it.
TEST_F(TaskRoutes, NulInAResultsOutputAndErrorIsStoredAsTheSymbolForNull) {
  auto message = [&](json::object body) {
    body["task"] = task_;
    return json::serialize(json::object{{"v", 1},
                                        {"id", random_uuid()},
                                        {"type", "result"},
                                        {"ts", clock_.now},
                                        {"body", std::move(body)}});
  };
  tasks_->on_result(kDevice,
                    message({{"output", json::object{{"stream", "stdout"},
                                                     {"offset", 0},
                                                     {"data", std::string("A=1\0B=2", 7)}}}}));
  tasks_->on_result(kDevice, message({{"state", "failed"},
                                      {"started_at", clock_.now},
                                      {"ended_at", clock_.now + 1},
                                      {"exit_code", 1},
                                      {"error", std::string("bad\0", 4)}}));
  tasks_->stop();  // writes what is queued
  auto out = get("/api/v1/tasks/" + task_ + "/runs/" + kDevice + "/output", super_);
  ASSERT_EQ(out.status, 200) << out.raw.body;
  EXPECT_NE(out.raw.body.find("A=1\xE2\x90\x80"
                              "B=2"),
            std::string::npos)
      << out.raw.body;
  auto runs = get("/api/v1/tasks/" + task_ + "/runs?device=" + kDevice, super_);
  ASSERT_EQ(runs.status, 200) << runs.raw.body;
  const auto& run = runs.body.at("items").at(0);
  EXPECT_EQ(run.at("state").as_string(), "failed") << runs.raw.body;
  EXPECT_EQ(run.at("error").as_string(), "bad\xE2\x90\x80") << runs.raw.body;
}

TEST_F(TaskRoutes, OutputIsReadFromAByteOffsetAndSaysWhereToGoOn) {
  std::vector<store::ResultItem> pieces;
  for (auto [pos, data] : {std::pair{0, "hello "}, std::pair{6, "wide "}, std::pair{11, "world"}}) {
    store::ResultItem item;
    item.device_id = kDevice;
    item.message_id = random_uuid();
    item.task_id = task_;
    item.pos = pos;
    item.data = data;
    pieces.push_back(std::move(item));
  }
  ASSERT_TRUE(task_store_->apply(pieces, clock_.now));
  const std::string out = "/api/v1/tasks/" + task_ + "/runs/" + kDevice + "/output?offset=";
  for (auto [offset, text] : {std::pair{"0", "hello wide world"}, std::pair{"8", "de world"},
                              std::pair{"16", ""}, std::pair{"99", ""}}) {
    auto r = get(out + offset, super_);
    ASSERT_EQ(r.status, 200) << r.raw.body;
    EXPECT_EQ(r.raw.body, text) << offset;
    EXPECT_EQ(r.header("X-Next-Offset"), std::string(offset) == "99" ? "99" : "16") << offset;
  }
  for (const char* bad : {"-1", "x", "1.5"}) {
    EXPECT_EQ(get(out + bad, super_).status, 400) << bad;
  }
}

TEST_F(TaskRoutes, ATargetPreviewCountsAndNamesTheDevicesOfTheCallersTenant) {
  auto viewer = make_key(super_, "viewer");
  auto r = get(std::string("/api/v1/targets?devices=") + kDevice + "," + kOther, viewer);
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(r.body.at("count"), 2);
  EXPECT_EQ(r.body.at("confirm_required"), false);
  ASSERT_EQ(r.body.at("devices").as_array().size(), 2U);
  EXPECT_EQ(r.body.at("devices").at(0).at("hostname"), "host-000b");
  EXPECT_EQ(get("/api/v1/targets?selector=!nothing", viewer).body.at("count"), 2);
  for (const char* bad : {"", "?selector=a%3Db&group=g", "?selector=role%20in%20(a",
                          "?group=no-such-group", "?devices="}) {
    auto refused = get(std::string("/api/v1/targets") + bad, viewer);
    EXPECT_EQ(refused.status, 400) << bad << ": " << refused.raw.body;
  }
  // Another tenant's devices read as unknown ones.
  auto other = make_tenant("other");
  auto foreign = get(std::string("/api/v1/targets?devices=") + kDevice, other.viewer);
  EXPECT_EQ(foreign.status, 400) << foreign.raw.body;
  auto none = get("/api/v1/targets?selector=!nothing", other.viewer);
  ASSERT_EQ(none.status, 200) << none.raw.body;
  EXPECT_EQ(none.body.at("count"), 0);  // its tenant has no device
}

TEST_F(TaskRoutes, ALargeUnconfirmedTargetGetsItsOwnCodeWithTheCount) {
  std::vector<std::string> more;
  for (int i = 0; i < 60; ++i) {
    more.push_back(fmt::format("6f1c1a52-2f47-4a8e-9b7e-{:012}", 1000 + i));
  }
  add_devices(more);
  json::object body{{"target", json::object{{"selector", "!nothing"}}},
                    {"command", json::object{{"argv", json::array{"true"}}}}};
  auto refused = post("/api/v1/tasks", super_, body);
  ASSERT_EQ(refused.status, 400) << refused.raw.body;
  EXPECT_EQ(refused.body.at("code"), "confirmation_required");
  EXPECT_EQ(refused.body.at("devices"), 62);
  EXPECT_EQ(refused.body.at("confirm_above"), 50);
  EXPECT_EQ(get("/api/v1/tasks", super_).body.at("items").as_array().size(), 1U);  // no new task
  auto preview = get("/api/v1/targets?selector=!nothing", super_);
  EXPECT_EQ(preview.body.at("confirm_required"), true);
  EXPECT_EQ(preview.body.at("devices").as_array().size(), 20U);
  body["confirm"] = true;
  EXPECT_EQ(post("/api/v1/tasks", super_, body).status, 201);
}

}  // namespace
}  // namespace hecs::control::api::test
