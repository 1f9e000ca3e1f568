// The executor on a real outbox database and real processes: at most once per task id, cancel
// before arrival, deadlines, restarts, and UTF-8 output (docs/tasks.md, "Agent side").
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "agent/tasks/tasks.h"
#include "agent/tasks/utf8.h"
#include "agent/uplink/uplink.h"
#include "support/tempdir.h"

namespace hecs::agent::tasks {
namespace {
using proto::RunState;

class ExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }

  void open() {
    executor_.reset();
    outbox_.reset();
    auto outbox = uplink::Outbox::open(dir_.path() / "outbox.db", {}, false);
    ASSERT_TRUE(outbox) << outbox.error().message;
    outbox_ = std::move(*outbox);
    Hooks hooks;
    hooks.append = [this](const proto::TaskResult& r, bool droppable) -> Result<void> {
      EXPECT_FALSE(droppable);
      results_.push_back(r);
      auto seq = outbox_->append("t", "{}", random_uuid(), droppable);
      if (!seq) {
        return tl::unexpected(seq.error());
      }
      return {};
    };
    hooks.flush = [] {};
    options_.scratch_dir = dir_.path() / "scratch";
    options_.kill_grace = std::chrono::milliseconds(500);
    auto executor = Executor::open(io_, *outbox_, clock_, hooks, options_);
    ASSERT_TRUE(executor) << executor.error().message;
    executor_ = std::move(*executor);
    ASSERT_TRUE(executor_->recover());
  }

  proto::Command task(const std::string& id, std::vector<std::string> argv,
                      std::int64_t deadline = 0) {
    proto::TaskSpec spec;
    spec.task = id;
    spec.argv = std::move(argv);
    spec.deadline = deadline;
    proto::Command c;
    c.type = "task";
    c.body = proto::to_json(spec);
    return c;
  }

  proto::Command cancel(const std::string& id) {
    proto::Command c;
    c.type = "cancel";
    c.body = proto::to_json(proto::Cancel{id});
    return c;
  }

  // The final states reported for `id`.
  std::vector<proto::TaskResult> finals(const std::string& id) {
    std::vector<proto::TaskResult> out;
    for (const auto& r : results_) {
      if (r.task == id && r.state && proto::is_final(*r.state)) {
        out.push_back(r);
      }
    }
    return out;
  }

  // Runs the loop until `done`, at most `limit`.
  void run_until(const std::function<bool()>& done,
                 std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_for(std::chrono::milliseconds(20));
    }
  }

  test::TempDir dir_{"executor"};
  boost::asio::io_context io_;
  SystemClock clock_;
  std::unique_ptr<uplink::Outbox> outbox_;
  Options options_;
  std::unique_ptr<Executor> executor_;
  std::vector<proto::TaskResult> results_;
};

TEST_F(ExecutorTest, ATaskIdRunsOnceHoweverOftenItArrives) {
  const auto id = random_uuid();
  const auto file = dir_.path() / "ran";
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(executor_->on_command(task(id, {"/bin/sh", "-c", "echo x >> " + file.string()})));
  }
  run_until([&] { return !finals(id).empty(); });
  ASSERT_EQ(finals(id).size(), 1u);
  EXPECT_EQ(*finals(id)[0].state, RunState::succeeded);
  // Again after it ended, and after a restart of the executor: still once.
  executor_->on_command(task(id, {"/bin/sh", "-c", "echo x >> " + file.string()}));
  open();
  executor_->on_command(task(id, {"/bin/sh", "-c", "echo x >> " + file.string()}));
  run_until([] { return false; }, std::chrono::milliseconds(1500));
  std::ifstream in(file);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(all, "x\n");
}

