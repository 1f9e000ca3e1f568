// hecsctl run, tasks and devices tag against a real Mosquitto, hecs-control and one plain
// agent (docs/tasks.md): the commands really run on the agent and come back.
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "cli/cli.h"
#include "cli/cli_harness.h"
#include "common/clock.h"
#include "support/hecs.h"
#include "support/mosquitto.h"
#include "support/tempdir.h"

namespace hecs::cli {
namespace {

namespace json = boost::json;
using hecs::test::Agent;
using hecs::test::Control;
using hecs::test::Mosquitto;

class HecsctlTasksOnAFleet : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    broker_ = Mosquitto::start().release();
    // Two devices, and a target of more than one needs a confirmation (S39).
    control_ = Control::start(broker_->url(), {},
                              {"--task-resend-seconds", "1", "--tasks-confirm-above", "1"})
                   .release();
    agent_ = Agent::start(*control_, 30, 5, {"--task-kill-grace", "1"}).release();
    agent2_ = Agent::start(*control_, 30, 5).release();
    ASSERT_TRUE(hecs::test::wait_until(
        [] {
          return control_->device(agent_->device_id()).is_object() &&
                 control_->device(agent2_->device_id()).is_object();
        },
        std::chrono::seconds(20)));
  }
  static void TearDownTestSuite() {
    delete agent2_;
    delete agent_;
    delete control_;
    delete broker_;
    agent2_ = nullptr;
    agent_ = nullptr;
    control_ = nullptr;
    broker_ = nullptr;
  }

  // hecsctl with the control plane's url and the admin key (or `key`), options before argv.
  test::Outcome hecsctl(std::vector<std::string> args, const std::string& key = "") {
    args.insert(args.begin() + 1,
                {"--url", control_->url(), "--api-key", key.empty() ? control_->api_key() : key});
    return test::run_cli(args, {.clock = clock_});
  }
  std::string device() const { return agent_->device_id(); }
  // The id in "task <id> on 1 device", the first line hecsctl run writes on stderr.
  static std::string task_id(const test::Outcome& outcome) {
    std::size_t at = outcome.err.find("task ");
    return at == std::string::npos ? "" : outcome.err.substr(at + 5, 36);
  }

  // One fleet for the suite, made in SetUpTestSuite.
  // NOLINTBEGIN(cppcoreguidelines-avoid-non-const-global-variables)
  static inline Mosquitto* broker_ = nullptr;
  static inline Control* control_ = nullptr;
  static inline Agent* agent_ = nullptr;
  static inline Agent* agent2_ = nullptr;
  // NOLINTEND(cppcoreguidelines-avoid-non-const-global-variables)
  hecs::test::TempDir home_{"cli-home"};
  test::ScopedEnv env_{{{"HOME", home_.path().string()},
                        {"XDG_CONFIG_HOME", std::nullopt},
                        {"HECS_URL", std::nullopt},
                        {"HECS_API_KEY", std::nullopt},
                        {"HECS_CA_FILE", std::nullopt},
                        {"no_proxy", "127.0.0.1,localhost"}}};
  SystemClock clock_;
};

TEST_F(HecsctlTasksOnAFleet, RunEchoPrintsTheDeviceHeaderAndItsOutput) {
  auto outcome = hecsctl({"run", "--device", device(), "--", "/bin/echo", "hello"});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.out << outcome.err;
  EXPECT_EQ(outcome.out.rfind("== " + device() + " succeeded exit=0 (", 0), 0u) << outcome.out;
  EXPECT_NE(outcome.out.find(")\nhello\n"), std::string::npos) << outcome.out;
  EXPECT_NE(outcome.err.find("finished: 1 succeeded"), std::string::npos) << outcome.err;
}

TEST_F(HecsctlTasksOnAFleet, AFailingCommandExitsOneWithItsStderr) {
  auto outcome = hecsctl(
      {"run", "--device", device(), "--", "/bin/sh", "-c", "echo out; echo bad >&2; exit 3"});
  EXPECT_EQ(outcome.exit_code, kExitFailure) << outcome.out << outcome.err;
  EXPECT_NE(outcome.out.find("== " + device() + " failed exit=3 ("), std::string::npos)
      << outcome.out;
  EXPECT_NE(outcome.out.find("out\n-- stderr\nbad\n"), std::string::npos) << outcome.out;
}

