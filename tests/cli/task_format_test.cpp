// Human output of tasks and the request hecsctl run builds: no server.
#include "cli/task_format.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "cli/task_api.h"
#include "cli/task_request.h"

namespace hecs::cli {
namespace {

namespace json = boost::json;

constexpr std::int64_t kNow = 1795633200000;  // 2026-11-25T19:00:00Z
constexpr const char* kDevice = "6f1c2a4e-0b1d-4c3e-9f8a-2b7d5e4c1a90";

json::value task_with(const json::object& counts, std::int64_t total) {
  json::object all{{"queued", 0},    {"sent", 0},        {"running", 0},
                   {"succeeded", 0}, {"failed", 0},      {"timed_out", 0},
                   {"cancelled", 0}, {"interrupted", 0}, {"expired", 0}};
  for (const auto& [state, n] : counts) {
    all[state] = n;
  }
  return json::object{
      {"id", "1f0c7a52-9d3e-4b8a-a6f1-2e5d7c9b0a14"},
      {"state", "running"},
      {"origin", "schedule"},
      {"created_at", "2026-11-25T18:55:00.000Z"},
      {"created_by", "key:ci"},
      {"total", total},
      {"spec", json::object{{"command", json::object{{"argv", json::array{"/bin/echo", "a b"}}}},
                            {"timeout_s", 300}}},
      {"counts", std::move(all)}};
}

json::value run(const json::object& changes = {}) {
  json::object r{{"device", kDevice},
                 {"state", "succeeded"},
                 {"started_at", "2026-11-25T18:59:58.000Z"},
                 {"ended_at", "2026-11-25T18:59:59.250Z"},
                 {"exit_code", 0},
                 {"signal", nullptr},
                 {"error", ""},
                 {"stdout_bytes", 6},
                 {"stderr_bytes", 0},
                 {"truncated", false}};
  for (const auto& [key, value] : changes) {
    r[key] = value;
  }
  return r;
}

TEST(TaskProgress, TheBarFillsWithTheRunsThatEnded) {
  auto tally =
      tally_of(task_with({{"succeeded", 11}, {"failed", 1}, {"running", 3}, {"queued", 25}}, 40));
  EXPECT_EQ(progress_bar(tally, 10), "[###.......] 12/40 done, 1 failed, 3 running, 25 waiting");
  EXPECT_EQ(progress_bar(tally_of(task_with({{"succeeded", 40}}, 40)), 10),
            "[##########] 40/40 done, 0 failed, 0 running");
}

TEST(TaskProgress, CountsEveryFinalStateButSucceededAsFailed) {
  auto tally = tally_of(task_with({{"succeeded", 1},
                                   {"failed", 1},
                                   {"timed_out", 1},
                                   {"interrupted", 1},
                                   {"expired", 1},
                                   {"cancelled", 1}},
                                  6));
  EXPECT_EQ(progress_text(tally), "6/6 done, 5 failed, 0 running");
  EXPECT_TRUE(tally.finished());
}

TEST(TaskProgress, AnEmptyTaskDrawsAnEmptyBar) {
  EXPECT_EQ(progress_bar(tally_of(json::object{}), 4), "[....] 0/0 done, 0 failed, 0 running");
}

TEST(RunHeader, NamesTheDeviceStateExitCodeAndDuration) {
  EXPECT_EQ(run_header(run()), std::string("== ") + kDevice + " succeeded exit=0 (1.2s)");
}

TEST(RunHeader, ShowsASignalAndTheErrorOfARunThatDidNotExit) {
  EXPECT_EQ(run_header(run({{"state", "timed_out"}, {"exit_code", nullptr}, {"signal", 9}})),
            std::string("== ") + kDevice + " timed_out signal=9 (1.2s)");
  EXPECT_EQ(run_header(run({{"state", "failed"},
                            {"exit_code", nullptr},
                            {"started_at", nullptr},
                            {"error", "unknown user \x1b[31mbob"}})),
            std::string("== ") + kDevice + " failed exit=- (-): unknown user \\x1b[31mbob");
}

TEST(RunHeader, LongRunsShowMinutes) {
  EXPECT_EQ(run_duration(run({{"ended_at", "2026-11-25T19:02:03.000Z"}})), "2m 5s");
}

TEST(RunOutput, KeepsLinesAndTabsAndEscapesOtherControlCharacters) {
  EXPECT_EQ(printable_output("a\tb\n\x1b]0;owned\x07\nend"), "a\tb\n\\x1b]0;owned\\x07\nend\n");
  EXPECT_EQ(printable_output("caf\xc3\xa9\n"), "caf\xc3\xa9\n");
  EXPECT_EQ(printable_output(""), "");
}

TEST(RunOutput, PutsStderrAfterStdoutUnderItsOwnLine) {
  EXPECT_EQ(format_run_result(run(), "hello\n", ""),
            std::string("== ") + kDevice + " succeeded exit=0 (1.2s)\nhello\n");
  EXPECT_EQ(format_run_result(run(), "", "oops"),
            std::string("== ") + kDevice + " succeeded exit=0 (1.2s)\n-- stderr\noops\n");
}

TEST(TaskTable, ShowsRunsDoneOfTotalAndTheCommandAsAShellWouldRead) {
  json::array items{task_with({{"succeeded", 2}, {"running", 1}}, 3)};
  EXPECT_EQ(
      format_task_table(items, kNow),
      "ID                                     STATE     ORIGIN     CREATED   DEVICES   COMMAND\n"
      "1f0c7a52-9d3e-4b8a-a6f1-2e5d7c9b0a14   running   schedule   5m ago    2/3       /bin/echo "
      "'a b'\n");
}

TEST(TaskTable, SummarisesScriptsAndBuiltinsAndClipsLongCommands) {
  json::value script = task_with({}, 1);
  script.as_object()["spec"] =
      json::parse(R"({"command": {"script": "echo hi\n", "interpreter": "/bin/sh"}})");
  EXPECT_EQ(command_summary(script), "script: /bin/sh (8 B)");
  json::value builtin = task_with({}, 1);
  builtin.as_object()["spec"] = json::parse(R"({"command": {"builtin": "reboot"}})");
  EXPECT_EQ(command_summary(builtin), "builtin: reboot");
  json::value long_one = task_with({}, 1);
  long_one.as_object()["spec"] =
      json::parse(R"({"command": {"argv": ["/usr/bin/find", "/var/lib/some/long/path", "-name",
                   "*.log", "-mtime", "+30", "-delete"]}})");
  EXPECT_EQ(command_summary(long_one, 30), "/usr/bin/find /var/lib/some...");
}

