// hecs-sim's task results against a real broker and hecs-control (issue 6, point 9): simulated
// agents verify each "task" command with the control plane's keys and answer on up/result as
// hecs-agent does (docs/tasks.md "Agent side").
#include <csignal>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "common/crypto/crypto.h"
#include "sim/sim.h"
#include "support/hecs.h"
#include "support/mosquitto.h"

namespace hecs::test {
namespace {
using std::chrono::seconds;
namespace json = boost::json;

// A counter of hecs-sim's summary line ("tasks_started=12"), -1 when absent.
long long summary_field(const std::string& log, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(log, m, std::regex("hecs-sim summary:.* " + name + "=([0-9]+)"))) {
    return -1;
  }
  return std::stoll(m[1].str());
}

long long online_devices(const Control& control) {
  auto page = control.get("/api/v1/devices?limit=1&online=true").json();
  return page.is_object() ? page.at("total").to_number<long long>() : -1;
}

// A fleet of `count` simulated agents holding `control`'s command keys (or those of `keys_file`),
// on `control`'s broker; `extra` flags after.
class Fleet {
 public:
  Fleet(const Control& control, int count, std::uint64_t seed, std::vector<std::string> extra,
        const std::string& keys_file = {})
      : count_(count), seed_(seed) {
    std::vector<std::string> args = {(bin_dir() / "hecs-sim").string(),
                                     "--count",
                                     std::to_string(count),
                                     "--seed",
                                     std::to_string(seed),
                                     "--interval",
                                     "30",
                                     "--ramp",
                                     "2000",
                                     "--mqtt-url",
                                     control.mqtt_url()};
    auto keys = command_keys_args(control);
    if (!keys_file.empty()) {
      keys.back() = keys_file;
    }
    args.insert(args.end(), keys.begin(), keys.end());
    args.insert(args.end(), extra.begin(), extra.end());
    process_ = Process::spawn(args, dir_.path() / "sim.log");
  }

  std::vector<std::string> ids() const {
    std::vector<std::string> out;
    out.reserve(static_cast<std::size_t>(count_));
    for (int i = 0; i < count_; ++i) {
      out.push_back(sim::device_id(seed_, static_cast<std::size_t>(i)));
    }
    return out;
  }
  Process& process() { return *process_; }
  // Stops the fleet cleanly and returns its log, summary included.
  std::string stop() {
    process_->signal(SIGTERM);
    EXPECT_EQ(process_->wait(seconds(20)), 0) << process_->log_text();
    return process_->log_text();
  }

 private:
  int count_;
  std::uint64_t seed_;
  TempDir dir_{"sim-tasks"};
  std::unique_ptr<Process> process_;
};

class SimTasks : public ::testing::Test {
 protected:
  void start(const std::vector<std::string>& control_extra = {}) {
    broker_ = Mosquitto::start();
    control_ = Control::start(broker_->url(), {}, control_extra);
  }

  // Waits until the control plane sees the whole fleet online.
  void await_online(Fleet& fleet, long long count) {
    ASSERT_TRUE(wait_until([&] { return online_devices(*control_) == count; }, seconds(30)))
        << online_devices(*control_) << " of " << count << " online\n"
        << fleet.process().log_text();
  }

  std::string create(const json::object& body) {
    auto r = control_->call("POST", "/api/v1/tasks", json::serialize(body));
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? std::string(r.json().at("id").as_string()) : std::string();
  }

  json::object task(const std::string& id) const {
    auto v = control_->get("/api/v1/tasks/" + id).json();
    return v.is_object() ? v.as_object() : json::object();
  }

  long long count(const std::string& id, const char* state) const {
    auto t = task(id);
    return t.contains("counts") ? t.at("counts").at(state).to_number<long long>() : -1;
  }

  // Every run of the task, all pages.
  std::vector<json::object> runs(const std::string& id) const {
    std::vector<json::object> out;
    std::string after;
    for (;;) {
      auto page = control_
                      ->get("/api/v1/tasks/" + id + "/runs?limit=500" +
                            (after.empty() ? "" : "&after=" + after))
                      .json();
      if (!page.is_object()) {
        break;
      }
      for (const auto& r : page.at("items").as_array()) {
        out.push_back(r.as_object());
      }
      if (page.at("next").is_null()) {
        break;
      }
      after = std::string(page.at("next").as_string());
    }
    return out;
  }

  bool all_final(const std::string& id) const {
    return count(id, "queued") == 0 && count(id, "sent") == 0 && count(id, "running") == 0;
  }

