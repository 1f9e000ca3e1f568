// The task protocol: task specs, cancel, and up/result bodies (docs/protocol.md, docs/tasks.md).
#include <string>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "proto/proto.h"

namespace hecs::proto {
namespace {

constexpr const char* kTask = "0b0f7c1e-9a38-4c1c-8d35-3f2b5a1c9e77";

boost::json::object object(const std::string& text) { return boost::json::parse(text).as_object(); }

Result<TaskResult> result(const std::string& fields) {
  return parse_task_result(object(std::string(R"({"task":")") + kTask + "\"," + fields + "}"));
}

TEST(TaskResult, AStateAPieceOfOutputOrBothRoundTrip) {
  TaskResult state;
  state.task = kTask;
  state.state = RunState::running;
  state.started_at = 1000;
  TaskResult output;
  output.task = kTask;
  output.output = OutputChunk{"stderr", 8192, "warning: é\n"};
  TaskResult both = state;
  both.state = RunState::failed;
  both.ended_at = 1500;
  both.exit_code = 3;
  both.stdout_bytes = 10;
  both.stderr_bytes = 8205;
  both.output = output.output;
  for (const auto& r : {state, output, both}) {
    auto parsed = parse_task_result(to_json(r));
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(*parsed, r);
  }
}

TEST(TaskResult, RefusesABodyWithNeitherAndBadPieces) {
  EXPECT_FALSE(result(R"("started_at":1)"));
  EXPECT_FALSE(parse_task_result(object(R"({"task":"not-a-uuid","state":"running"})")));
  EXPECT_FALSE(result(R"("state":"queued")"));
  EXPECT_FALSE(result(R"("state":"sent")"));
  EXPECT_FALSE(result(R"("state":"exploded")"));
  EXPECT_FALSE(result(R"("state":"succeeded","started_at":-1)"));
  EXPECT_FALSE(result(R"("output":{"stream":"stdin","offset":0,"data":"x"})"));
  EXPECT_FALSE(result(R"("output":{"stream":"stdout","offset":0,"data":""})"));
  EXPECT_FALSE(result(R"("output":{"stream":"stdout","data":"x"})"));
  EXPECT_FALSE(result(R"("output":{"stream":"stdout","offset":99999999999,"data":"x"})"));
  EXPECT_FALSE(result(R"("output":"x")"));
  // A bad state spoils its output too: the message is refused whole.
  EXPECT_FALSE(result(R"("state":"queued","output":{"stream":"stdout","offset":0,"data":"x"})"));
  const std::string big(kMaxOutputChunkBytes * 4 + 1, 'x');
  EXPECT_FALSE(result(R"("output":{"stream":"stdout","offset":0,"data":")" + big + "\"}"));
}

TEST(TaskResult, ALongErrorIsCutNotRefused) {
  const std::string error(kMaxErrorBytes * 2, 'e');
  auto parsed = result(R"("state":"failed","error":")" + error + "\"");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->error.size(), kMaxErrorBytes);
}

TEST(TaskSpec, ValidSpecsRoundTripAndBadOnesNameTheField) {
  TaskSpec spec;
  spec.task = kTask;
  spec.argv = {"uname", "-a; rm -rf /"};
  spec.env = {{"LANG", "C.UTF-8"}};
  spec.cwd = "/var/tmp";
  auto parsed = parse_task(to_json(spec));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, spec);

  auto refused = [&](auto change, const std::string& field) {
    TaskSpec bad = spec;
    change(bad);
    auto r = validate_task(bad);
    ASSERT_FALSE(r) << field;
    EXPECT_NE(r.error().message.find(field), std::string::npos) << r.error().message;
  };
  refused([](TaskSpec& s) { s.argv.clear(); }, "argv");
  refused([](TaskSpec& s) { s.argv = {std::string("a\0b", 3)}; }, "argv");
  refused([](TaskSpec& s) { s.cwd = "relative"; }, "cwd");
  refused([](TaskSpec& s) { s.cwd = "/srv/../etc"; }, "cwd");
  refused([](TaskSpec& s) { s.timeout_s = kMaxTimeoutS + 1; }, "timeout");
  refused([](TaskSpec& s) { s.output_cap = kMinOutputCap - 1; }, "output_cap");
  refused([](TaskSpec& s) { s.env = {{"A=B", "x"}}; }, "env");
  refused(
      [](TaskSpec& s) {
        s.kind = TaskKind::builtin;
        s.argv.clear();
        s.builtin = "format-disk";
      },
      "builtin");
}

TEST(Cancel, RoundTripsAndRefusesAMissingOrBadId) {
  auto parsed = parse_cancel(to_json(Cancel{kTask}));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->task, kTask);
  EXPECT_FALSE(parse_cancel(object(R"({"task":"x"})")));
  EXPECT_FALSE(parse_cancel(object(R"({"task":7})")));
  EXPECT_FALSE(parse_cancel(object("{}")));
}

}  // namespace
}  // namespace hecs::proto
