// hecsctl run, tasks and devices tag against a canned HTTP server on loopback: the requests
// they send, what the operator sees, and the exit codes.
#include <atomic>
#include <csignal>
#include <mutex>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "cli/cli.h"
#include "cli/cli_harness.h"
#include "support/tempdir.h"

namespace hecs::cli {
namespace {

namespace json = boost::json;
using test::CannedHttpServer;
using test::CannedResponse;

constexpr std::int64_t kNow = 1795633200000;  // 2026-11-25T19:00:00Z
constexpr const char* kTask = "1f0c7a52-9d3e-4b8a-a6f1-2e5d7c9b0a14";
constexpr const char* kDevice = "6f1c2a4e-0b1d-4c3e-9f8a-2b7d5e4c1a90";
const std::string kTaskPath = std::string("/api/v1/tasks/") + kTask;

CannedResponse problem(int status, const std::string& title, const std::string& detail) {
  return {.status = status,
          .content_type = "application/problem+json",
          .body = json::serialize(json::object{
              {"type", "about:blank"}, {"title", title}, {"status", status}, {"detail", detail}})};
}

std::string task_json(const json::object& counts, const std::string& state = "finished") {
  json::object all{{"queued", 0},    {"sent", 0},        {"running", 0},
                   {"succeeded", 0}, {"failed", 0},      {"timed_out", 0},
                   {"cancelled", 0}, {"interrupted", 0}, {"expired", 0}};
  for (const auto& [key, n] : counts) {
    all[key] = n;
  }
  return json::serialize(json::object{
      {"id", kTask},
      {"state", state},
      {"created_at", "2026-11-25T18:59:00.000Z"},
      {"total", 1},
      {"target", json::object{{"devices", json::array{kDevice}}, {"resolved", 1}}},
      {"spec",
       json::object{{"command", json::object{{"argv", json::array{"/bin/echo", "hello"}}}}}},
      {"counts", std::move(all)}});
}

std::string runs_json(const std::string& state, const json::value& exit_code) {
  return json::serialize(
      json::object{{"items", json::array{json::object{{"device", kDevice},
                                                      {"state", state},
                                                      {"position", 0},
                                                      {"started_at", "2026-11-25T18:59:01.000Z"},
                                                      {"ended_at", "2026-11-25T18:59:01.500Z"},
                                                      {"exit_code", exit_code},
                                                      {"signal", nullptr},
                                                      {"error", ""},
                                                      {"stdout_bytes", 6},
                                                      {"stderr_bytes", state == "failed" ? 5 : 0},
                                                      {"truncated", false}}}},
                   {"next", nullptr}});
}

// A task on one device that ended in `state` with `exit_code`, printing "hello\n".
CannedHttpServer::Handler one_run(const std::string& state, int exit_code) {
  return [state, exit_code](const std::string& target) -> CannedResponse {
    if (target == "/api/v1/tasks") {
      return {.status = 201, .body = task_json({{"queued", 1}}, "running")};
    }
    if (target == kTaskPath) {
      return {.body = task_json({{state, 1}})};
    }
    if (target.starts_with(kTaskPath + "/runs?")) {
      bool asked = target.find("state=" + state) != std::string::npos;
      return {.body = asked ? runs_json(state, exit_code)
                            : json::serialize(json::object{{"items", json::array{}}})};
    }
    if (target.ends_with("/output?stream=stdout")) {
      return {.content_type = "text/plain", .body = "hello\n"};
    }
    if (target.ends_with("/output?stream=stderr")) {
      return {.content_type = "text/plain", .body = "oops\n"};
    }
    return problem(404, "not found", "no such route");
  };
}

class HecsctlTasks : public ::testing::Test {
 protected:
  test::Outcome run_cli(std::vector<std::string> args, const RunContext& context) {
    args.insert(args.begin() + 1, {"--api-key", "k3y"});
    return test::run_cli(args, context);
  }
  test::Outcome run_cli(std::vector<std::string> args) {
    return run_cli(std::move(args), {.clock = clock_});
  }

