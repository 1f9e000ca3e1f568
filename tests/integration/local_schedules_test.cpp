// Local schedules end to end (issue 6, docs/tasks.md "Local schedules"): a real broker,
// hecs-control and agent. The schedule fires at a real minute boundary while the broker is
// down; the run is reported once the link is back, with its real times, and the control plane
// makes its task. Devices that claim runs that are not theirs are refused and counted.
#include <filesystem>
#include <fstream>
#include <thread>

#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "common/clock.h"
#include "proto/proto.h"
#include "support/hecs.h"
#include "support/mosquitto.h"

namespace hecs::test {
namespace {
using std::chrono::milliseconds;
using std::chrono::seconds;
namespace json = boost::json;

std::string read_all(const std::filesystem::path& file) {
  std::ifstream in(file);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

json::array local_tasks(const Control& control) {
  auto r = control.get("/api/v1/tasks?origin=local-schedule");
  return r.status == 200 ? r.json().at("items").as_array() : json::array();
}

// A result as a device would send it, published by an independent client (mosquitto_pub).
void publish_result(const Mosquitto& broker, const std::string& device, json::object body,
                    const TempDir& dir) {
  auto envelope = proto::make_envelope("result", SystemClock().now_ms(), std::move(body));
  const auto file = dir.path() / "payload";
  std::ofstream(file, std::ios::binary) << proto::serialize(envelope);
  const std::string cmd = "mosquitto_pub -h 127.0.0.1 -p " + std::to_string(broker.port()) +
                          " -q 1 -t '" + proto::up_topic(device, proto::UpKind::result) + "' -f " +
                          file.string();
  ASSERT_EQ(run_command(cmd), 0) << cmd;
}

TEST(LocalSchedules, AFireWhileOfflineIsRunOnceAndReportedWithItsRealTimes) {
  TempDir scratch("local-schedules");
  const auto runs = scratch.path() / "runs";
  const auto file = scratch.path() / "schedules.yaml";
  std::ofstream(file) << "schedules:\n  - name: minutely\n    cron: '* * * * *'\n"
                         "    task:\n      command: {argv: [/bin/sh, -c, 'echo ran >> "
                      << runs.string() << "; echo ran']}\n";
  auto broker = Mosquitto::start();
  auto control = Control::start(broker->url());
  // The next minute boundary with time enough to be online first and offline at the fire.
  // The agent must start after the minute boundary before `fire`, or it fires there first.
  const auto now = SystemClock().now_ms();
  auto fire = (now / 60000 + 1) * 60000;
  if (fire - now < 15000) {  // room for a slow start on a loaded machine
    std::this_thread::sleep_until(std::chrono::system_clock::time_point(milliseconds(fire + 200)));
    fire += 60000;
  }
  auto agent = Agent::start(*control, 30, 5, {"--schedules-file", file.string()});
  ASSERT_TRUE(wait_until(
      [&] {
        auto d = control->device(agent->device_id());
        return d.is_object() && d.at("online").as_bool();
      },
      seconds(20)));
  ASSERT_LT(SystemClock().now_ms(), fire - 3000) << "the agent came online too late for the fire";
  std::this_thread::sleep_until(std::chrono::system_clock::time_point(milliseconds(fire - 3000)));
  broker->stop();
  ASSERT_TRUE(wait_until([&] { return read_all(runs) == "ran\n"; },
                         milliseconds(fire + 15000 - SystemClock().now_ms())))
      << "the schedule did not fire while offline";
  EXPECT_TRUE(local_tasks(*control).empty()) << "reported although the broker was down";
  broker->restart();

  json::array tasks;
  ASSERT_TRUE(wait_until(
      [&] {
        tasks = local_tasks(*control);
        return tasks.size() == 1 && tasks[0].at("state").as_string() == "finished";
      },
      seconds(30)))
      << json::serialize(tasks);
  const auto& task = tasks[0].as_object();
  const std::string id(task.at("id").as_string());
  EXPECT_EQ(id, proto::local_task_id(agent->device_id(), "minutely", fire));
  EXPECT_EQ(task.at("origin").as_string(), "local-schedule");
  EXPECT_EQ(task.at("created_at").as_string(), format_rfc3339_ms(fire));
  EXPECT_EQ(task.at("created_by").as_string(), "local-schedule:minutely");
  EXPECT_EQ(task.at("spec").at("local_schedule").at("fire_at").as_int64(), fire);
  auto run_list = control->get("/api/v1/tasks/" + id + "/runs").json().at("items").as_array();
  ASSERT_EQ(run_list.size(), 1u);
  const auto& run = run_list[0];
  EXPECT_EQ(run.at("device").as_string(), agent->device_id());
  EXPECT_EQ(run.at("state").as_string(), "succeeded");
  // The real start: at the fire time, while the broker was down, not when it came back.
  const std::string started(run.at("started_at").as_string());
  EXPECT_GE(started, format_rfc3339_ms(fire));
  EXPECT_LT(started, format_rfc3339_ms(fire + 10000));  // its own time, not the report's
  EXPECT_EQ(
      control->get("/api/v1/tasks/" + id + "/runs/" + agent->device_id() + "/output?stream=stdout")
          .body,
      "ran\n");
  EXPECT_EQ(control->get("/api/v1/tasks?origin=api").json().at("items").as_array().size(), 0u);
  EXPECT_EQ(read_all(runs), "ran\n");
  EXPECT_EQ(control->metric("hecs_task_local_created_total"), 1u);
}

TEST(LocalSchedules, ADeviceCannotClaimOrCreateTasksThatAreNotItsOwn) {
  TempDir scratch("local-attack");
  auto broker = Mosquitto::start();
  auto control = Control::start(broker->url());
  auto agent = Agent::start(*control, 30, 5);
  auto other = Agent::start(*control, 30, 5);
  ASSERT_TRUE(wait_until(
      [&] {
        return control->device(agent->device_id()).is_object() &&
               control->device(other->device_id()).is_object();
      },
      seconds(20)));
  const std::string dev = agent->device_id();
  auto created =
      control->call("POST", "/api/v1/tasks",
                    R"({"target":{"devices":[")" + dev + R"("]},"command":{"argv":["true"]}})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string task(created.json().at("id").as_string());
  ASSERT_TRUE(wait_until(
      [&] {
        return control->get("/api/v1/tasks/" + task).json().at("state").as_string() == "finished";
      },
      seconds(30)));
  const auto fire = SystemClock().now_ms() / 60000 * 60000;
  auto local = [&](const std::string& name) {
    return json::object{{"schedule", name},
                        {"fire_at", fire},
                        {"cron", "* * * * *"},
                        {"timezone", "UTC"},
                        {"command", "argv: true"}};
  };
  auto failed = [](const std::string& id, json::object claim) {
    json::object body{{"task", id}, {"state", "failed"}, {"error", "forged"}};
    if (!claim.empty()) {
      body["local"] = std::move(claim);
    }
    return body;
  };
  // Another device reports on this device's task: no run of its own, ignored.
  publish_result(*broker, other->device_id(), failed(task, {}), scratch);
  // This device claims the control plane's task is a local run of its own.
  publish_result(*broker, dev, failed(task, local("evil")), scratch);
  // Another device names a fire of this device's schedule.
  publish_result(*broker, other->device_id(),
                 failed(proto::local_task_id(dev, "evil", fire), local("evil")), scratch);
  // A device the control plane has never seen, with a well-derived id of its own.
  const auto stranger = random_uuid();
  publish_result(*broker, stranger,
                 failed(proto::local_task_id(stranger, "evil", fire), local("evil")), scratch);
  ASSERT_TRUE(wait_until([&] { return control->metric("hecs_task_local_refused_total") >= 3; },
                         seconds(15)))
      << control->metric("hecs_task_local_refused_total");
  EXPECT_TRUE(wait_until([&] { return control->metric("hecs_task_results_ignored_total") >= 2; },
                         seconds(5)));
  EXPECT_TRUE(local_tasks(*control).empty());
  auto runs = control->get("/api/v1/tasks/" + task + "/runs").json().at("items").as_array();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].at("device").as_string(), dev);
  EXPECT_EQ(runs[0].at("state").as_string(), "succeeded");
  EXPECT_EQ(control->get("/api/v1/tasks/" + task).json().at("origin").as_string(), "api");
  EXPECT_EQ(control->get("/api/v1/tasks?origin=bogus").status, 400);
}

}  // namespace
}  // namespace hecs::test
