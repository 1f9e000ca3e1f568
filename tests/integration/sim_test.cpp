// hecs-sim against a real broker and control plane (issue 3, point 1).
#include "sim/sim.h"

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include "common/clock.h"
#include "common/crypto/crypto.h"
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
  for (const char* flag :
       {"--count", "--mqtt-url", "--interval", "--jitter", "--seed", "--ramp", "--payload",
        "--duration", "--keepalive", "--first-index", "--ca-file", "--state-dir", "--enroll-url",
        "--enroll-token", "--enroll-token-file", "--enroll-concurrency", "--enroll-only"}) {
    EXPECT_NE(out.find(flag), std::string::npos) << flag;
  }
  for (const char* flag :
       {"--command-keys-file", "--task-latency-ms", "--task-output", "--task-fail-percent"}) {
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

// ---- TLS and enrolment (DESIGN §3) --------------------------------------------------------

// An auto-approved enrolment token for `uses` devices.
std::string enrollment_token(const Control& control, int uses) {
  auto r = control.call(
      "POST", "/api/v1/enrollment-tokens",
      R"({"auto_approve":true,"expires_in_s":3600,"max_uses":)" + std::to_string(uses) + "}");
  EXPECT_EQ(r.status, 201) << r.body;
  auto v = r.json();
  return v.is_object() ? std::string(v.at("token").as_string()) : std::string();
}

// hecs-sim over mTLS against `control`'s broker, with its CA and `state_dir`, then `args`.
std::unique_ptr<Process> spawn_tls_sim(const Control& control, const std::filesystem::path& state,
                                       const std::filesystem::path& log,
                                       std::vector<std::string> args,
                                       const std::string& mqtt_url = {},
                                       const std::string& ca_file = {}) {
  args.insert(
      args.begin(),
      {sim_path(), "--mqtt-url", mqtt_url.empty() ? control.mqtt_url() : mqtt_url, "--ca-file",
       ca_file.empty() ? control.ca_file() : ca_file, "--state-dir", state.string()});
  return Process::spawn(args, log);
}

long long devices_in_state(const Control& control, const std::string& state) {
  long long n = 0;
  for (const auto& d : control.devices()) {
    n += d.at("state").as_string() == state ? 1 : 0;
  }
  return n;
}

TEST(SimTls, AFleetEnrolsComesOnlineOverMtlsAndASecondRunEnrolsNobody) {
  auto control = Control::start_secure();
  TempDir dir("sim-tls");
  const auto state = dir.path() / "state";
  const std::string token = enrollment_token(*control, 50);
  const std::vector<std::string> enrol = {"--enroll-url", control->url(),         "--enroll-token",
                                          token,          "--enroll-concurrency", "8"};
  std::vector<std::string> args = {"--count", "50",   "--interval", "0.5",
                                   "--ramp",  "1000", "--seed",     "41"};
  args.insert(args.end(), enrol.begin(), enrol.end());
  auto first = spawn_tls_sim(*control, state, dir.path() / "first.log", args);
  ASSERT_TRUE(wait_until([&] { return devices_total(*control, true) == 50; }, seconds(60)))
      << devices_total(*control, true) << " of 50 online\n"
      << first->log_text();
  std::set<std::string> expected, seen;
  for (std::size_t i = 0; i < 50; ++i) {
    expected.insert(sim::device_id(41, i));
  }
  for (const auto& d : control->devices()) {
    seen.emplace(d.at("id").as_string());
  }
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(devices_in_state(*control, "accepted"), 50);
  std::this_thread::sleep_for(seconds(2));  // telemetry, and the control plane's acks
  first->signal(SIGTERM);
  ASSERT_EQ(first->wait(seconds(15)), 0) << first->log_text();
  auto log = first->log_text();
  EXPECT_NE(log.find("agents=50 connections=50 reconnections=0"), std::string::npos) << log;
  EXPECT_EQ(summary_field(log, "enrolled"), 50) << log;
  EXPECT_EQ(summary_field(log, "enroll_failed"), 0) << log;
  EXPECT_EQ(summary_field(log, "tls_failures"), 0) << log;
  EXPECT_GT(summary_field(log, "acks_received"), 0) << log;
  EXPECT_EQ(summary_field(log, "commands_rejected"), 0) << log;
  EXPECT_NE(log.find("all 50 agents enrolled in"), std::string::npos) << log;
  EXPECT_NE(log.find("all 50 agents connected in"), std::string::npos) << log;
  for (const auto& id : expected) {
    EXPECT_TRUE(std::filesystem::exists(state / (id + ".pem"))) << id;
  }

  // The token is used up now: a run that enrolled anyone would count failures.
  args.insert(args.end(), {"--duration", "3"});
  auto second = spawn_tls_sim(*control, state, dir.path() / "second.log", args);
  ASSERT_EQ(second->wait(seconds(30)), 0) << second->log_text();
  log = second->log_text();
  EXPECT_NE(log.find("agents=50 connections=50 reconnections=0"), std::string::npos) << log;
  EXPECT_EQ(summary_field(log, "enrolled"), 0) << log;
  EXPECT_EQ(summary_field(log, "enroll_failed"), 0) << log;
  EXPECT_GT(summary_field(log, "acks_received"), 0) << log;
  EXPECT_EQ(log.find("agents enrolled in"), std::string::npos) << log;
  EXPECT_EQ(control->devices().size(), 50u);
}

TEST(SimTls, RefusesABrokerThatItsCaDidNotSignOrThatIsNamedOtherwise) {
  auto control = Control::start_secure();
  TempDir dir("sim-tls");
  const auto state = dir.path() / "state";
  const std::string token = enrollment_token(*control, 3);
  auto enrol = spawn_tls_sim(*control, state, dir.path() / "enrol.log",
                             {"--count", "3", "--seed", "42", "--enroll-only", "--enroll-url",
                              control->url(), "--enroll-token", token});
  ASSERT_EQ(enrol->wait(seconds(30)), 0) << enrol->log_text();
  auto log = enrol->log_text();
  EXPECT_EQ(summary_field(log, "enrolled"), 3) << log;
  EXPECT_EQ(summary_field(log, "connections"), 0) << log;

  auto stranger = crypto::CertificateAuthority::create("stranger", 0, 4102444800);
  ASSERT_TRUE(stranger);
  const auto stranger_ca = dir.path() / "stranger.pem";
  std::ofstream(stranger_ca) << stranger->cert_pem();
  const std::string port = std::to_string(control->broker_port());
  struct Case {
    std::string name, url, ca;
  };
  for (const auto& c : {Case{"another CA", control->mqtt_url(), stranger_ca.string()},
                        // 127.1 reaches 127.0.0.1, but the certificate names neither that
                        // address form nor any such DNS name.
                        Case{"another name", "mqtts://127.1:" + port, control->ca_file()}}) {
    auto sim = spawn_tls_sim(*control, state, dir.path() / "refused.log",
                             {"--count", "3", "--seed", "42", "--duration", "2"}, c.url, c.ca);
    ASSERT_EQ(sim->wait(seconds(30)), 0) << c.name << ": " << sim->log_text();
    log = sim->log_text();
    EXPECT_EQ(summary_field(log, "connections"), 0) << c.name << ": " << log;
    EXPECT_GE(summary_field(log, "tls_failures"), 3) << c.name << ": " << log;
    EXPECT_NE(log.find("peer certificate refused"), std::string::npos) << c.name << ": " << log;
    std::filesystem::remove(dir.path() / "refused.log");
  }
  EXPECT_EQ(devices_total(*control, true), 0);

  auto sim = spawn_tls_sim(*control, state, dir.path() / "right.log",
                           {"--count", "3", "--seed", "42", "--duration", "2"});
  ASSERT_EQ(sim->wait(seconds(30)), 0) << sim->log_text();
  log = sim->log_text();
  EXPECT_NE(log.find("agents=3 connections=3 reconnections=0"), std::string::npos) << log;
  EXPECT_EQ(summary_field(log, "tls_failures"), 0) << log;
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
