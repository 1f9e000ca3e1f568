// Start-up: broken configuration is one line and exit code 2; a damaged database is moved
// aside and replaced (S32); the CLI works against a real control plane.
#include <csignal>
#include <fstream>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/clock.h"
#include "support/hecs.h"
#include "support/mosquitto.h"

namespace hecs::test {
namespace {
using std::chrono::seconds;

struct Outcome {
  int code = -1;
  std::string output;
};

Outcome run_binary(const std::string& binary, const std::string& args) {
  Outcome o;
  o.code = run_command((bin_dir() / binary).string() + " " + args + " 2>&1", &o.output);
  return o;
}

std::size_t lines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

class Startup : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    auto path = dir_.path() / name;
    std::ofstream(path) << text;
    return path.string();
  }
  TempDir dir_{"startup"};
};

TEST_F(Startup, BrokenConfigurationIsOneLineNamingTheKeyAndExitCode2) {
  struct Case {
    std::string binary, args, must_name;
  } cases[] = {
      {"hecs-control", "--config " + write("unknown.yaml", "data_dir: /tmp/x\nhttp_lisen: x\n"),
       "http_lisen"},
      {"hecs-control", "--config " + write("broken.yaml", "data_dir: [unclosed\n"), "broken.yaml"},
      {"hecs-control", "--config " + write("list.yaml", "- a\n- b\n"), "list.yaml"},
      {"hecs-control", "--config /nonexistent/hecs.yaml", "/nonexistent/hecs.yaml"},
      {"hecs-control", "--threads many", "--threads"},
      {"hecs-control", "--telemetry-window-hours 0", "--telemetry-window-hours"},
      {"hecs-control", "--task-retention-days -1", "--task-retention-days"},
      {"hecs-control", "--config " + write("retention.yaml", "artifact_retention_days: 4000\n"),
       "--artifact-retention-days"},
      {"hecs-control", "--http-listen localhost", "--http-listen"},
      {"hecs-control", "--mqtt-url ftp://broker", "--mqtt-url"},
      {"hecs-control", "--no-such-flag", "--no-such-flag"},
      {"hecs-control", "--config " + write("badvalue.yaml", "threads: -3\n"), "--threads"},
      {"hecs-agent", "--config " + write("agent.yaml", "telemetry_interval: 10\nbogus: 1\n"),
       "bogus"},
      {"hecs-agent", "--telemetry-interval 0", "--telemetry-interval"},
      {"hecs-agent", "--keepalive 1", "--keepalive"},
      {"hecs-agent", "--mqtt-url mqtt://host:99999", "--mqtt-url"},
  };
  for (const auto& c : cases) {
    auto o = run_binary(c.binary, c.args);
    EXPECT_EQ(o.code, 2) << c.binary << " " << c.args << "\n" << o.output;
    EXPECT_EQ(lines(o.output), 1u) << c.binary << " " << c.args << "\n" << o.output;
    EXPECT_NE(o.output.find(c.must_name), std::string::npos) << c.binary << " " << c.args << "\n"
                                                             << o.output;
  }
}

TEST_F(Startup, HelpExplainsEveryFlagAndExitsZero) {
  for (const char* binary : {"hecs-control", "hecs-agent", "hecsctl"}) {
    auto o = run_binary(binary, "--help");
    EXPECT_EQ(o.code, 0) << binary;
    EXPECT_NE(o.output.find("Usage"), std::string::npos) << binary << o.output;
  }
  auto control = run_binary("hecs-control", "--help").output;
  for (const char* flag : {"--config", "--data-dir", "--http-listen", "--mqtt-url", "--db"}) {
    EXPECT_NE(control.find(flag), std::string::npos) << flag;
  }
  auto agent = run_binary("hecs-agent", "--help").output;
  for (const char* flag : {"--config", "--state-dir", "--mqtt-url", "--telemetry-interval"}) {
    EXPECT_NE(agent.find(flag), std::string::npos) << flag;
  }
}

