// Remote tasks end to end (issue 6, docs/tasks.md): a real broker, hecs-control and agents.
#include <algorithm>
#include <csignal>
#include <filesystem>
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
  // The task ends on the dispatcher's next pass after its last run did.
  json::value task;
  EXPECT_TRUE(wait_until(
      [&] {
        task = control_->get("/api/v1/tasks/" + id).json();
        return task.at("state").as_string() == "finished";
      },
      seconds(5)))
      << json::serialize(task);
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
  // 65536 NUL bytes kept, each sent as U+2400 (3 bytes of text), then the marker.
  auto text = output_of(*control_, id, agent_->device_id());
  std::string symbols;
  for (int i = 0; i < 65536; ++i) {
    symbols += "\xE2\x90\x80";
  }
  ASSERT_GE(text.size(), symbols.size());
  EXPECT_EQ(text.substr(0, symbols.size()), symbols);
  EXPECT_LT(text.size(), symbols.size() + 200u);
  EXPECT_NE(text.find("[hecs: output truncated after", symbols.size()), std::string::npos);
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
  ASSERT_TRUE(wait_until([&] { return std::filesystem::exists(file); }, seconds(15)));
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
      task_body({dev}, json::object{{"builtin", "reboot"}}),
      task_body({dev}, json::object{{"builtin", "collect-logs"},
                                    {"args", json::object{{"units", json::array{"-f"}}}}}),
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

TEST_F(Tasks, EventsStreamRunsAndOutputLiveUntilTheEnd) {
  const auto id = create(task_body({agent_->device_id()},
                                   argv({"/bin/sh", "-c", "echo first; sleep 1; echo second"})));
  // Opened while the task runs; the server ends the stream once the run is final.
  auto r = control_->get("/api/v1/tasks/" + id + "/events");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "text/event-stream");
  const auto& text = r.body;
  EXPECT_NE(text.find("event: task\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\"state\":\"succeeded\""), std::string::npos) << text;
  const auto first = text.find("first\\n"), second = text.find("second\\n");
  ASSERT_NE(first, std::string::npos) << text;
  ASSERT_NE(second, std::string::npos) << text;
  EXPECT_LT(first, second);
  EXPECT_NE(text.rfind("event: end\n"), std::string::npos) << text;
  EXPECT_GT(text.rfind("event: end\n"), second) << text;
  // Another tenant's task, or none: 404, never a stream.
  EXPECT_EQ(control_->get("/api/v1/tasks/" + random_uuid() + "/events").status, 404);
}

TEST_F(Tasks, WorkingDirectoriesAreConfinedToTheAllowList) {  // S26
  // The agent of this fixture allows "/": a second one allows only the scratch dir.
  const auto allowed = scratch_.path() / "allowed";
  std::filesystem::create_directories(allowed / "sub");
  std::filesystem::create_symlink("/etc", allowed / "escape");
  auto confined = Agent::start(*control_, 30, 5, {"--task-cwd-allow", allowed.string()});
  ASSERT_TRUE(
      wait_until([&] { return control_->device(confined->device_id()).is_object(); }, seconds(20)));
  const auto dev = confined->device_id();
  auto in =
      create(task_body({dev}, argv({"pwd"}), json::object{{"cwd", (allowed / "sub").string()}}));
  EXPECT_EQ(wait_final(*control_, in, dev), "succeeded");
  EXPECT_EQ(output_of(*control_, in, dev), (allowed / "sub").string() + "\n");
  for (const auto& cwd :
       {std::string("/etc"), (allowed / "escape").string(), (allowed / "missing").string()}) {
    auto out = create(task_body({dev}, argv({"pwd"}), json::object{{"cwd", cwd}}));
    EXPECT_EQ(wait_final(*control_, out, dev), "failed") << cwd;
    auto run = run_of(*control_, out, dev);
    EXPECT_NE(std::string(run.at("error").as_string()).find("cwd"), std::string::npos)
        << json::serialize(run);
    EXPECT_EQ(output_of(*control_, out, dev), "") << cwd;
  }
}

class TaskFleet : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = Mosquitto::start();
    control_ = Control::start(broker_->url(), {}, {"--tasks-confirm-above", "2"});
    for (int i = 0; i < 3; ++i) {
      agents_.push_back(Agent::start(*control_, 30, 5));
      ids_.push_back(agents_.back()->device_id());
    }
    ASSERT_TRUE(wait_until(
        [&] {
          return std::all_of(ids_.begin(), ids_.end(), [&](const std::string& id) {
            return control_->device(id).is_object();
          });
        },
        seconds(30)));
  }
  std::unique_ptr<Mosquitto> broker_;
  std::unique_ptr<Control> control_;
  std::vector<std::unique_ptr<Agent>> agents_;
  std::vector<std::string> ids_;
};

TEST_F(TaskFleet, ALargeTargetNeedsAnExplicitConfirmation) {  // S39
  auto r = control_->call("POST", "/api/v1/tasks", task_body(ids_, argv({"true"})));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("confirm"), std::string::npos) << r.body;
  EXPECT_TRUE(control_->get("/api/v1/tasks").json().at("items").as_array().empty());
  r = control_->call("POST", "/api/v1/tasks",
                     task_body(ids_, argv({"true"}), json::object{{"confirm", true}}));
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id(r.json().at("id").as_string());
  for (const auto& dev : ids_) {
    EXPECT_EQ(wait_final(*control_, id, dev), "succeeded");
  }
  auto page = control_->get("/api/v1/tasks?limit=501");
  EXPECT_EQ(page.status, 400) << page.body;  // S39: page sizes are capped
}

TEST_F(TaskFleet, AbortCriteriaStopDispatch) {
  auto r = control_->call(
      "POST", "/api/v1/tasks",
      task_body(
          ids_, argv({"false"}),
          json::object{{"confirm", true},
                       {"rate", json::object{{"max_in_flight", 1}}},
                       {"abort", json::object{{"failure_percent", 0}, {"min_finished", 1}}}}));
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id(r.json().at("id").as_string());
  json::value task;
  ASSERT_TRUE(wait_until(
      [&] {
        task = control_->get("/api/v1/tasks/" + id).json();
        return task.at("state") == "aborted";
      },
      seconds(30)))
      << json::serialize(task);
  // One ran and failed; the others were never sent.
  EXPECT_EQ(task.at("counts").at("failed").as_int64(), 1) << json::serialize(task);
  EXPECT_EQ(task.at("counts").at("cancelled").as_int64(), 2) << json::serialize(task);
  auto runs = control_->get("/api/v1/tasks/" + id + "/runs?state=cancelled").json();
  for (const auto& run : runs.at("items").as_array()) {
    EXPECT_TRUE(run.at("sent_at").is_null()) << json::serialize(run);
    EXPECT_NE(std::string(run.at("error").as_string()).find("aborted"), std::string::npos);
  }
}

}  // namespace
}  // namespace hecs::test