// A run shorter than the output flush sends one message: its final state carrying its output.
TEST_F(ExecutorTest, AShortRunReportsOnceWithItsOutputInTheFinalState) {
  const auto id = random_uuid();
  EXPECT_TRUE(executor_->on_command(task(id, {"/bin/echo", "hello"})));
  run_until([&] { return !finals(id).empty(); });
  ASSERT_EQ(results_.size(), 1u);
  const auto& only = results_.front();
  EXPECT_EQ(only.state, RunState::succeeded);
  ASSERT_TRUE(only.output);
  EXPECT_EQ(only.output->stream, "stdout");
  EXPECT_EQ(only.output->offset, 0u);
  EXPECT_EQ(only.output->data, "hello\n");
  EXPECT_GT(only.started_at, 0);
}

// A short run with output on both streams: "running" first, so that every piece follows a
// state report (a local schedule's task is made by its first one); the last piece rides in the
// final state.
TEST_F(ExecutorTest, AShortRunWithTwoStreamsReportsRunningBeforeItsPieces) {
  const auto id = random_uuid();
  EXPECT_TRUE(executor_->on_command(task(id, {"/bin/sh", "-c", "echo out; echo err >&2"})));
  run_until([&] { return !finals(id).empty(); });
  ASSERT_EQ(results_.size(), 3u);
  EXPECT_EQ(results_[0].state, RunState::running);
  EXPECT_FALSE(results_[0].output);
  ASSERT_TRUE(results_[1].output);
  EXPECT_FALSE(results_[1].state);
  ASSERT_TRUE(results_[2].output);
  EXPECT_EQ(results_[2].state, RunState::succeeded);
  EXPECT_EQ(results_[1].output->data + results_[2].output->data, "out\nerr\n");
}

// A longer one says "running" at the first flush, before any output, then ends with the rest.
TEST_F(ExecutorTest, ALongerRunReportsRunningFirstAndItsOutputInOrder) {
  const auto id = random_uuid();
  EXPECT_TRUE(executor_->on_command(
      task(id, {"/bin/sh", "-c", "sleep 0.5; echo one; sleep 0.5; echo two >&2; echo three"})));
  run_until([&] { return !finals(id).empty(); });
  ASSERT_GE(results_.size(), 2u);
  EXPECT_EQ(results_.front().state, RunState::running);
  EXPECT_FALSE(results_.front().output);
  EXPECT_EQ(results_.back().state, RunState::succeeded);
  std::string out, err;
  for (const auto& r : results_) {
    if (r.output) {
      auto& text = r.output->stream == "stdout" ? out : err;
      EXPECT_EQ(r.output->offset, text.size());
      text += r.output->data;
    }
  }
  EXPECT_EQ(out, "one\nthree\n");
  EXPECT_EQ(err, "two\n");
  EXPECT_EQ(finals(id).size(), 1u);
}

// collect-logs: "running" comes before the artifact's pieces even when the run ends before the
// first output flush, so a local schedule's task exists on the control plane before them.
TEST_F(ExecutorTest, ACollectLogsRunReportsRunningBeforeItsArtifactPieces) {
  std::filesystem::create_directories(dir_.path() / "logs");
  std::ofstream(dir_.path() / "logs" / "app.log") << "line\n";
  options_.collect_allow = {dir_.path() / "logs"};
  options_.journalctl = "/nonexistent/journalctl";
  open();
  const auto id = random_uuid();
  proto::TaskSpec spec;
  spec.task = id;
  spec.kind = proto::TaskKind::builtin;
  spec.builtin = "collect-logs";
  spec.args = boost::json::object{
      {"paths", boost::json::array{(dir_.path() / "logs" / "app.log").string()}}};
  proto::Command c;
  c.type = "task";
  c.body = proto::to_json(spec);
  EXPECT_TRUE(executor_->on_command(c));
  run_until([&] { return !finals(id).empty(); });
  ASSERT_EQ(finals(id).size(), 1u);
  EXPECT_EQ(finals(id)[0].state, RunState::succeeded) << finals(id)[0].error;
  ASSERT_GE(results_.size(), 3u);
  EXPECT_EQ(results_.front().state, RunState::running);
  EXPECT_FALSE(results_.front().artifact);
  std::size_t pieces = 0;
  for (std::size_t i = 1; i + 1 < results_.size(); ++i) {
    pieces += results_[i].artifact ? 1 : 0;
  }
  EXPECT_GE(pieces, 1u);
  EXPECT_EQ(results_.back().state, RunState::succeeded);
}