TEST_F(Startup, FlagsWinOverTheConfigFile) {
  auto broker = Mosquitto::start();
  auto port = free_port();
  auto config =
      write("control.yaml",
            "data_dir: " + (dir_.path() / "data").string() +
                "\nhttp_listen: 127.0.0.1:1\nhttp_plain: true\nmqtt_url: " + broker->url() + "\n");
  auto p = Process::spawn({(bin_dir() / "hecs-control").string(), "--config", config,
                           "--http-listen", "127.0.0.1:" + std::to_string(port)},
                          dir_.path() / "control.log");
  EXPECT_TRUE(wait_until(
      [&] {
        return http_get("http://127.0.0.1:" + std::to_string(port) + "/healthz").status == 200;
      },
      seconds(15)))
      << p->log_text();
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "data" / "admin-credentials"));
  auto perms = std::filesystem::status(dir_.path() / "data" / "admin-credentials").permissions();
  EXPECT_EQ(perms & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST_F(Startup, AGarbageControlDatabaseIsMovedAsideAndReplaced) {  // S32
  auto broker = Mosquitto::start();
  TempDir data("s32control");
  std::ofstream(data.path() / "hecs.db") << std::string(8192, 'G');
  auto port = free_port();
  auto p = Process::spawn(
      {(bin_dir() / "hecs-control").string(), "--data-dir", data.path().string(), "--http-listen",
       "127.0.0.1:" + std::to_string(port), "--mqtt-url", broker->url(), "--http-plain"},
      dir_.path() / "control.log");
  ASSERT_TRUE(wait_until(
      [&] {
        return http_get("http://127.0.0.1:" + std::to_string(port) + "/readyz").status == 200;
      },
      seconds(15)))
      << p->log_text();
  EXPECT_NE(p->log_text().find("store.corrupt_quarantined"), std::string::npos) << p->log_text();
  bool moved = false;
  for (const auto& entry : std::filesystem::directory_iterator(data.path())) {
    moved |= entry.path().filename().string().starts_with("hecs.db.corrupt-");
  }
  EXPECT_TRUE(moved);
}

TEST_F(Startup, AGarbageAgentOutboxIsMovedAsideAndTheAgentStillComesOnline) {  // S32
  auto broker = Mosquitto::start();
  auto control = Control::start(broker->url());
  TempDir state("s32agent");
  std::ofstream(state.path() / "outbox.db") << "SQLite format 3" << std::string(5000, '\x01');
  std::vector<std::string> argv = {(bin_dir() / "hecs-agent").string(),
                                   "--state-dir",
                                   state.path().string(),
                                   "--mqtt-url",
                                   broker->url(),
                                   "--telemetry-interval",
                                   "1"};
  for (auto& arg : command_keys_args(*control)) {
    argv.push_back(arg);
  }
  auto p = Process::spawn(argv, dir_.path() / "agent.log");
  ASSERT_TRUE(
      wait_until([&] { return std::filesystem::exists(state.path() / "device-id"); }, seconds(10)));
  std::string id;
  std::ifstream(state.path() / "device-id") >> id;
  ASSERT_TRUE(wait_until(
      [&] {
        auto d = control->device(id);
        return d.is_object() && d.at("telemetry").is_object();
      },
      seconds(20)))
      << p->log_text();
  EXPECT_NE(p->log_text().find("outbox.corrupt_quarantined"), std::string::npos);
}

TEST_F(Startup, HecsctlListsAndShowsDevicesOfARealControlPlane) {
  auto broker = Mosquitto::start();
  auto control = Control::start(broker->url());
  auto agent = Agent::start(*control, 1, 5);
  ASSERT_TRUE(wait_until(
      [&] {
        auto d = control->device(agent->device_id());
        return d.is_object() && d.at("telemetry").is_object();
      },
      seconds(20)));
  const std::string conn = "--url " + control->url() + " --api-key " + control->api_key();

  auto list = run_binary("hecsctl", conn + " devices list");
  EXPECT_EQ(list.code, 0) << list.output;
  EXPECT_NE(list.output.find(agent->device_id()), std::string::npos) << list.output;
  EXPECT_NE(list.output.find("HOSTNAME"), std::string::npos) << list.output;

  auto as_json = run_binary("hecsctl", conn + " devices list -o json");
  ASSERT_EQ(as_json.code, 0) << as_json.output;
  boost::system::error_code ec;
  auto parsed = boost::json::parse(as_json.output, ec);
  ASSERT_FALSE(ec) << as_json.output;
  EXPECT_EQ(parsed.at("items").as_array().size(), 1u);

  auto as_yaml = run_binary("hecsctl", conn + " devices list -o yaml");
  EXPECT_EQ(as_yaml.code, 0);
  EXPECT_NE(as_yaml.output.find("items:"), std::string::npos) << as_yaml.output;

  auto show = run_binary("hecsctl", conn + " devices show " + agent->device_id());
  EXPECT_EQ(show.code, 0) << show.output;
  EXPECT_NE(show.output.find(agent->device_id()), std::string::npos) << show.output;

  // From the environment, as the README shows.
  Outcome env_run;
  env_run.code = run_command("HECS_URL=" + control->url() + " HECS_API_KEY=" + control->api_key() +
                                 " HOME=" + dir_.path().string() + " " +
                                 (bin_dir() / "hecsctl").string() + " devices list 2>&1",
                             &env_run.output);
  EXPECT_EQ(env_run.code, 0) << env_run.output;
  EXPECT_NE(env_run.output.find(agent->device_id()), std::string::npos);

  auto missing = run_binary("hecsctl", conn + " devices show " + random_uuid());
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(lines(missing.output), 1u) << missing.output;
  EXPECT_NE(missing.output.find("404"), std::string::npos) << missing.output;

  auto wrong_key =
      run_binary("hecsctl", "--url " + control->url() +
                                " --api-key hecs_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA000000"
                                " devices list");
  EXPECT_EQ(wrong_key.code, 1);
  EXPECT_EQ(lines(wrong_key.output), 1u) << wrong_key.output;
  EXPECT_EQ(wrong_key.output.find("hecs_AAAA"), std::string::npos) << "the key was echoed";
}

TEST_F(Startup, SighupIsLoggedAndNeitherDaemonDies) {
  auto broker = Mosquitto::start();
  auto control = Control::start(broker->url());
  auto agent = Agent::start(*control, 1, 5);
  // Sent until logged: one that arrives before the event loop runs is ignored silently.
  EXPECT_TRUE(wait_until(
      [&] {
        control->process().signal(SIGHUP);
        agent->process().signal(SIGHUP);
        return control->process().log_text().find("control.reload_unsupported") !=
                   std::string::npos &&
               agent->process().log_text().find("agent.reload_unsupported") != std::string::npos;
      },
      seconds(5)));
  EXPECT_TRUE(control->process().running());
  EXPECT_TRUE(agent->process().running());
  EXPECT_EQ(control->get("/api/v1/devices").status, 200);
}

// A SIGHUP that lands while a daemon is still starting (logrotate, a terminal closing) must not
// kill it: the default action of SIGHUP is to terminate, so main ignores it from its first line
// until the event loop takes it over. To hold the daemon inside its start-up for as long as the
// test needs, its --config is a FIFO: reading it blocks until the test writes the file.
TEST_F(Startup, SighupDuringStartUpKillsNeitherDaemon) {
  auto broker = Mosquitto::start();
  for (const std::string daemon : {"hecs-agent", "hecs-control"}) {
    auto state = dir_.path() / (daemon + "-state");
    auto fifo = dir_.path() / (daemon + ".yaml");
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    std::vector<std::string> argv = {(bin_dir() / daemon).string(), "--config", fifo.string()};
    if (daemon == "hecs-agent") {
      argv.insert(argv.end(), {"--state-dir", state.string()});
    } else {
      argv.insert(argv.end(), {"--data-dir", state.string(), "--http-listen", "127.0.0.1:0"});
    }
    auto p = Process::spawn(argv, dir_.path() / (daemon + ".log"));
    auto wchan = "/proc/" + std::to_string(p->pid()) + "/wchan";
    ASSERT_TRUE(wait_until(
        [&] {
          std::ifstream in(wchan);
          std::string where;
          std::getline(in, where);
          return where == "wait_for_partner";  // blocked opening the FIFO: main is running
        },
        seconds(10)))
        << daemon << ": " << p->log_text();
    for (int i = 0; i < 5; ++i) {
      p->signal(SIGHUP);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_TRUE(p->running()) << daemon << " died of a SIGHUP during start-up";
    std::ofstream(fifo) << "mqtt_url: " << broker->url() << "\n";
    ASSERT_TRUE(wait_until(
        [&] {
          return p->log_text().find(daemon == "hecs-agent" ? "agent.started" : "control.started") !=
                 std::string::npos;
        },
        seconds(10)))
        << daemon << ": " << p->log_text();
    EXPECT_TRUE(p->running()) << daemon << ": " << p->log_text();
    p->signal(SIGTERM);
    EXPECT_EQ(p->wait(seconds(10)), 0) << daemon << ": " << p->log_text();
  }
}

TEST_F(Startup, TheDemoStartsEverythingAndCtrlCStopsIt) {
  auto demo_dir = dir_.path() / "demo";
  auto mqtt_port = free_port(), http_port = free_port();
  auto demo = Process::spawn(
      {"/usr/bin/env", "BIN=" + bin_dir().string(), "HECS_DEMO_DIR=" + demo_dir.string(),
       "HECS_DEMO_MQTT_PORT=" + std::to_string(mqtt_port),
       "HECS_DEMO_HTTP_PORT=" + std::to_string(http_port), "bash",
       (source_dir() / "scripts" / "demo.sh").string()},
      dir_.path() / "demo.log");
  ASSERT_TRUE(wait_until([&] { return demo->log_text().find("Press Ctrl-C") != std::string::npos; },
                         seconds(30)))
      << demo->log_text();
  EXPECT_NE(demo->log_text().find("Admin key"), std::string::npos);
  // The demo serves HTTPS with its own device CA (scripts/demo.sh).
  const std::string url = "https://localhost:" + std::to_string(http_port);
  const std::string ca = (demo_dir / "control" / "pki" / "ca.pem").string();
  std::string admin;
  std::string password;
  {
    std::ifstream creds(demo_dir / "control" / "admin-credentials");
    for (std::string line; std::getline(creds, line);) {
      if (line.rfind("hecs_", 0) == 0) {
        admin = line;
      } else if (line.rfind("password: ", 0) == 0) {
        password = line.substr(10);
      }
    }
  }
  EXPECT_NE(demo->log_text().find(admin), std::string::npos) << "the banner shows the key";
  ASSERT_FALSE(password.empty());
  EXPECT_NE(demo->log_text().find("admin / " + password), std::string::npos) << "and how to log in";
  auto login = http_request("POST", url + "/api/v1/auth/login", {"Content-Type: application/json"},
                            R"({"username":"admin","password":")" + password + R"("})", ca);
  EXPECT_EQ(login.status, 201) << login.body;
  EXPECT_TRUE(wait_until(
      [&] {
        auto r = http_get(url + "/api/v1/devices?online=true", admin, ca);
        return r.status == 200 && r.json().at("total").to_number<int>() == 3;
      },
      seconds(20)));

  demo->signal(SIGINT);  // what Ctrl-C sends
  EXPECT_EQ(demo->wait(seconds(20)), 0) << demo->log_text();
  std::string left;
  // "[/]tmp/…" matches the path but not this pgrep's own shell command line.
  run_command(
      "pgrep -f '[" + demo_dir.string().substr(0, 1) + "]" + demo_dir.string().substr(1) + "'",
      &left);
  EXPECT_EQ(left, "") << "processes the demo started are still running";
  EXPECT_FALSE(port_open(http_port));
  EXPECT_FALSE(port_open(mqtt_port));
}

}  // namespace
}  // namespace hecs::test