TEST(TaskDetails, ListCountsAndOneRowPerRun) {
  std::string details = format_task_details(
      task_with({{"succeeded", 1}, {"failed", 1}}, 2),
      json::array{run(), run({{"device", "d2"}, {"state", "failed"}, {"exit_code", 3}})}, kNow);
  EXPECT_NE(details.find("Runs:      2/2 done: 1 succeeded, 1 failed\n"), std::string::npos)
      << details;
  EXPECT_NE(details.find("Command:   /bin/echo 'a b'\n"), std::string::npos) << details;
  EXPECT_NE(details.find("DEVICE"), std::string::npos) << details;
  EXPECT_NE(details.find("d2                                     failed      3"), std::string::npos)
      << details;
}

RunOptions echo_on_one_device() {
  RunOptions options;
  options.devices = {kDevice};
  options.argv = {"/bin/echo", "hello"};
  return options;
}

TEST(TaskRequest, CarriesEveryFlagTheServerKnows) {
  RunOptions options = echo_on_one_device();
  options.timeout = "5m";
  options.user = "app";
  options.cwd = "/srv";
  options.env = {"LANG=C", "EMPTY=", "EQ=a=b"};
  options.output_cap = 4096;
  options.max_in_flight = 5;
  options.abort_percent = 20;
  options.abort_min = 10;
  options.deadline = "3600";
  auto request = task_request(options, "", true);
  ASSERT_TRUE(request) << request.error().message;
  EXPECT_EQ(*request,
            json::parse(R"({"target": {"devices": ["6f1c2a4e-0b1d-4c3e-9f8a-2b7d5e4c1a90"]},
      "command": {"argv": ["/bin/echo", "hello"]}, "env": {"LANG": "C", "EMPTY": "", "EQ": "a=b"},
      "cwd": "/srv", "user": "app", "timeout_s": 300, "output_cap_bytes": 4096,
      "deadline_s": 3600, "rate": {"max_in_flight": 5},
      "abort": {"failure_percent": 20, "min_finished": 10}, "confirm": true})"));
}

TEST(TaskRequest, LeavesDefaultsToTheServer) {
  auto request = task_request(echo_on_one_device(), "", false);
  ASSERT_TRUE(request);
  EXPECT_EQ(*request,
            json::parse(R"({"target": {"devices": ["6f1c2a4e-0b1d-4c3e-9f8a-2b7d5e4c1a90"]},
      "command": {"argv": ["/bin/echo", "hello"]}})"));
}