TEST_F(ExecutorTest, ACancelThatOvertakesItsTaskKeepsItFromRunning) {
  const auto id = random_uuid();
  const auto file = dir_.path() / "ran";
  executor_->on_command(cancel(id));
  executor_->on_command(task(id, {"/bin/sh", "-c", "echo x >> " + file.string()}));
  run_until([] { return false; }, std::chrono::milliseconds(1500));
  ASSERT_EQ(finals(id).size(), 1u);
  EXPECT_EQ(*finals(id)[0].state, RunState::cancelled);
  EXPECT_FALSE(std::filesystem::exists(file));
}

TEST_F(ExecutorTest, ATaskPastItsDeadlineExpiresUnrun) {
  const auto id = random_uuid();
  executor_->on_command(task(id, {"true"}, clock_.now_ms() / 1000 - 10));
  run_until([&] { return !finals(id).empty(); });
  ASSERT_EQ(finals(id).size(), 1u);
  EXPECT_EQ(*finals(id)[0].state, RunState::expired);
}

TEST_F(ExecutorTest, ARunCutByARestartIsReportedInterruptedNotRerun) {
  const auto id = random_uuid();
  executor_->on_command(task(id, {"sleep", "30"}));
  run_until([&] { return executor_->running() == 1; });
  executor_->stop();  // as at agent shutdown: the journal still says running
  run_until([] { return false; }, std::chrono::milliseconds(1500));
  results_.clear();
  open();
  ASSERT_EQ(finals(id).size(), 1u);
  EXPECT_EQ(*finals(id)[0].state, RunState::interrupted);
  EXPECT_EQ(executor_->running(), 0u);
}

TEST_F(ExecutorTest, AnInvalidTaskIsReportedFailedWithTheReason) {
  const auto id = random_uuid();
  proto::Command c;
  c.type = "task";
  c.body = boost::json::object{{"task", id},
                               {"command", boost::json::object{{"argv", boost::json::array{}}}}};
  executor_->on_command(c);
  ASSERT_EQ(finals(id).size(), 1u);
  EXPECT_EQ(*finals(id)[0].state, RunState::failed);
  EXPECT_NE(finals(id)[0].error.find("argv"), std::string::npos) << finals(id)[0].error;
}

TEST(Utf8, SplitSequencesAreJoinedAndInvalidBytesReplaced) {
  std::string carry;
  EXPECT_EQ(take_utf8(carry, "caf\xC3", false), "caf");
  EXPECT_EQ(carry, "\xC3");
  EXPECT_EQ(take_utf8(carry, "\xA9!", false), "\xC3\xA9!");
  EXPECT_EQ(take_utf8(carry,
                      "a\xFF"
                      "b",
                      false),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(take_utf8(carry, "\xE2\x82", true), "\xEF\xBF\xBD");  // cut at the end: replaced
  EXPECT_EQ(take_utf8(carry, "\xED\xA0\x80", true).substr(0, 3), "\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(utf8_prefix("ab\xC3\xA9", 3), 2u);  // never inside a character
}

TEST(Utf8, NulBytesBecomeTheSymbolForNull) {
  std::string carry;
  // As `cat /proc/1/environ` prints: NUL-separated.
  EXPECT_EQ(take_utf8(carry, std::string_view("A=1\0B=2\0", 8), false),
            "A=1\xE2\x90\x80"
            "B=2\xE2\x90\x80");
  EXPECT_EQ(take_utf8(carry, "\xC3", false), "");
  EXPECT_EQ(take_utf8(carry, std::string_view("\0", 1), true),
            "\xEF\xBF\xBD\xE2\x90\x80");  // a cut sequence, then the NUL
}

}  // namespace
}  // namespace hecs::agent::tasks
