// hecs-sim against a real broker and control plane (issue 3, point 1).
#include "sim/sim.h"

#include <set>

#include <gtest/gtest.h>

#include "common/clock.h"
#include "support/hecs.h"
#include "support/mosquitto.h"

namespace hecs::test {
namespace {
using std::chrono::seconds;

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
                           "--payload", "--duration", "--keepalive"}) {
    EXPECT_NE(out.find(flag), std::string::npos) << flag;
  }
  std::string bad;
  EXPECT_EQ(run_command((bin_dir() / "hecs-sim").string() + " --count 0 2>&1", &bad), 2) << bad;
}

}  // namespace
}  // namespace hecs::test
