// S29: SIGKILL at random points while the agent writes its outbox and while the control plane
// writes ingest batches. A short run is part of `make test`; `make soak` runs 1,000 iterations
// (HECS_DURABILITY_ITERATIONS is set by the soak build).
#include <algorithm>
#include <csignal>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "common/clock.h"
#include "proto/proto.h"
#include "support/hecs.h"
#include "support/mosquitto.h"

#ifndef HECS_DURABILITY_ITERATIONS
#define HECS_DURABILITY_ITERATIONS 6
#endif

namespace hecs::test {
namespace {
using std::chrono::milliseconds;
using std::chrono::seconds;

std::multiset<std::string> stored_ids(const Control& control, const std::string& device) {
  std::multiset<std::string> ids;
  auto r = control.get("/api/v1/devices/" + device + "/telemetry?since=0&limit=5000");
  if (r.status == 200) {
    auto body = r.json();
    for (const auto& item : body.at("items").as_array()) {
      ids.emplace(item.at("id").as_string());
    }
  }
  return ids;
}

TEST(Durability, AnAgentKilledWhileWritingItsOutboxLosesNoCommittedSample) {
  auto broker = Mosquitto::start();
  auto control = Control::start(broker->url());
  auto agent = Agent::start(*control, /*interval_s=*/1, 5);
  ASSERT_TRUE(
      wait_until([&] { return control->device(agent->device_id()).is_object(); }, seconds(20)));
  broker->stop();  // from here on every sample goes to the outbox

  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> pause_ms(300, 2500);
  for (int i = 0; i < HECS_DURABILITY_ITERATIONS; ++i) {
    std::this_thread::sleep_for(milliseconds(pause_ms(rng)));
    agent->kill(SIGKILL);
    agent->restart();
  }
  std::this_thread::sleep_for(milliseconds(1500));
  agent->kill(SIGKILL);

  auto outbox = agent->state_dir() / "outbox.db";
  EXPECT_EQ(sql_lines(outbox, "PRAGMA integrity_check"), std::vector<std::string>{"ok"});
  auto committed = sql_lines(outbox, "SELECT json_extract(payload, '$.id') FROM outbox");
  ASSERT_FALSE(committed.empty()) << "no sample was committed while the broker was down";

  broker->restart();
  agent->restart();
  std::multiset<std::string> ids;
  bool all_there = wait_until(
      [&] {
        ids = stored_ids(*control, agent->device_id());
        return std::all_of(committed.begin(), committed.end(),
                           [&](const std::string& id) { return ids.count(id) == 1; });
      },
      seconds(60));
  EXPECT_TRUE(all_there) << committed.size() << " committed, " << ids.size() << " stored\n"
                         << agent->process().log_text();
  for (const auto& id : ids) {
    EXPECT_EQ(ids.count(id), 1u) << id << " stored twice";
  }
}

// Fills an agent's outbox with `n` telemetry samples, as if it had been offline for hours.
std::vector<std::string> fill_outbox(const Agent& agent, std::size_t n, const TempDir& dir) {
  std::vector<std::string> ids;
  auto sql = dir.path() / "fill.sql";
  std::ofstream out(sql);
  out << "BEGIN;\n";
  const auto topic = proto::up_topic(agent.device_id(), proto::UpKind::telemetry);
  const std::int64_t now = SystemClock{}.now_ms();
  for (std::size_t i = 0; i < n; ++i) {
    proto::Telemetry t;
    t.uptime_s = i;
    // Recent samples, one a second: older ones would fall out of the raw window (48 h).
    auto env = proto::make_envelope("telemetry", now - static_cast<std::int64_t>(n - i) * 1000,
                                    proto::to_json(t));
    ids.push_back(env.id);
    out << "INSERT INTO outbox(topic, payload, created_at, msg_id) VALUES ('" << topic << "', '"
        << proto::serialize(env) << "', 0, '" << env.id << "');\n";
  }
  out << "COMMIT;\n";
  out.close();
  auto db = agent.state_dir() / "outbox.db";
  EXPECT_EQ(run_command("sqlite3 '" + db.string() + "' < " + sql.string()), 0);
  return ids;
}

TEST(Durability, AControlPlaneKilledWhileIngestingLosesNothingAnAgentSent) {
  auto broker = Mosquitto::start();
  auto control = Control::start(broker->url());
  TempDir dir("s29control");
  // An agent whose outbox holds a long offline period: it creates its state, then stops.
  // A short ack timeout: acks lost with a killed control plane are made good quickly.
  auto agent = Agent::start(*control, /*interval_s=*/3600, 5, {"--ack-timeout", "3"});
  ASSERT_TRUE(
      wait_until([&] { return control->device(agent->device_id()).is_object(); }, seconds(20)));
  agent->kill(SIGKILL);
  auto sent = fill_outbox(*agent, 5000, dir);
  auto db = control->data_dir() / "hecs.db";

  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> pause_ms(30, 600);
  agent->restart();  // starts draining 5,000 samples into the control plane
  const int kills = std::max(3, HECS_DURABILITY_ITERATIONS / 2);
  for (int i = 0; i < kills; ++i) {
    std::this_thread::sleep_for(milliseconds(pause_ms(rng)));
    control->kill(SIGKILL);  // anywhere: between a PUBACK and a commit, mid-batch, mid-ack
    EXPECT_EQ(sql_lines(db, "PRAGMA quick_check"), std::vector<std::string>{"ok"});
    control->restart();
  }

  // Every sample the agent committed is stored exactly once, and the agent's outbox empties.
  auto outbox = agent->state_dir() / "outbox.db";
  bool drained = wait_until(
      [&] {
        return sql_lines(outbox, "SELECT COUNT(*) FROM outbox") == std::vector<std::string>{"0"};
      },
      seconds(150));
  EXPECT_TRUE(drained) << sql_lines(outbox, "SELECT COUNT(*) FROM outbox").front()
                       << " samples still waiting for an ack\n"
                       << agent->process().log_text();
  auto ids = stored_ids(*control, agent->device_id());
  std::size_t missing = 0;
  for (const auto& id : sent) {
    missing += ids.count(id) == 0 ? 1 : 0;
  }
  EXPECT_EQ(missing, 0u) << "of " << sent.size() << " sent";
  control->kill(SIGTERM);
  EXPECT_EQ(sql_lines(db, "PRAGMA integrity_check"), std::vector<std::string>{"ok"});
  EXPECT_EQ(sql_lines(db, "SELECT COUNT(*) - COUNT(DISTINCT message_id) FROM telemetry_raw"),
            std::vector<std::string>{"0"});
}

}  // namespace
}  // namespace hecs::test