  std::unique_ptr<Mosquitto> broker_;
  std::unique_ptr<Control> control_;
};

json::object uname() { return json::object{{"argv", json::array{"uname", "-a"}}}; }

TEST_F(SimTasks, TwoHundredAgentsPickedBySelectorEachRunTheTaskOnceAndSucceed) {
  start();
  Fleet fleet(*control_, 200, 61, {"--task-latency-ms", "200", "--task-output", "150"});
  await_online(fleet, 200);
  for (const auto& id : fleet.ids()) {
    auto r = control_->call("PUT", "/api/v1/devices/" + id + "/tags",
                            R"({"tags":["fleet=sim","site=lab-1"]})");
    ASSERT_EQ(r.status, 200) << r.body;
  }
  const auto id = create(json::object{{"target", json::object{{"selector", "fleet=sim"}}},
                                      {"command", uname()},
                                      {"confirm", true}});
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(wait_until([&] { return count(id, "succeeded") == 200; }, seconds(60)))
      << json::serialize(task(id)) << "\n"
      << fleet.process().log_text();
  EXPECT_TRUE(
      wait_until([&] { return task(id).at("state").as_string() == "finished"; }, seconds(10)))
      << json::serialize(task(id));
  const auto all = runs(id);
  ASSERT_EQ(all.size(), 200u);
  std::set<std::string> devices;
  for (const auto& r : all) {
    devices.emplace(r.at("device").as_string());
    EXPECT_EQ(r.at("state").as_string(), "succeeded");
    EXPECT_EQ(r.at("exit_code").as_int64(), 0);
    EXPECT_EQ(r.at("stdout_bytes").as_int64(), 150);
    EXPECT_FALSE(r.at("truncated").as_bool());
    for (const char* at : {"sent_at", "started_at", "ended_at"}) {
      EXPECT_TRUE(r.at(at).is_string()) << at << " of " << json::serialize(r);
    }
  }
  const auto ids = fleet.ids();
  EXPECT_EQ(devices, std::set<std::string>(ids.begin(), ids.end()));
  const auto output =
      control_->get("/api/v1/tasks/" + id + "/runs/" + ids.front() + "/output?stream=stdout").body;
  EXPECT_EQ(output.size(), 150u) << output;
  EXPECT_EQ(output.rfind("Linux sim-00000 ", 0), 0u) << output;

  // Every result is stored, acknowledged and dropped from the agents' outboxes: none is left to
  // be sent again.
  // Each run: "running" (it lasts 200 ms, one output flush), then "succeeded" carrying its
  // output: two messages, three stored items.
  EXPECT_TRUE(wait_until([&] { return control_->metric("hecs_task_results_stored_total") >= 600u; },
                         seconds(10)));
  std::this_thread::sleep_for(seconds(1));
  const auto log = fleet.stop();
  EXPECT_EQ(summary_field(log, "tasks_started"), 200) << log;
  EXPECT_EQ(summary_field(log, "tasks_succeeded"), 200) << log;
  EXPECT_EQ(summary_field(log, "tasks_failed"), 0) << log;
  EXPECT_EQ(summary_field(log, "commands_rejected"), 0) << log;
  EXPECT_EQ(summary_field(log, "commands_unknown"), 0) << log;
  EXPECT_EQ(summary_field(log, "results_sent"), 400) << log;
  EXPECT_EQ(summary_field(log, "results_acked"), 400) << log;
  EXPECT_EQ(control_->metric("hecs_task_results_ignored_total"), 0u);
}

TEST_F(SimTasks, ACommandDeliveredManyTimesRunsOncePerAgent) {
  start({"--task-resend-seconds", "1"});
  Fleet fleet(*control_, 20, 62, {});
  await_online(fleet, 20);
  // Stopped, the agents cannot report: the control plane sends the task again every second.
  fleet.process().signal(SIGSTOP);
  json::array ids;
  for (const auto& d : fleet.ids()) {
    ids.emplace_back(d);
  }
  const auto id =
      create(json::object{{"target", json::object{{"devices", ids}}}, {"command", uname()}});
  std::this_thread::sleep_for(seconds(4));
  fleet.process().signal(SIGCONT);
  ASSERT_TRUE(wait_until([&] { return count(id, "succeeded") == 20; }, seconds(30)))
      << json::serialize(task(id));
  EXPECT_GE(control_->metric("hecs_task_commands_sent_total"), 40u);
  std::this_thread::sleep_for(seconds(2));  // copies still queued in the broker arrive
  const auto log = fleet.stop();
  EXPECT_EQ(summary_field(log, "tasks_started"), 20) << log;
  EXPECT_EQ(summary_field(log, "tasks_succeeded"), 20) << log;
  EXPECT_GT(summary_field(log, "tasks_duplicate"), 0) << log;
  EXPECT_EQ(summary_field(log, "commands_rejected"), 0) << log;
}

TEST_F(SimTasks, FailuresAbortTheTaskAndTheRunsNotSentAreCancelled) {
  start();
  Fleet fleet(*control_, 200, 63, {"--task-fail-percent", "100"});
  await_online(fleet, 200);
  json::array ids;
  for (const auto& d : fleet.ids()) {
    ids.emplace_back(d);
  }
  const auto id =
      create(json::object{{"target", json::object{{"devices", ids}}},
                          {"command", uname()},
                          {"rate", json::object{{"max_in_flight", 5}}},
                          {"abort", json::object{{"failure_percent", 10}, {"min_finished", 5}}},
                          {"confirm", true}});
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(
      wait_until([&] { return task(id).at("state").as_string() == "aborted"; }, seconds(30)))
      << json::serialize(task(id));
  ASSERT_TRUE(wait_until([&] { return all_final(id); }, seconds(30))) << json::serialize(task(id));
  long long failed = 0, cancelled_unsent = 0;
  for (const auto& r : runs(id)) {
    const auto state = r.at("state").as_string();
    if (state == "failed") {
      ++failed;
      EXPECT_EQ(r.at("exit_code").as_int64(), 1);
    } else {
      EXPECT_EQ(state, "cancelled") << json::serialize(r);
      EXPECT_TRUE(r.at("sent_at").is_null()) << json::serialize(r);
      cancelled_unsent += r.at("sent_at").is_null() ? 1 : 0;
    }
  }
  // At most a few runs per result batch go out before the fifth failure is stored.
  EXPECT_GE(failed, 5);
  EXPECT_LE(failed, 40);
  EXPECT_EQ(failed + cancelled_unsent, 200);
  EXPECT_EQ(count(id, "failed"), failed);
  const auto log = fleet.stop();
  EXPECT_EQ(summary_field(log, "tasks_started"), failed) << log;
  EXPECT_EQ(summary_field(log, "tasks_failed"), failed) << log;
  EXPECT_EQ(summary_field(log, "tasks_succeeded"), 0) << log;
}

TEST_F(SimTasks, ACancelledRunStillGoingReportsCancelled) {
  start();
  Fleet fleet(*control_, 20, 64, {"--task-latency-ms", "600000"});
  await_online(fleet, 20);
  json::array ids;
  for (const auto& d : fleet.ids()) {
    ids.emplace_back(d);
  }
  const auto id =
      create(json::object{{"target", json::object{{"devices", ids}}}, {"command", uname()}});
  ASSERT_TRUE(wait_until([&] { return count(id, "running") == 20; }, seconds(30)))
      << json::serialize(task(id));
  auto r = control_->call("POST", "/api/v1/tasks/" + id + "/cancel");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(wait_until([&] { return count(id, "cancelled") == 20; }, seconds(30)))
      << json::serialize(task(id));
  for (const auto& run : runs(id)) {
    EXPECT_TRUE(run.at("started_at").is_string()) << json::serialize(run);
    EXPECT_TRUE(run.at("ended_at").is_string()) << json::serialize(run);
  }
  EXPECT_EQ(task(id).at("state").as_string(), "cancelled");
  const auto log = fleet.stop();
  EXPECT_EQ(summary_field(log, "tasks_cancelled"), 20) << log;
  EXPECT_EQ(summary_field(log, "tasks_succeeded"), 0) << log;
}

// The attacker's case: commands signed with a key the agents do not hold are refused, and
// nothing runs.
TEST_F(SimTasks, AgentsHoldingOtherKeysRefuseTheTask) {
  start();
  TempDir dir("sim-keys");
  const auto other = dir.path() / "other-keys.json";
  std::ofstream(other) << json::serialize(json::object{
      {"keys", json::array{json::object{
                   {"kid", "other"},
                   {"public_key",
                    crypto::base64url_encode(crypto::Ed25519Key::generate().public_key())}}}}});
  Fleet fleet(*control_, 5, 65, {}, other.string());
  await_online(fleet, 5);
  json::array ids;
  for (const auto& d : fleet.ids()) {
    ids.emplace_back(d);
  }
  const auto id =
      create(json::object{{"target", json::object{{"devices", ids}}}, {"command", uname()}});
  ASSERT_TRUE(wait_until([&] { return count(id, "sent") == 5; }, seconds(10)))
      << json::serialize(task(id));
  std::this_thread::sleep_for(seconds(2));
  EXPECT_EQ(count(id, "sent"), 5) << json::serialize(task(id));
  const auto log = fleet.stop();
  EXPECT_EQ(summary_field(log, "tasks_started"), 0) << log;
  EXPECT_GE(summary_field(log, "commands_rejected"), 5) << log;
  EXPECT_NE(log.find("reason=unknown_key"), std::string::npos) << log;
}

}  // namespace
}  // namespace hecs::test