  hecs::test::TempDir home_{"cli-home"};
  test::ScopedEnv env_{{{"HOME", home_.path().string()},
                        {"XDG_CONFIG_HOME", std::nullopt},
                        {"HECS_URL", std::nullopt},
                        {"HECS_API_KEY", std::nullopt},
                        {"HECS_CA_FILE", std::nullopt},
                        {"no_proxy", "127.0.0.1"}}};
  test::FixedClock clock_{kNow};
};

TEST_F(HecsctlTasks, RunPostsTheCommandAfterTheDashesAndPrintsEachResult) {
  CannedHttpServer server(one_run("succeeded", 0));
  auto outcome = run_cli({"run", "--url", server.url(), "--device", kDevice, "--timeout", "60",
                          "--", "/bin/echo", "-n", "hello"});
  EXPECT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  auto post = server.requests().at(0);
  EXPECT_EQ(post.method, "POST");
  EXPECT_EQ(json::parse(post.body), json::parse(std::string(R"({"target": {"devices": [")") +
                                                kDevice + R"("]}, "command": {"argv":
      ["/bin/echo", "-n", "hello"]}, "timeout_s": 60})"));
  EXPECT_EQ(outcome.out, std::string("== ") + kDevice + " succeeded exit=0 (0.5s)\nhello\n");
  EXPECT_NE(outcome.err.find(std::string("task ") + kTask + " finished: 1 succeeded"),
            std::string::npos)
      << outcome.err;
}

TEST_F(HecsctlTasks, RunFetchesOnlyTheRunsOfStatesWhoseCountGrew) {
  CannedHttpServer server(one_run("succeeded", 0));
  ASSERT_EQ(run_cli({"run", "--url", server.url(), "--device", kDevice, "--", "true"}).exit_code,
            kExitOk);
  std::vector<std::string> runs;
  for (const auto& request : server.requests()) {
    if (request.target.find("/runs?") != std::string::npos) {
      runs.push_back(request.target);
    }
  }
  EXPECT_EQ(runs, std::vector<std::string>{kTaskPath + "/runs?limit=500&state=succeeded"});
}

TEST_F(HecsctlTasks, RunExitsOneWhenARunFailedAndShowsItsStderr) {
  CannedHttpServer server(one_run("failed", 3));
  auto outcome = run_cli({"run", "--url", server.url(), "--device", kDevice, "--", "false"});
  EXPECT_EQ(outcome.exit_code, kExitFailure) << outcome.err;
  EXPECT_EQ(outcome.out,
            std::string("== ") + kDevice + " failed exit=3 (0.5s)\nhello\n-- stderr\noops\n");
}

