// Remote tasks end to end (issue 6, docs/tasks.md): a real broker, hecs-control and agents.
#include <csignal>
#include <fstream>
#include <thread>

#include <boost/json/serialize.hpp>
#include <dirent.h>
#include <gtest/gtest.h>

#include "common/clock.h"
#include "support/hecs.h"
#include "support/mosquitto.h"

namespace hecs::test {
namespace {
using std::chrono::milliseconds;
using std::chrono::seconds;
namespace json = boost::json;

std::string task_body(const std::vector<std::string>& devices, const json::object& command,
                      const json::object& extra = {}) {
  json::array ids;
  for (const auto& d : devices) {
    ids.emplace_back(d);
  }
  json::object o{{"target", json::object{{"devices", ids}}}, {"command", command}};
  for (const auto& [k, v] : extra) {
    o[k] = v;
  }
  return json::serialize(o);
}

json::object argv(std::initializer_list<std::string_view> args) {
  json::array a;
  for (auto s : args) {
    a.emplace_back(s);
  }
  return json::object{{"argv", a}};
}

json::value run_of(const Control& control, const std::string& task, const std::string& device) {
  auto r = control.get("/api/v1/tasks/" + task + "/runs?device=" + device);
  if (r.status != 200) {
    return nullptr;
  }
  auto items = r.json().at("items").as_array();
  return items.empty() ? json::value(nullptr) : items[0];
}

std::string state_of(const Control& control, const std::string& task, const std::string& device) {
  auto run = run_of(control, task, device);
  return run.is_object() ? std::string(run.at("state").as_string()) : "";
}

bool is_final(const std::string& state) {
  return !state.empty() && state != "queued" && state != "sent" && state != "running";
}

std::string wait_final(const Control& control, const std::string& task, const std::string& device,
                       seconds limit = seconds(30)) {
  std::string state;
  wait_until(
      [&] {
        state = state_of(control, task, device);
        return is_final(state);
      },
      limit);
  return state;
}

std::string output_of(const Control& control, const std::string& task, const std::string& device,
                      const std::string& stream = "stdout") {
  return control.get("/api/v1/tasks/" + task + "/runs/" + device + "/output?stream=" + stream).body;
}

// Pids of processes whose command line contains `marker`.
std::vector<int> processes_with(const std::string& marker) {
  std::vector<int> out;
  DIR* dir = opendir("/proc");
  while (dir != nullptr) {
    auto* entry = readdir(dir);
    if (entry == nullptr) {
      break;
    }
    const int pid = std::atoi(entry->d_name);
    if (pid <= 0 || pid == getpid()) {
      continue;
    }
    std::ifstream in(std::string("/proc/") + entry->d_name + "/cmdline", std::ios::binary);
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmdline.find(marker) != std::string::npos) {
      out.push_back(pid);
    }
  }
  if (dir != nullptr) {
    closedir(dir);
  }
  return out;
}

class Tasks : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = Mosquitto::start();
    control_ = Control::start(broker_->url(), {}, {"--task-resend-seconds", "1"});
    agent_ = Agent::start(*control_, 30, 5, {"--task-kill-grace", "1"});
    ASSERT_TRUE(
        wait_until([&] { return control_->device(agent_->device_id()).is_object(); }, seconds(20)));
  }

  std::string create(const std::string& body, int expect = 201) {
    auto r = control_->call("POST", "/api/v1/tasks", body);
    EXPECT_EQ(r.status, expect) << r.body;
    if (r.status != 201) {
      return "";
    }
    return std::string(r.json().at("id").as_string());
  }

  std::unique_ptr<Mosquitto> broker_;
  std::unique_ptr<Control> control_;
  std::unique_ptr<Agent> agent_;
  TempDir scratch_{"tasks"};
};

TEST_F(Tasks, ArgvWithShellMetacharactersIsPassedLiterally) {
  const auto id = create(task_body({agent_->device_id()},
                                   argv({"/bin/echo", "$(id)", "; rm -rf /", "*", "'\"", "`x`"})));
  ASSERT_EQ(wait_final(*control_, id, agent_->device_id()), "succeeded");
  EXPECT_EQ(output_of(*control_, id, agent_->device_id()), "$(id) ; rm -rf / * '\" `x`\n");
  auto run = run_of(*control_, id, agent_->device_id());
  EXPECT_EQ(run.at("exit_code").as_int64(), 0);
  auto task = control_->get("/api/v1/tasks/" + id).json();
  EXPECT_EQ(task.at("state").as_string(), "finished") << json::serialize(task);
  EXPECT_EQ(task.at("counts").at("succeeded").as_int64(), 1);
}

