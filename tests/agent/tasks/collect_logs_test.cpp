// The collect-logs collector on its own (collect_logs.h; its arguments are in tests/proto):
// confinement (S26), a journalctl that is missing, and the size cap. The real journalctl and the
// whole path through the control plane are in tests/integration/collect_logs_test.cpp.
#include "agent/tasks/collect_logs.h"

#include <filesystem>
#include <fstream>
#include <map>

#include <archive.h>
#include <archive_entry.h>
#include <boost/json/parse.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/crypto/crypto.h"
#include "support/tempdir.h"

namespace hecs::agent::tasks {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::map<std::string, std::string> untar(const std::string& bytes) {
  std::map<std::string, std::string> out;
  archive* a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_memory(a, bytes.data(), bytes.size()), ARCHIVE_OK);
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

class Collector : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_.path() / "logs");
    std::ofstream(dir_.path() / "logs" / "a.log") << "line a\n";
    std::ofstream(dir_.path() / "secret") << "TOPSECRET\n";
    settings_.allow = {dir_.path() / "logs"};
    settings_.scratch_dir = dir_.path() / "scratch";
    settings_.agent_logs = {dir_.path() / "agent.log", dir_.path() / "agent.1.log"};
    std::ofstream(dir_.path() / "agent.log") << "agent.started\n";
  }

  Result<Bundle> run(const std::string& args_json) {
    auto request = parse_collect_args(boost::json::parse(args_json).as_object());
    if (!request) {
      return tl::unexpected(request.error());
    }
    return collect_logs("t1", *request, settings_, cancelled_,
                        std::chrono::steady_clock::now() + std::chrono::seconds(30));
  }

  test::TempDir dir_{"collector"};
  CollectSettings settings_;
  std::atomic<bool> cancelled_{false};
};

TEST_F(Collector, PutsAMissingJournalctlsErrorIntoTheBundleInsteadOfFailing) {
  settings_.journalctl = "/nonexistent/journalctl";
  auto bundle = run(R"({"units":["ssh.service"]})");
  ASSERT_TRUE(bundle) << bundle.error().message;
  EXPECT_EQ(bundle->sha256, crypto::sha256_hex(bundle->bytes));
  auto entries = untar(bundle->bytes);
  EXPECT_THAT(entries["collect-logs-t1/journal/ssh.service.log"],
              HasSubstr("[hecs: cannot run /nonexistent/journalctl: No such file or directory]"));
  EXPECT_EQ(entries["collect-logs-t1/agent/agent.log"], "agent.started\n");
  EXPECT_THAT(entries["collect-logs-t1/MANIFEST.txt"], HasSubstr("journal ssh.service"));
}

TEST_F(Collector, RefusesASymlinkOutOfTheAllowListBeforeReadingAnything) {  // S26
  fs::create_symlink(dir_.path() / "secret", dir_.path() / "logs" / "link");
  auto bundle = run(R"({"paths":[")" + (dir_.path() / "logs" / "link").string() + R"("]})");
  ASSERT_FALSE(bundle);
  EXPECT_EQ(bundle.error().code, Errc::invalid_input);
  EXPECT_THAT(bundle.error().message, HasSubstr("outside the directories collect-logs may read"));
  EXPECT_FALSE(fs::exists(settings_.scratch_dir)) << "something was collected";
}

TEST_F(Collector, FollowsASymlinkThatStaysInsideTheAllowList) {
  fs::create_symlink(dir_.path() / "logs" / "a.log", dir_.path() / "logs" / "alias");
  auto bundle = run(R"({"paths":[")" + (dir_.path() / "logs" / "alias").string() + R"("]})");
  ASSERT_TRUE(bundle) << bundle.error().message;
  auto entries = untar(bundle->bytes);
  EXPECT_EQ(entries["collect-logs-t1/files" + (dir_.path() / "logs" / "a.log").string()],
            "line a\n");
}

TEST_F(Collector, FailsPastTheCapWithAClearError) {
  settings_.max_bytes = 1024;
  std::string noise;
  for (int i = 0; i < 20000; ++i) {
    noise += crypto::sha256_hex(std::to_string(i));
  }
  std::ofstream(dir_.path() / "logs" / "big.log") << noise;
  auto bundle = run(R"({"paths":[")" + (dir_.path() / "logs").string() + R"("]})");
  ASSERT_FALSE(bundle);
  EXPECT_THAT(bundle.error().message, HasSubstr("larger than collect_logs_max_bytes (1024 bytes)"));
}

TEST_F(Collector, StopsWhenCancelled) {
  cancelled_ = true;
  auto bundle = run(R"({"paths":[")" + (dir_.path() / "logs").string() + R"("]})");
  ASSERT_FALSE(bundle);
  EXPECT_EQ(bundle.error().code, Errc::conflict);
}

TEST(ArtifactPieces, CutsTheBundleInOrderAndMarksOnlyTheLastPiece) {
  Bundle bundle{"b.tar.gz", std::string(2 * proto::kMaxArtifactChunkBytes + 7, 'x'), "ab"};
  auto pieces = artifact_pieces("t1", bundle);
  ASSERT_EQ(pieces.size(), 3u);
  std::string joined;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const auto& a = *pieces[i].artifact;
    EXPECT_EQ(a.offset, joined.size());
    EXPECT_EQ(a.size, bundle.bytes.size());
    EXPECT_EQ(a.last, i == 2);
    joined += a.data;
  }
  EXPECT_EQ(joined, bundle.bytes);
}

}  // namespace
}  // namespace hecs::agent::tasks