TEST_F(HecsctlTasks, RunWithoutACommandIsAUsageErrorAndSendsNothing) {
  CannedHttpServer server(one_run("succeeded", 0));
  auto outcome = run_cli({"run", "--url", server.url(), "--device", kDevice});
  EXPECT_EQ(outcome.exit_code, kExitUsage);
  EXPECT_EQ(outcome.err,
            "hecsctl: nothing to run: give a command after --, --script FILE or --builtin NAME\n");
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(HecsctlTasks, RunReportsASpecTheServerRefusesAsAUsageError) {
  CannedHttpServer server([](const std::string&) {
    return problem(400, "invalid request", "cwd: expected an absolute path");
  });
  auto outcome =
      run_cli({"run", "--url", server.url(), "--device", kDevice, "--cwd", "tmp", "--", "ls"});
  EXPECT_EQ(outcome.exit_code, kExitUsage);
  EXPECT_EQ(outcome.err, "hecsctl: invalid request: cwd: expected an absolute path (HTTP 400)\n");
}

// As hecs-control refuses a target over tasks_confirm_above (control/api/task_routes.cpp).
CannedResponse too_many() {
  auto refusal = problem(400, "confirmation required",
                         "target: 120 devices, more than 50: repeat with \"confirm\": true");
  auto body = json::parse(refusal.body).as_object();
  body["code"] = "confirmation_required";
  body["devices"] = 120;
  body["confirm_above"] = 50;
  refusal.body = json::serialize(body);
  return refusal;
}

TEST_F(HecsctlTasks, RunAsksBeforeALargeTargetAndRetriesWithConfirm) {
  std::atomic<int> posts = 0;
  CannedHttpServer server([&posts](const std::string& target) {
    if (target == "/api/v1/tasks" && posts++ == 0) {
      return too_many();
    }
    return one_run("succeeded", 0)(target);
  });
  std::string asked;
  auto outcome = run_cli({"run", "--url", server.url(), "--selector", "site=berlin", "--", "true"},
                         {.clock = clock_, .ask_yes_no = [&](std::string_view question) {
                            asked = question;
                            return Result<bool>(true);
                          }});
  EXPECT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(asked, "Run on 120 devices? [y/N] ");
  auto requests = server.requests();
  ASSERT_GE(requests.size(), 2u);
  EXPECT_FALSE(json::parse(requests[0].body).as_object().contains("confirm"));
  EXPECT_EQ(json::parse(requests[1].body).at("confirm"), true);
}

// The problem's code decides, not its words: a refusal that only says "confirm" is an error.
TEST_F(HecsctlTasks, RunAsksOnlyWhenTheRefusalHasTheConfirmationCode) {
  CannedHttpServer server([](const std::string&) {
    return problem(400, "invalid request",
                   "target: 120 devices, more than 50: repeat with \"confirm\": true");
  });
  bool asked = false;
  auto outcome = run_cli({"run", "--url", server.url(), "--selector", "site=berlin", "--", "true"},
                         {.clock = clock_, .ask_yes_no = [&](std::string_view) {
                            asked = true;
                            return Result<bool>(true);
                          }});
  EXPECT_FALSE(asked);
  EXPECT_EQ(outcome.exit_code, kExitUsage);
  EXPECT_EQ(outcome.err,
            "hecsctl: invalid request: target: 120 devices, more than 50: repeat with "
            "\"confirm\": true (HTTP 400)\n");
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(HecsctlTasks, RunDoesNothingWhenTheAnswerIsNo) {
  CannedHttpServer server([](const std::string&) { return too_many(); });
  auto outcome = run_cli(
      {"run", "--url", server.url(), "--selector", "site=berlin", "--", "true"},
      {.clock = clock_, .ask_yes_no = [](std::string_view) { return Result<bool>(false); }});
  EXPECT_EQ(outcome.exit_code, kExitUsage);
  EXPECT_EQ(outcome.err, "hecsctl: not run\n");
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(HecsctlTasks, RunWithoutATerminalSaysToPassYes) {
  CannedHttpServer server([](const std::string&) { return too_many(); });
  auto outcome = run_cli({"run", "--url", server.url(), "--selector", "site=berlin", "--", "true"});
  EXPECT_EQ(outcome.exit_code, kExitUsage);
  EXPECT_EQ(outcome.err,
            "hecsctl: the target has 120 devices, more than the server runs without a "
            "confirmation: pass --yes\n");
}

TEST_F(HecsctlTasks, RunDetachedPrintsTheTaskAndDoesNotFollow) {
  CannedHttpServer server(one_run("succeeded", 0));
  auto outcome = run_cli(
      {"run", "--url", server.url(), "--device", kDevice, "--detach", "--yes", "--", "true"});
  EXPECT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(outcome.out, std::string("task ") + kTask + " created on 1 device\n");
  EXPECT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(json::parse(server.requests()[0].body).at("confirm"), true);
}

TEST_F(HecsctlTasks, RunAsJsonPrintsTheTaskAndEachRunWithItsOutput) {
  CannedHttpServer server(one_run("succeeded", 0));
  auto outcome =
      run_cli({"run", "--url", server.url(), "--device", kDevice, "-o", "json", "--", "true"});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  json::value document = json::parse(outcome.out);
  EXPECT_EQ(document.at("task").at("state"), "finished");
  EXPECT_EQ(document.at("runs").at(0).at("stdout"), "hello\n");
  EXPECT_EQ(document.at("runs").at(0).at("device"), kDevice);
}

TEST_F(HecsctlTasks, CtrlCStopsFollowingAndSaysHowToCancel) {
  std::atomic<int> polls = 0;
  CannedHttpServer server([&polls](const std::string& target) -> CannedResponse {
    if (target == "/api/v1/tasks") {
      return {.status = 201, .body = task_json({{"queued", 1}}, "running")};
    }
    if (target == kTaskPath && polls++ == 1) {
      (void)::raise(SIGINT);  // hecsctl is inside its follow loop, where SIGINT only sets a flag
    }
    return {.body = task_json({{"running", 1}}, "running")};
  });
  auto outcome = run_cli({"run", "--url", server.url(), "--device", kDevice, "--", "sleep", "60"});
  EXPECT_EQ(outcome.exit_code, 130);
  EXPECT_NE(outcome.err.find(std::string("To cancel them: hecsctl tasks cancel ") + kTask + "\n"),
            std::string::npos)
      << outcome.err;
  for (const auto& request : server.requests()) {
    EXPECT_EQ(request.target.find("/cancel"), std::string::npos);
  }
}

// Each read asks only for the bytes after those already fetched (?offset=), and a line is
// printed once it is complete.
TEST_F(HecsctlTasks, LogsFollowPrintsOnlyWhatIsNewAndFetchesOnlyThat) {
  std::atomic<int> reads = 0;
  std::vector<std::string> offsets;
  std::mutex mutex;
  CannedHttpServer server([&](const std::string& target) -> CannedResponse {
    int n = reads.load();
    if (target == kTaskPath) {
      return {.body =
                  n < 2 ? task_json({{"running", 1}}, "running") : task_json({{"succeeded", 1}})};
    }
    if (target.find("/runs?") != std::string::npos) {
      bool running = target.find("state=running") != std::string::npos;
      return {.body = running ? runs_json("running", nullptr) : runs_json("succeeded", 0)};
    }
    if (target.find("output?stream=stdout") != std::string::npos) {
      ++reads;
      const std::string all = n == 0 ? "one\ntw" : n == 1 ? "one\ntwo\nthr" : "one\ntwo\nthree";
      const auto at = target.find("&offset=");
      const std::string offset = at == std::string::npos ? "0" : target.substr(at + 8);
      {
        std::lock_guard lock(mutex);
        offsets.push_back(offset);
      }
      return {.content_type = "text/plain",
              .body = all.substr(std::min(all.size(), std::stoul(offset)))};
    }
    return problem(404, "not found", "no such route");
  });
  auto outcome = run_cli({"tasks", "logs", kTask, "--url", server.url(), "--device", kDevice,
                          "--stream", "stdout", "--follow"});
  EXPECT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(outcome.out, "one\ntwo\nthree\n");
  std::lock_guard lock(mutex);
  ASSERT_GE(offsets.size(), 3U);
  EXPECT_EQ(offsets[0], "0");
  EXPECT_EQ(offsets[1], "6");
  EXPECT_EQ(offsets[2], "11");
}

TEST_F(HecsctlTasks, CancelOneRunPostsToItsPath) {
  CannedHttpServer server([](const std::string&) -> CannedResponse {
    return {.body = task_json({{"cancelled", 1}}, "running")};
  });
  auto outcome = run_cli({"tasks", "cancel", kTask, "--url", server.url(), "--device", kDevice});
  EXPECT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(server.requests().at(0).method, "POST");
  EXPECT_EQ(server.requests().at(0).target, kTaskPath + "/runs/" + kDevice + "/cancel");
  EXPECT_NE(outcome.out.find("runs now: 1 cancelled"), std::string::npos) << outcome.out;
}

TEST_F(HecsctlTasks, DevicesTagPutsTheTagsAndClearRemovesThemAll) {
  CannedHttpServer server([](const std::string&) -> CannedResponse {
    return {.body = json::serialize(json::object{{"id", kDevice}, {"tags", json::array{"gpu"}}})};
  });
  auto tagged = run_cli({"devices", "tag", kDevice, "site=berlin", "gpu", "--url", server.url()});
  EXPECT_EQ(tagged.exit_code, kExitOk) << tagged.err;
  EXPECT_EQ(tagged.out, std::string("device ") + kDevice + " tags: gpu\n");
  auto cleared = run_cli({"devices", "tag", kDevice, "--clear", "--url", server.url()});
  EXPECT_EQ(cleared.exit_code, kExitOk) << cleared.err;
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "PUT");
  EXPECT_EQ(requests[0].target, std::string("/api/v1/devices/") + kDevice + "/tags");
  EXPECT_EQ(json::parse(requests[0].body), json::parse(R"({"tags": ["site=berlin", "gpu"]})"));
  EXPECT_EQ(json::parse(requests[1].body), json::parse(R"({"tags": []})"));
  EXPECT_EQ(run_cli({"devices", "tag", kDevice, "--url", server.url()}).exit_code, kExitUsage);
}

}  // namespace
}  // namespace hecs::cli