TEST_F(Tasks, ExitCodeStderrAndAScriptWithItsInterpreter) {
  const auto id = create(task_body(
      {agent_->device_id()},
      json::object{{"script", "echo out; echo err >&2; exit 3"}, {"interpreter", "/bin/sh"}}));
  ASSERT_EQ(wait_final(*control_, id, agent_->device_id()), "failed");
  EXPECT_EQ(run_of(*control_, id, agent_->device_id()).at("exit_code").as_int64(), 3);
  EXPECT_EQ(output_of(*control_, id, agent_->device_id()), "out\n");
  EXPECT_EQ(output_of(*control_, id, agent_->device_id(), "stderr"), "err\n");
}

TEST_F(Tasks, ATimeoutKillsTheWholeTreeIncludingADoubleForkedDaemon) {
  const std::string marker = "hecs-task-marker-" + random_uuid();
  // The daemon ignores SIGTERM and leaves the process group and session.
  const std::string script = "trap '' TERM; (setsid sh -c \"trap '' TERM; sleep 1000; : " + marker +
                             "\" &) ; sleep 1000; : " + marker;
  const auto id = create(task_body({agent_->device_id()}, argv({"/bin/sh", "-c", script}),
                                   json::object{{"timeout_s", 2}}));
  ASSERT_TRUE(wait_until([&] { return processes_with(marker).size() >= 2; }, seconds(15)))
      << "the task's processes never started";
  ASSERT_EQ(wait_final(*control_, id, agent_->device_id()), "timed_out");
  EXPECT_TRUE(wait_until([&] { return processes_with(marker).empty(); }, seconds(5)))
      << processes_with(marker).size() << " processes survived the run";
}

TEST_F(Tasks, HundredMegabytesOfOutputAreCappedWithAMarker) {
  const auto id =
      create(task_body({agent_->device_id()}, argv({"head", "-c", "100000000", "/dev/zero"}),
                       json::object{{"output_cap_bytes", 65536}}));
  ASSERT_EQ(wait_final(*control_, id, agent_->device_id(), seconds(60)), "succeeded");
  auto run = run_of(*control_, id, agent_->device_id());
  EXPECT_EQ(run.at("stdout_bytes").as_int64(), 100000000);
  EXPECT_TRUE(run.at("truncated").as_bool());
  auto text = output_of(*control_, id, agent_->device_id());
  EXPECT_LT(text.size(), 65536u + 200u);
  EXPECT_GE(text.size(), 65536u);
  EXPECT_NE(text.find("[hecs: output truncated after"), std::string::npos);
}

TEST_F(Tasks, ResultsSurviveABrokerOutageAndArriveOnce) {
  const auto file = scratch_.path() / "runs.txt";
  const auto id = create(
      task_body({agent_->device_id()},
                argv({"/bin/sh", "-c", "echo ran >> " + file.string() + "; sleep 3; echo done"})));
  ASSERT_TRUE(wait_until([&] { return state_of(*control_, id, agent_->device_id()) == "running"; },
                         seconds(15)));
  broker_->stop();
  std::this_thread::sleep_for(seconds(5));  // the task ends while the link is down
  broker_->restart();
  ASSERT_EQ(wait_final(*control_, id, agent_->device_id(), seconds(60)), "succeeded");
  EXPECT_EQ(output_of(*control_, id, agent_->device_id()), "done\n");
  std::ifstream in(file);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(all, "ran\n");
}

TEST_F(Tasks, ACommandDeliveredManyTimesRunsOnce) {
  const auto file = scratch_.path() / "runs.txt";
  // Stopped, the agent cannot report: the control plane sends the task again every second.
  agent_->kill(SIGSTOP);
  const auto id = create(
      task_body({agent_->device_id()}, argv({"/bin/sh", "-c", "echo ran >> " + file.string()})));
  std::this_thread::sleep_for(seconds(4));
  agent_->kill(SIGCONT);
  ASSERT_EQ(wait_final(*control_, id, agent_->device_id(), seconds(60)), "succeeded");
  std::this_thread::sleep_for(seconds(2));  // copies still queued in the broker arrive
  std::ifstream in(file);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(all, "ran\n");
  EXPECT_GE(control_->metric("hecs_task_commands_sent_total"), 2u);
}