TEST_F(HecsctlTasksOnAFleet, ListShowAndLogsShowARunTask) {
  auto ran = hecsctl({"run", "--device", device(), "--", "/bin/echo", "listed"});
  ASSERT_EQ(ran.exit_code, kExitOk) << ran.err;
  std::string id = task_id(ran);
  ASSERT_EQ(id.size(), 36u) << ran.err;

  auto list = hecsctl({"tasks", "list"});
  ASSERT_EQ(list.exit_code, kExitOk) << list.err;
  EXPECT_NE(list.out.find(id + "   finished"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("1/1       /bin/echo listed"), std::string::npos) << list.out;

  auto show = hecsctl({"tasks", "show", id});
  ASSERT_EQ(show.exit_code, kExitOk) << show.err;
  EXPECT_NE(show.out.find("Runs:      1/1 done: 1 succeeded"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find(device() + "   succeeded"), std::string::npos) << show.out;

  auto logs = hecsctl({"tasks", "logs", id});
  ASSERT_EQ(logs.exit_code, kExitOk) << logs.err;
  EXPECT_NE(logs.out.find("== " + device() + " succeeded exit=0 ("), std::string::npos) << logs.out;
  EXPECT_NE(logs.out.find("\nlisted\n"), std::string::npos) << logs.out;

  auto one = hecsctl({"tasks", "logs", id, "--device", device(), "--follow"});
  ASSERT_EQ(one.exit_code, kExitOk) << one.err;
  EXPECT_EQ(one.out, "listed\n");

  auto json_show = hecsctl({"tasks", "show", id, "-o", "json"});
  ASSERT_EQ(json_show.exit_code, kExitOk) << json_show.err;
  json::value document = json::parse(json_show.out);
  EXPECT_EQ(document.at("counts").at("succeeded"), 1);
  EXPECT_EQ(document.at("runs").at(0).at("device"), json::value(device()));
}

TEST_F(HecsctlTasksOnAFleet, AViewerKeyIsToldItNeedsTheOperatorRole) {
  auto made =
      control_->call("POST", "/api/v1/keys", R"({"name": "cli-task-viewer", "role": "viewer"})");
  ASSERT_EQ(made.status, 201) << made.body;
  std::string viewer(made.json().at("key").as_string());
  auto outcome = hecsctl({"run", "--device", device(), "--", "/bin/true"}, viewer);
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_EQ(outcome.err, "hecsctl: forbidden: this needs the role operator (HTTP 403)\n");
  EXPECT_EQ(hecsctl({"tasks", "list"}, viewer).exit_code, kExitOk);  // reading is allowed
}

TEST_F(HecsctlTasksOnAFleet, AnInvalidSpecIsAUsageError) {
  auto no_argv = hecsctl({"run", "--device", device()});
  EXPECT_EQ(no_argv.exit_code, kExitUsage);
  EXPECT_EQ(no_argv.err,
            "hecsctl: nothing to run: give a command after --, --script FILE or --builtin NAME\n");
  auto relative = hecsctl({"run", "--device", device(), "--cwd", "tmp", "--", "/bin/true"});
  EXPECT_EQ(relative.exit_code, kExitUsage);
  EXPECT_EQ(relative.err.rfind("hecsctl: invalid request: cwd", 0), 0u) << relative.err;
  EXPECT_NE(relative.err.find("(HTTP 400)\n"), std::string::npos) << relative.err;
}

TEST_F(HecsctlTasksOnAFleet, TaggedDevicesAreTargetedBySelector) {
  auto tagged = hecsctl({"devices", "tag", device(), "site=cli-test", "gpu"});
  ASSERT_EQ(tagged.exit_code, kExitOk) << tagged.err;
  EXPECT_EQ(tagged.out, "device " + device() + " tags: site=cli-test, gpu\n");
  auto ran = hecsctl({"run", "--selector", "site=cli-test,gpu", "--", "/bin/echo", "selected"});
  EXPECT_EQ(ran.exit_code, kExitOk) << ran.err;
  EXPECT_NE(ran.out.find("\nselected\n"), std::string::npos) << ran.out;
  auto bad = hecsctl({"devices", "tag", device(), "no spaces=allowed here"});
  EXPECT_EQ(bad.exit_code, kExitUsage) << bad.err;
  ASSERT_EQ(hecsctl({"devices", "tag", device(), "--clear"}).exit_code, kExitOk);
  auto none = hecsctl({"run", "--selector", "site=cli-test", "--", "/bin/true"});
  EXPECT_EQ(none.exit_code, kExitUsage);
  EXPECT_NE(none.err.find("matches no accepted device"), std::string::npos) << none.err;
}

// The server's refusal of a large target, read by its problem code: without a terminal hecsctl
// says to pass --yes and creates nothing; with --yes it runs on both devices.
TEST_F(HecsctlTasksOnAFleet, ATargetOverTheConfirmLimitNeedsYes) {
  auto refused = hecsctl({"run", "--selector", "!cli-none", "--", "/bin/true"});
  EXPECT_EQ(refused.exit_code, kExitUsage) << refused.out << refused.err;
  EXPECT_EQ(refused.err,
            "hecsctl: the target has 2 devices, more than the server runs without a "
            "confirmation: pass --yes\n");
  auto list = hecsctl({"tasks", "list", "-o", "json"});
  ASSERT_EQ(list.exit_code, kExitOk) << list.err;
  const auto before = json::parse(list.out).at("items").as_array().size();

  auto ran = hecsctl({"run", "--selector", "!cli-none", "--yes", "--", "/bin/true"});
  EXPECT_EQ(ran.exit_code, kExitOk) << ran.out << ran.err;
  EXPECT_NE(ran.err.find("finished: 2 succeeded"), std::string::npos) << ran.err;
  list = hecsctl({"tasks", "list", "-o", "json"});
  ASSERT_EQ(list.exit_code, kExitOk) << list.err;
  EXPECT_EQ(json::parse(list.out).at("items").as_array().size(), before + 1)
      << "the refused run created a task";
}

}  // namespace
}  // namespace hecs::cli
