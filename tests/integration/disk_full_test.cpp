// S30: a full disk under the control plane's database or the agent's outbox. A small tmpfs
// (mounted by the test, as root) is the disk; growing it is "space is back".
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include "common/clock.h"
#include "proto/proto.h"
#include "support/hecs.h"
#include "support/mosquitto.h"

namespace hecs::test {
namespace {
using std::chrono::seconds;

// A tmpfs of `size` mounted on `dir` for the test's lifetime.
class SmallDisk {
 public:
  SmallDisk(const std::filesystem::path& dir, const std::string& size) : dir_(dir) {
    std::filesystem::create_directories(dir);
    mounted_ = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
  }
  ~SmallDisk() {
    if (mounted_) {
      ::umount2(dir_.c_str(), MNT_DETACH);
    }
  }
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;
  bool mounted() const { return mounted_; }
  bool grow(const std::string& size) {
    return ::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT, ("size=" + size).c_str()) == 0;
  }

 private:
  std::filesystem::path dir_;
  bool mounted_ = false;
};

TEST(DiskFull, TheControlPlaneKeepsServingAndCatchesUpWhenSpaceIsBack) {
  ASSERT_EQ(::geteuid(), 0u) << "mounting a tmpfs needs root, as make test runs";
  auto broker = Mosquitto::start();
  TempDir dir("diskfull");
  SmallDisk disk(dir.path() / "data", "3m");
  ASSERT_TRUE(disk.mounted()) << std::strerror(errno);
  auto control = Control::start(broker->url(), (dir.path() / "data" / "hecs.db").string());

  // An agent that has been offline a while: 4,000 samples (about 5 MB) to deliver.
  auto agent = Agent::start(*control, 3600, 5, {"--ack-timeout", "3"});
  ASSERT_TRUE(
      wait_until([&] { return control->device(agent->device_id()).is_object(); }, seconds(20)));
  agent->kill(SIGKILL);
  std::vector<std::string> sent;
  {
    std::ofstream sql(dir.path() / "fill.sql");
    sql << "BEGIN;\n";
    auto topic = proto::up_topic(agent->device_id(), proto::UpKind::telemetry);
    auto now = SystemClock{}.now_ms();
    for (int i = 0; i < 4000; ++i) {
      proto::Telemetry t;
      for (int d = 0; d < 8; ++d) {
        t.disks.push_back({"/mnt/disk" + std::to_string(d), 1u << 30, 1u << 20});
      }
      auto env = proto::make_envelope("telemetry", now - (4000 - i) * 1000, proto::to_json(t));
      sent.push_back(env.id);
      sql << "INSERT INTO outbox(topic, payload, created_at, msg_id) VALUES ('" << topic << "', '"
          << proto::serialize(env) << "', 0, '" << env.id << "');\n";
    }
    sql << "COMMIT;\n";
  }
  ASSERT_EQ(run_command("sqlite3 '" + (agent->state_dir() / "outbox.db").string() + "' < " +
                        (dir.path() / "fill.sql").string()),
            0);
  agent->restart();

  // The disk fills: ingest transactions fail, the control plane stays up and answers reads.
  ASSERT_TRUE(wait_until([&] { return control->metric("hecs_ingest_store_errors_total") > 0; },
                         seconds(60)))
      << control->process().log_text();
  EXPECT_TRUE(control->process().running());
  EXPECT_EQ(control->get("/api/v1/devices").status, 200);
  EXPECT_EQ(http_get(control->url() + "/healthz").status, 200);

  // Space comes back: everything the agent sent is stored exactly once, the database is sound.
  ASSERT_TRUE(disk.grow("256m"));
  auto outbox = agent->state_dir() / "outbox.db";
  EXPECT_TRUE(wait_until(
      [&] {
        return sql_lines(outbox, "SELECT COUNT(*) FROM outbox") == std::vector<std::string>{"0"};
      },
      seconds(90)))
      << control->process().log_text();
  auto r = control->get("/api/v1/devices/" + agent->device_id() + "/telemetry?since=0&limit=5000");
  ASSERT_EQ(r.status, 200);
  auto body = r.json();
  std::multiset<std::string> stored;
  for (const auto& item : body.at("items").as_array()) {
    stored.emplace(item.at("id").as_string());
  }
  std::size_t missing = 0;
  for (const auto& id : sent) {
    missing += stored.count(id) == 1 ? 0 : 1;
  }
  EXPECT_EQ(missing, 0u);
  control->kill(SIGTERM);
  EXPECT_EQ(sql_lines(dir.path() / "data" / "hecs.db", "PRAGMA integrity_check"),
            std::vector<std::string>{"ok"});
}

TEST(DiskFull, AnAgentWithAFullDiskKeepsRunningAndResumesWhenSpaceIsBack) {
  ASSERT_EQ(::geteuid(), 0u) << "mounting a tmpfs needs root, as make test runs";
  auto broker = Mosquitto::start();
  auto control = Control::start(broker->url());
  TempDir dir("agentfull");
  SmallDisk disk(dir.path() / "state", "2m");
  ASSERT_TRUE(disk.mounted()) << std::strerror(errno);
  auto state = dir.path() / "state";
  std::vector<std::string> argv = {(bin_dir() / "hecs-agent").string(),
                                   "--state-dir",
                                   state.string(),
                                   "--mqtt-url",
                                   broker->url(),
                                   "--telemetry-interval",
                                   "1"};
  for (auto& arg : command_keys_args(*control)) {
    argv.push_back(arg);
  }
  auto agent = Process::spawn(argv, dir.path() / "agent.log");
  ASSERT_TRUE(
      wait_until([&] { return std::filesystem::exists(state / "device-id"); }, seconds(10)));
  std::string id;
  std::ifstream(state / "device-id") >> id;
  broker->stop();  // samples must now be stored locally, on a disk about to be full
  {
    std::ofstream junk(state / "junk", std::ios::binary);
    std::string block(64 * 1024, 'j');
    while (junk.write(block.data(), static_cast<std::streamsize>(block.size()))) {
    }
  }
  ASSERT_TRUE(wait_until(
      [&] { return agent->log_text().find("telemetry.store_failed") != std::string::npos; },
      seconds(15)))
      << agent->log_text();
  EXPECT_TRUE(agent->running());

  std::filesystem::remove(state / "junk");
  auto resumed_at = format_rfc3339_ms(SystemClock{}.now_ms());
  broker->restart();
  // Samples taken after the space came back reach the control plane (RFC 3339 strings of one
  // format compare like times).
  EXPECT_TRUE(wait_until(
      [&] {
        auto d = control->device(id);
        return d.is_object() && d.at("online").as_bool() && d.at("telemetry_at").is_string() &&
               std::string(d.at("telemetry_at").as_string()) > resumed_at;
      },
      seconds(30)))
      << agent->log_text();
  EXPECT_TRUE(agent->running());
}

}  // namespace
}  // namespace hecs::test