TEST_F(Tasks, AnAgentKilledMidTaskReportsInterruptedAndNeverRerunsIt) {
  const auto file = scratch_.path() / "runs.txt";
  const auto id =
      create(task_body({agent_->device_id()},
                       argv({"/bin/sh", "-c", "echo ran >> " + file.string() + "; sleep 30"})));
  ASSERT_TRUE(wait_until([&] { return state_of(*control_, id, agent_->device_id()) == "running"; },
                         seconds(15)));
  agent_->kill(SIGKILL);
  agent_->restart();
  ASSERT_EQ(wait_final(*control_, id, agent_->device_id()), "interrupted");
  std::this_thread::sleep_for(seconds(2));
  std::ifstream in(file);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(all, "ran\n");
}

TEST_F(Tasks, CancelKillsARunningTask) {
  const auto id = create(task_body({agent_->device_id()}, argv({"sleep", "60"})));
  ASSERT_TRUE(wait_until([&] { return state_of(*control_, id, agent_->device_id()) == "running"; },
                         seconds(15)));
  auto r = control_->call("POST", "/api/v1/tasks/" + id + "/cancel");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(wait_final(*control_, id, agent_->device_id()), "cancelled");
  EXPECT_EQ(control_->get("/api/v1/tasks/" + id).json().at("state").as_string(), "cancelled");
}

TEST_F(Tasks, InvalidSpecsAreRefusedAndCreateNothing) {
  const std::string dev = agent_->device_id();
  const std::vector<std::string> bodies = {
      task_body({dev}, argv({})),
      task_body({dev}, argv({"true"}), json::object{{"timeout_s", -1}}),
      task_body({dev}, argv({"true"}), json::object{{"user", "no-such-user-here"}}),
      task_body({dev}, argv({"true"}), json::object{{"cwd", "/tmp/../etc"}}),
      task_body({dev}, argv({"true"}), json::object{{"cwd", "relative"}}),
      task_body({dev}, json::object{{"builtin", "format-disk"}}),
      R"({"target":{"group":"no-such-group"},"command":{"argv":["true"]}})",
      R"({"target":{"selector":"role in (a"},"command":{"argv":["true"]}})",
      R"({"target":{"selector":""},"command":{"argv":["true"]}})",
      R"({"target":{"devices":["00000000-0000-4000-8000-000000000000"]},"command":{"argv":["true"]}})",
      R"({"target":{},"command":{"argv":["true"]}})",
      R"({"target":{"devices":[")" + dev + R"("]},"command":{"argv":["true"]},"tenant_id":"x"})",
  };
  for (const auto& body : bodies) {
    auto r = control_->call("POST", "/api/v1/tasks", body);
    EXPECT_EQ(r.status, 400) << body << "\n" << r.body;
    EXPECT_NE(r.body.find("\"code\""), std::string::npos) << r.body;
  }
  auto list = control_->get("/api/v1/tasks").json();
  EXPECT_TRUE(list.at("items").as_array().empty()) << json::serialize(list);
}

TEST_F(Tasks, SelectorsAndTagsPickDevices) {
  auto r = control_->call("PUT", "/api/v1/devices/" + agent_->device_id() + "/tags",
                          R"({"tags":["role=gateway","site=haguenau"]})");
  ASSERT_EQ(r.status, 200) << r.body;
  r = control_->call("PUT", "/api/v1/devices/" + agent_->device_id() + "/tags",
                     R"({"tags":["bad tag!"]})");
  EXPECT_EQ(r.status, 400) << r.body;
  const auto id = create(
      R"({"target":{"selector":"role=gateway,site in (haguenau,strasbourg),env!=lab"},"command":{"argv":["true"]}})");
  EXPECT_EQ(wait_final(*control_, id, agent_->device_id()), "succeeded");
  create(R"({"target":{"selector":"role=sensor"},"command":{"argv":["true"]}})", 400);
}

}  // namespace
}  // namespace hecs::test
