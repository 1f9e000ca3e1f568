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

std::vector<std::string> sql_lines(const std::filesystem::path& db, const std::string& query) {
  std::string out;
  run_command("sqlite3 -readonly '" + db.string() + "' \"" + query + "\" 2>&1", &out);
  std::vector<std::string> result;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    result.push_back(line);
  }
  return result;
}

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
  auto agent = Agent::start(broker->url(), /*interval_s=*/1, 5);
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

// Telemetry envelopes for one device, one per line (mosquitto_pub -l sends each line).
std::filesystem::path write_batch(const TempDir& dir, const std::string& name, std::size_t n,
                                  std::vector<std::string>& ids) {
  auto path = dir.path() / name;
  std::ofstream out(path);
  for (std::size_t i = 0; i < n; ++i) {
    proto::Telemetry t;
    t.uptime_s = i;
    auto env = proto::make_envelope("telemetry", 1'700'000'000'000 + static_cast<long>(i),
                                    proto::to_json(t));
    ids.push_back(env.id);
    out << proto::serialize(env) << "\n";
  }
  return path;
}

std::string pub_command(const Mosquitto& broker, const std::string& device,
                        const std::filesystem::path& lines) {
  return "mosquitto_pub -h 127.0.0.1 -p " + std::to_string(broker.port()) + " -q 1 -l -t '" +
         proto::up_topic(device, proto::UpKind::telemetry) + "' < " + lines.string();
}

TEST(Durability, AControlPlaneKilledWhileIngestingKeepsAConsistentStoreAndItsQueue) {
  auto broker = Mosquitto::start();
  auto control = Control::start(broker->url());
  TempDir dir("s29control");
  const std::string device = random_uuid();
  auto db = control->data_dir() / "hecs.db";

  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> pause_ms(20, 400);
  std::vector<std::string> flood_ids, queued_ids;
  const int rounds = std::max(2, HECS_DURABILITY_ITERATIONS / 2);
  for (int round = 0; round < rounds; ++round) {
    auto flood = write_batch(dir, "flood" + std::to_string(round), 1000, flood_ids);
    auto publisher = Process::spawn({"/bin/sh", "-c", pub_command(*broker, device, flood)},
                                    dir.path() / "pub.log");
    std::this_thread::sleep_for(milliseconds(pause_ms(rng)));
    control->kill(SIGKILL);  // somewhere in the middle of ingest batches
    // Published while the control plane is dead: its persistent session must keep these.
    auto queued = write_batch(dir, "queued" + std::to_string(round), 200, queued_ids);
    ASSERT_EQ(run_command(pub_command(*broker, device, queued)), 0);
    EXPECT_EQ(publisher->wait(seconds(30)), 0);
    control->restart();
    EXPECT_EQ(sql_lines(db, "PRAGMA quick_check"), std::vector<std::string>{"ok"});
  }

  std::multiset<std::string> ids;
  bool queued_arrived = wait_until(
      [&] {
        ids = stored_ids(*control, device);
        return std::all_of(queued_ids.begin(), queued_ids.end(),
                           [&](const std::string& id) { return ids.count(id) == 1; });
      },
      seconds(30));
  EXPECT_TRUE(queued_arrived) << ids.size() << " stored of " << queued_ids.size() << " queued";
  control->kill(SIGTERM);
  EXPECT_EQ(sql_lines(db, "PRAGMA integrity_check"), std::vector<std::string>{"ok"});
  EXPECT_EQ(sql_lines(db, "SELECT COUNT(*) - COUNT(DISTINCT message_id) FROM telemetry_raw"),
            std::vector<std::string>{"0"});
  std::size_t flood_stored = 0;
  for (const auto& id : flood_ids) {
    flood_stored += ids.count(id);
  }
  // Not asserted: libmosquitto acknowledges a QoS 1 message before our batch commits, so a
  // kill can lose up to one batch of the flood (the fix is an end-to-end ack; see
  // docs/protocol.md). Printed so the window is visible.
  std::cout << "flood: " << flood_stored << " of " << flood_ids.size() << " stored across "
            << rounds << " kills\n";
}

}  // namespace
}  // namespace hecs::test