TEST(TaskRequest, ScriptsNameTheirInterpreterAndItsArguments) {
  RunOptions options = echo_on_one_device();
  options.argv.clear();
  options.selector = "site=berlin";
  options.devices.clear();
  options.script = "fix.py";
  options.interpreter = "python3  -u";
  auto request = task_request(options, "print(1)\n", false);
  ASSERT_TRUE(request) << request.error().message;
  EXPECT_EQ(request->at("command"), json::parse(R"({"script": "print(1)\n",
      "interpreter": "python3", "interpreter_args": ["-u"]})"));
  EXPECT_EQ(request->at("target"), json::parse(R"({"selector": "site=berlin"})"));
}

TEST(TaskRequest, ARebootNeedsItsOwnConfirmation) {
  RunOptions options = echo_on_one_device();
  options.argv.clear();
  options.builtin = "reboot";
  auto refused = task_request(options, "", false);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "--builtin reboot needs --confirm-reboot");
  options.confirm_reboot = true;
  auto request = task_request(options, "", false);
  ASSERT_TRUE(request);
  EXPECT_EQ(request->at("command"),
            json::parse(R"({"builtin": "reboot", "args": {"confirm": true}})"));
}

TEST(TaskRequest, CollectLogsTakesUnitsPathsAndSinceAndOnlyIt) {
  RunOptions options = echo_on_one_device();
  options.argv.clear();
  options.builtin = "collect-logs";
  options.units = {"ssh.service", "cron.service"};
  options.paths = {"/var/log/syslog"};
  options.since = "-2h";
  auto request = task_request(options, "", false);
  ASSERT_TRUE(request) << request.error().message;
  EXPECT_EQ(request->at("command"), json::parse(R"({"builtin": "collect-logs", "args": {
      "units": ["ssh.service", "cron.service"], "paths": ["/var/log/syslog"], "since": "-2h"}})"));
  options.builtin = "inventory-refresh";
  auto refused = task_request(options, "", false);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "--unit, --path and --since go with --builtin collect-logs");
}

TEST(TaskRequest, RefusesNothingToRunOrTwoThingsToRun) {
  RunOptions nothing = echo_on_one_device();
  nothing.argv.clear();
  auto refused = task_request(nothing, "", false);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::invalid_input);
  EXPECT_EQ(refused.error().message,
            "nothing to run: give a command after --, --script FILE or --builtin NAME");
  RunOptions two = echo_on_one_device();
  two.builtin = "inventory-refresh";
  EXPECT_FALSE(task_request(two, "", false));
  RunOptions no_interpreter = nothing;
  no_interpreter.script = "fix.sh";
  EXPECT_EQ(task_request(no_interpreter, "true", false).error().message,
            "--script needs --interpreter PROG, such as /bin/sh or \"python3 -u\"");
}

TEST(TaskRequest, RefusesNoTargetOrTwoTargets) {
  RunOptions none = echo_on_one_device();
  none.devices.clear();
  EXPECT_EQ(task_request(none, "", false).error().message,
            "no target: give --device ID (repeatable), --group NAME or --selector SEL");
  RunOptions two = echo_on_one_device();
  two.group = "berlin";
  EXPECT_EQ(task_request(two, "", false).error().message,
            "give only one of --device, --group and --selector");
}

TEST(TaskRequest, RefusesMalformedEnvAndDurations) {
  RunOptions options = echo_on_one_device();
  options.env = {"NOVALUE"};
  EXPECT_EQ(task_request(options, "", false).error().message, "--env NOVALUE: expected NAME=VALUE");
  options.env = {"A=1", "A=2"};
  EXPECT_EQ(task_request(options, "", false).error().message, "--env A: given twice");
  options.env.clear();
  options.timeout = "5 minutes";
  EXPECT_FALSE(task_request(options, "", false));
  EXPECT_EQ(parse_seconds("90"), 90);
  EXPECT_EQ(parse_seconds("2h"), 7200);
  EXPECT_EQ(parse_seconds("-5"), std::nullopt);
}

TEST(TaskRequest, RefusesAScriptLargerThanTheAgentTakes) {
  RunOptions options = echo_on_one_device();
  options.argv.clear();
  options.script = "big.sh";
  options.interpreter = "/bin/sh";
  auto refused = task_request(options, std::string(kMaxScriptBytes + 1, '#'), false);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "--script big.sh: 65537 bytes, at most 65536");
}

}  // namespace
}  // namespace hecs::cli
