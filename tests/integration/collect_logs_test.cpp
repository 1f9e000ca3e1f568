// The collect-logs builtin end to end (issue 6, S26): a real broker, hecs-control and agent; the
// bundle travels as artifact pieces on up/result and is downloaded and checked by its sha256.
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include <archive.h>
#include <archive_entry.h>
#include <boost/json/serialize.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/crypto/crypto.h"
#include "support/hecs.h"
#include "support/mosquitto.h"
#include "support/process.h"
#include "support/tempdir.h"

namespace hecs::test {
namespace {
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;
namespace json = boost::json;
namespace fs = std::filesystem;

// The entries of a tar.gz, name → content, read with libarchive.
std::map<std::string, std::string> untar(const std::string& bytes) {
  std::map<std::string, std::string> out;
  archive* a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_format_tar(a);
  if (archive_read_open_memory(a, bytes.data(), bytes.size()) != ARCHIVE_OK) {
    ADD_FAILURE() << "not a tar.gz: " << archive_error_string(a);
    archive_read_free(a);
    return out;
  }
  archive_entry* entry = nullptr;
  while (archive_read_next_header(a, &entry) == ARCHIVE_OK) {
    std::string content(static_cast<std::size_t>(archive_entry_size(entry)), '\0');
    if (!content.empty()) {
      archive_read_data(a, content.data(), content.size());
    }
    out[archive_entry_pathname(entry)] = std::move(content);
  }
  archive_read_free(a);
  return out;
}

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

class CollectLogs : public ::testing::Test {
 protected:
  void SetUp() override {
    allowed_ = scratch_.path() / "allowed";
    outside_ = scratch_.path() / "outside";
    write_file(allowed_ / "app.log", "hello from the app\n");
    write_file(allowed_ / "sub" / "nested.log", "nested line\n");
    write_file(outside_ / "secret.txt", "TOPSECRET\n");
    fs::create_symlink(outside_ / "secret.txt", allowed_ / "escape");
    fs::create_symlink(outside_, allowed_ / "escape-dir");
    broker_ = Mosquitto::start();
    control_ = Control::start(broker_->url(), {}, {"--task-resend-seconds", "1"});
    agent_ = start_agent({});
  }

  std::unique_ptr<Agent> start_agent(std::vector<std::string> extra) {
    extra.insert(extra.end(), {"--log-file", (scratch_.path() / "agent.log").string(),
                               "--collect-logs-allow", allowed_.string()});
    auto agent = Agent::start(*control_, 30, 5, extra);
    EXPECT_TRUE(
        wait_until([&] { return control_->device(agent->device_id()).is_object(); }, seconds(20)));
    return agent;
  }

  // Creates a collect-logs task for `device` and waits for the run's final state.
  std::pair<std::string, json::value> collect(const json::object& args, const Agent& agent) {
    json::object body{
        {"target", json::object{{"devices", json::array{json::string(agent.device_id())}}}},
        {"command", json::object{{"builtin", "collect-logs"}, {"args", args}}}};
    auto r = control_->call("POST", "/api/v1/tasks", json::serialize(body));
    EXPECT_EQ(r.status, 201) << r.body;
    if (r.status != 201) {
      return {"", nullptr};
    }
    const std::string task(r.json().at("id").as_string());
    json::value run;
    wait_until(
        [&] {
          auto runs = control_->get("/api/v1/tasks/" + task + "/runs");
          if (runs.status != 200 || runs.json().at("items").as_array().empty()) {
            return false;
          }
          run = runs.json().at("items").at(0);
          const auto state = run.at("state").as_string();
          return state != "queued" && state != "sent" && state != "running";
        },
        seconds(60));
    return {task, run};
  }

  std::string artifact_url(const std::string& task, const Agent& agent) const {
    return control_->url() + "/api/v1/tasks/" + task + "/runs/" + agent.device_id() + "/artifact";
  }

