// hecs-sim against a real broker and control plane (issue 3, point 1).
#include "sim/sim.h"

#include <algorithm>
#include <csignal>
#include <regex>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <sys/resource.h>

#include "common/clock.h"
#include "support/hecs.h"
#include "support/mosquitto.h"

namespace hecs::test {
namespace {
using std::chrono::seconds;

std::string sim_path() { return (bin_dir() / "hecs-sim").string(); }

// Starts hecs-sim with `args` after the broker URL; its output goes to `dir`/sim.log.
std::unique_ptr<Process> spawn_sim(const Mosquitto& broker, const TempDir& dir,
                                   std::vector<std::string> args) {
  args.insert(args.begin(), {sim_path(), "--mqtt-url", broker.url()});
  return Process::spawn(args, dir.path() / "sim.log");
}

// A counter of the summary line ("acks_received=12"), -1 when absent.
long long summary_field(const std::string& log, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(log, m, std::regex("hecs-sim summary:.* " + name + "=([0-9]+)"))) {
    return -1;
  }
  return std::stoll(m[1].str());
}

// Devices the control plane has with online=true / false.
long long devices_total(const Control& control, bool online) {
  auto page =
      control.get(std::string("/api/v1/devices?limit=1&online=") + (online ? "true" : "false"))
          .json();
  return page.is_object() ? page.at("total").to_number<long long>() : -1;
}

// The broker needs a descriptor per agent, and inherits this process's limit.
void raise_descriptor_limit() {
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  limit.rlim_cur = limit.rlim_max;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
}

TEST(SimDeviceId, IsACanonicalUuidThatFollowsFromSeedAndIndex) {
  std::set<std::string> ids;
  for (std::size_t i = 0; i < 1000; ++i) {
    auto id = sim::device_id(42, i);
    EXPECT_TRUE(is_uuid(id)) << id;
    EXPECT_EQ(id, sim::device_id(42, i));
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
  EXPECT_NE(sim::device_id(42, 0), sim::device_id(43, 0));
}

TEST(Sim, AFleetAppearsInTheControlPlaneWithStableIdsAndNothingRejected) {
  auto broker = Mosquitto::start();
  auto control = Control::start(broker->url());
  TempDir dir("sim");
  auto run_sim = [&] {
    auto p = Process::spawn(
        {(bin_dir() / "hecs-sim").string(), "--count", "200", "--interval", "0.5", "--ramp", "1000",
         "--duration", "3", "--seed", "11", "--mqtt-url", broker->url()},
        dir.path() / "sim.log");
    EXPECT_EQ(p->wait(seconds(30)), 0) << p->log_text();
    return p->log_text();
  };
  auto first = run_sim();
  EXPECT_NE(first.find("agents=200 connections=200"), std::string::npos) << first;
  EXPECT_NE(first.find("all 200 agents connected"), std::string::npos) << first;

  std::set<std::string> expected;
  for (std::size_t i = 0; i < 200; ++i) {
    expected.insert(sim::device_id(11, i));
  }
  std::set<std::string> seen;
  ASSERT_TRUE(wait_until(
      [&] {
        seen.clear();
        for (const auto& d : control->devices()) {
          if (d.at("telemetry").is_object() && d.at("inventory").is_object()) {
            seen.emplace(d.at("id").as_string());
          }
        }
        return seen == expected;
      },
      seconds(20)))
      << seen.size() << " of 200 devices with inventory and telemetry";
  auto metrics = http_get(control->url() + "/metrics").body;
  EXPECT_EQ(metrics.find("hecs_mqtt_messages_rejected_total"), std::string::npos) << metrics;

  run_sim();  // the same seed: the same 200 devices, none new
  EXPECT_EQ(control->devices().size(), 200u);
}

TEST(Sim, HelpExplainsEveryKnob) {
  std::string out;
  EXPECT_EQ(run_command((bin_dir() / "hecs-sim").string() + " --help", &out), 0);
  for (const char* flag : {"--count", "--mqtt-url", "--interval", "--jitter", "--seed", "--ramp",
                           "--payload", "--duration", "--keepalive", "--first-index"}) {
    EXPECT_NE(out.find(flag), std::string::npos) << flag;
  }
  EXPECT_NE(out.find("one descriptor"), std::string::npos) << out;
  EXPECT_NE(out.find("ulimit -n"), std::string::npos) << out;
  std::string bad;
  EXPECT_EQ(run_command((bin_dir() / "hecs-sim").string() + " --count 0 2>&1", &bad), 2) << bad;
}

TEST(Sim, ReceivesTheControlPlanesAcksOfItsTelemetry) {
  auto broker = Mosquitto::start();
  auto control = Control::start(broker->url());
  TempDir dir("sim");
  auto sim = spawn_sim(*broker, dir,
                       {"--count", "20", "--interval", "0.2", "--duration", "4", "--seed", "5"});
  ASSERT_EQ(sim->wait(seconds(30)), 0) << sim->log_text();
  auto log = sim->log_text();
  EXPECT_GT(summary_field(log, "acks_received"), 0) << log;
  EXPECT_GT(summary_field(log, "puback_received"), 0) << log;
  EXPECT_EQ(summary_field(log, "publish_failures"), 0) << log;
  EXPECT_EQ(summary_field(log, "subscribe_failures"), 0) << log;
  EXPECT_EQ(summary_field(log, "protocol_errors"), 0) << log;
  EXPECT_EQ(summary_field(log, "commands_unknown"), 0) << log;
  EXPECT_EQ(summary_field(log, "commands_rejected"), 0) << log;
}

TEST(Sim, AgentsOfAKilledSimTurnOfflineThroughTheirLastWills) {
  auto broker = Mosquitto::start();
  auto control = Control::start(broker->url());
  TempDir dir("sim");
  auto sim = spawn_sim(*broker, dir, {"--count", "50", "--interval", "1", "--seed", "21"});
  ASSERT_TRUE(wait_until([&] { return devices_total(*control, true) == 50; }, seconds(20)))
      << sim->log_text();
  sim->signal(SIGKILL);  // no DISCONNECT: the broker publishes each agent's will
  sim->wait(seconds(5));
  EXPECT_TRUE(wait_until([&] { return devices_total(*control, false) == 50; }, seconds(20)))
      << devices_total(*control, false) << " of 50 offline";
  EXPECT_EQ(control->devices().size(), 50u);
}

TEST(Sim, ACleanStopSendsOfflineStatusAndDisconnects) {
  auto broker = Mosquitto::start();
  auto control = Control::start(broker->url());
  TempDir dir("sim");
  auto sim = spawn_sim(*broker, dir, {"--count", "50", "--interval", "1", "--seed", "22"});
  ASSERT_TRUE(wait_until([&] { return devices_total(*control, true) == 50; }, seconds(20)))
      << sim->log_text();
  // A watcher of live status messages: after a DISCONNECT the broker drops the will, so each
  // agent's offline status arrives once (it would come twice, ours and the will, without).
  auto watcher = Process::spawn({"/usr/bin/mosquitto_sub", "-p", std::to_string(broker->port()),
                                 "-v", "-t", "hecs/v1/dev/+/up/status"},
                                dir.path() / "status.log");
  auto seen = [&](const std::string& state) {
    auto text = watcher->log_text();
    auto quoted = "\"" + state + "\"";
    std::size_t n = 0;
    for (auto at = text.find(quoted); at != std::string::npos; at = text.find(quoted, at + 1)) {
      ++n;
    }
    return n;
  };
  auto offline_seen = [&] { return seen("offline"); };
  // The retained "online" of every agent: the watcher is subscribed.
  ASSERT_TRUE(wait_until([&] { return seen("online") == 50; }, seconds(5))) << seen("online");
  sim->signal(SIGTERM);
  ASSERT_EQ(sim->wait(seconds(10)), 0) << sim->log_text();
  EXPECT_NE(sim->log_text().find("agents=50 connections=50 reconnections=0"), std::string::npos)
      << sim->log_text();
  EXPECT_TRUE(wait_until([&] { return devices_total(*control, false) == 50; }, seconds(10)))
      << devices_total(*control, false) << " of 50 offline";
  EXPECT_TRUE(wait_until([&] { return offline_seen() >= 50; }, seconds(5))) << offline_seen();
  std::this_thread::sleep_for(std::chrono::seconds(1));  // room for wills, were any sent
  EXPECT_EQ(offline_seen(), 50u) << watcher->log_text();
}

TEST(Sim, RefusesToStartWhenTheDescriptorLimitCannotHoldTheFleet) {
  std::string out;
  int code = run_command(
      "bash -c 'ulimit -n 100; exec " + sim_path() + " --count 500 --mqtt-url 127.0.0.1:1' 2>&1",
      &out);
  EXPECT_EQ(code, 2) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;  // one line
  for (const char* part : {"--count 500 needs 520 descriptors", "RLIMIT_NOFILE allows 100",
                           "ulimit -n", "--first-index"}) {
    EXPECT_NE(out.find(part), std::string::npos) << part << " in " << out;
  }
}

// libmosquitto held 3 descriptors per agent: about 360 agents under a limit of 1,100.
TEST(Sim, OneProcessHoldsOneAgentPerDescriptor) {
  raise_descriptor_limit();
  auto broker = Mosquitto::start();
  auto control = Control::start(broker->url());
  TempDir dir("sim");
  auto p = Process::spawn({"/bin/bash", "-c",
                           "ulimit -n 1100 && exec " + sim_path() + " --count 1000 --ramp 1000 " +
                               "--interval 10 --seed 31 --mqtt-url " + broker->url()},
                          dir.path() / "sim.log");
  EXPECT_TRUE(wait_until([&] { return devices_total(*control, true) == 1000; }, seconds(25)))
      << devices_total(*control, true) << " of 1000 online\n"
      << p->log_text();
  EXPECT_TRUE(wait_until(
      [&] { return p->log_text().find("all 1000 agents connected") != std::string::npos; },
      seconds(5)))
      << p->log_text();
  p->signal(SIGTERM);
  ASSERT_EQ(p->wait(seconds(15)), 0) << p->log_text();
  auto log = p->log_text();
  EXPECT_NE(log.find("agents=1000 connections=1000 reconnections=0"), std::string::npos) << log;
}

}  // namespace
}  // namespace hecs::test