  TempDir scratch_{"collect"};
  fs::path allowed_, outside_;
  std::unique_ptr<Mosquitto> broker_;
  std::unique_ptr<Control> control_;
  std::unique_ptr<Agent> agent_;
};

TEST_F(CollectLogs, BundlesAgentLogAllowedFilesAndJournalctlsErrorSinceNoJournaldRunsHere) {
  // No journald in this sandbox: the unit's section must then carry journalctl's own error.
  ASSERT_FALSE(fs::exists("/run/systemd/journal/socket"))
      << "journald runs here: this test expects its absence";
  auto [task, run] = collect(json::object{{"units", json::array{"ssh.service"}},
                                          {"since", "-1h"},
                                          {"paths", json::array{json::string(allowed_.string())}}},
                             *agent_);
  ASSERT_EQ(run.at("state").as_string(), "succeeded") << json::serialize(run);
  const auto& artifact = run.at("artifact");
  ASSERT_TRUE(artifact.is_object()) << json::serialize(run);
  EXPECT_EQ(artifact.at("state").as_string(), "complete");
  EXPECT_EQ(artifact.at("name").as_string(), "collect-logs-" + task + ".tar.gz");

  auto download = http_get(artifact_url(task, *agent_), control_->api_key());
  ASSERT_EQ(download.status, 200) << download.body;
  EXPECT_EQ(download.content_type, "application/gzip");
  const auto sha = crypto::sha256_hex(download.body);
  EXPECT_EQ(sha, artifact.at("sha256").as_string());
  EXPECT_EQ(download.header("x-content-sha256"), sha);
  EXPECT_EQ(download.header("content-disposition"),
            "attachment; filename=\"collect-logs-" + task + ".tar.gz\"");
  EXPECT_EQ(static_cast<std::int64_t>(download.body.size()), artifact.at("size").as_int64());

  auto entries = untar(download.body);
  const std::string top = "collect-logs-" + task + "/";
  ASSERT_TRUE(entries.count(top + "agent/agent.log")) << "entries: " << entries.size();
  EXPECT_THAT(entries[top + "agent/agent.log"], HasSubstr("agent.started"));
  ASSERT_TRUE(entries.count(top + "journal/ssh.service.log"));
  EXPECT_THAT(entries[top + "journal/ssh.service.log"],
              HasSubstr("[hecs: journalctl stderr]\nNo journal files were found."));
  EXPECT_EQ(entries[top + "files" + allowed_.string() + "/app.log"], "hello from the app\n");
  EXPECT_EQ(entries[top + "files" + allowed_.string() + "/sub/nested.log"], "nested line\n");
  // Symlinks inside a collected directory are listed, never followed.
  EXPECT_THAT(entries[top + "MANIFEST.txt"], HasSubstr("escape: a symlink, not followed"));
  for (const auto& [name, content] : entries) {
    EXPECT_THAT(content, Not(HasSubstr("TOPSECRET"))) << name;
  }

  // hecsctl downloads the same bytes and checks them.
  const auto saved = scratch_.path() / "bundle.tar.gz";
  std::string output;
  const int code =
      run_command((bin_dir() / "hecsctl").string() + " --url " + control_->url() + " --api-key " +
                      control_->api_key() + " tasks artifact " + task + " --device " +
                      agent_->device_id() + " --out " + saved.string() + " 2>&1",
                  &output);
  EXPECT_EQ(code, 0) << output;
  std::ifstream in(saved, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), download.body);
}

// Paths that are wrong as text are refused by the POST itself: 400, no task.
TEST_F(CollectLogs, RefusesDotDotRelativeAndNulPathsAtThePost) {  // S26
  const struct {
    std::string path;
    std::string error;
  } cases[] = {
      {allowed_.string() + "/../outside/secret.txt", "'..' components are not allowed"},
      {"relative/app.log", "must be an absolute path"},
      {allowed_.string() + std::string("/app.log\0.txt", 13), "contains NUL"},
  };
  for (const auto& c : cases) {
    json::object body{
        {"target", json::object{{"devices", json::array{json::string(agent_->device_id())}}}},
        {"command",
         json::object{{"builtin", "collect-logs"},
                      {"args", json::object{{"paths", json::array{json::string(c.path)}}}}}}};
    auto r = control_->call("POST", "/api/v1/tasks", json::serialize(body));
    EXPECT_EQ(r.status, 400) << c.path << "\n" << r.body;
    EXPECT_THAT(r.body, HasSubstr(c.error)) << c.path;
  }
  EXPECT_TRUE(control_->get("/api/v1/tasks").json().at("items").as_array().empty());
}

// Paths that only the node can judge (its allow-list, its symlinks) fail the run there.
TEST_F(CollectLogs, RefusesPathsThatEscapeTheAllowListAndCollectsNothing) {  // S26
  const struct {
    std::string path;
    std::string error;
  } cases[] = {
      {"/etc/passwd", "outside the directories collect-logs may read"},
      {(allowed_ / "escape").string(), "resolves to " + (outside_ / "secret.txt").string()},
      {(allowed_ / "escape-dir").string(), "outside the directories collect-logs may read"},
  };
  for (const auto& c : cases) {
    auto [task, run] = collect(
        json::object{{"paths", json::array{json::string(allowed_.string()), json::string(c.path)}}},
        *agent_);
    ASSERT_TRUE(run.is_object()) << c.path;
    EXPECT_EQ(run.at("state").as_string(), "failed") << c.path;
    EXPECT_THAT(std::string(run.at("error").as_string()), HasSubstr(c.error)) << c.path;
    EXPECT_TRUE(run.at("artifact").is_null()) << c.path;
    EXPECT_EQ(http_get(artifact_url(task, *agent_), control_->api_key()).status, 404) << c.path;
  }
}

TEST_F(CollectLogs, ABundleOverTheCapFailsWithAClearError) {
  std::string noise(256 * 1024, '\0');
  std::mt19937 random(7);
  for (auto& c : noise) {
    c = static_cast<char>(random());
  }
  write_file(allowed_ / "noise.bin", noise);  // does not compress below the cap of 64 KiB
  auto small = start_agent({"--collect-logs-max-bytes", "65536"});
  auto [task, run] =
      collect(json::object{{"paths", json::array{json::string(allowed_.string())}}}, *small);
  EXPECT_EQ(run.at("state").as_string(), "failed");
  EXPECT_THAT(std::string(run.at("error").as_string()),
              HasSubstr("larger than collect_logs_max_bytes (65536 bytes)"));
  EXPECT_TRUE(run.at("artifact").is_null());
}

TEST_F(CollectLogs, AViewerDownloadsAndAnotherTenantGets404) {
  auto [task, run] =
      collect(json::object{{"paths", json::array{json::string(allowed_.string())}}}, *agent_);
  ASSERT_EQ(run.at("state").as_string(), "succeeded") << json::serialize(run);
  auto key = control_->call("POST", "/api/v1/keys", R"({"name":"reader","role":"viewer"})");
  ASSERT_EQ(key.status, 201) << key.body;
  auto mine = http_get(artifact_url(task, *agent_), std::string(key.json().at("key").as_string()));
  EXPECT_EQ(mine.status, 200);
  EXPECT_EQ(crypto::sha256_hex(mine.body), run.at("artifact").at("sha256").as_string());

  auto made = control_->call("POST", "/api/v1/tenants",
                             R"({"name":"initech","owner":{"username":"initech-owner",)"
                             R"("password":"a long enough password"}})");
  ASSERT_EQ(made.status, 201) << made.body;
  auto login = http_request("POST", control_->url() + "/api/v1/auth/login",
                            {"Content-Type: application/json"},
                            R"({"username":"initech-owner","password":"a long enough password",)"
                            R"("mode":"token"})");
  ASSERT_EQ(login.status, 201) << login.body;
  auto theirs =
      http_get(artifact_url(task, *agent_), std::string(login.json().at("token").as_string()));
  EXPECT_EQ(theirs.status, 404);
  EXPECT_THAT(theirs.body, Not(HasSubstr(run.at("artifact").at("sha256").as_string())));
}

}  // namespace
}  // namespace hecs::test
