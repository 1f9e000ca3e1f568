// The `local` claim of up/result (docs/protocol.md, "task, cancel (and up/result)"): additive,
// strictly checked when present, and round-tripped by the agent's writer and the control
// plane's reader.
#include <gtest/gtest.h>

#include "common/clock.h"
#include "proto/proto.h"

namespace hecs::proto {
namespace {

TaskResult local_result() {
  TaskResult r;
  r.task = local_task_id("3f6c1e2a-8b4d-4f7e-9a21-5c0d7e8b9f10", "backup", 1764000000000);
  r.state = RunState::succeeded;
  r.started_at = 1764000000020;
  r.ended_at = 1764000000900;
  r.exit_code = 0;
  r.local = LocalRun{"backup", 1764000000000, "* * * * *", "Europe/Paris", "argv: true"};
  return r;
}

TEST(LocalRun, RoundTripsInAStateReport) {
  const auto r = local_result();
  auto parsed = parse_task_result(to_json(r));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, r);
  auto plain = r;
  plain.local.reset();
  EXPECT_FALSE(to_json(plain).contains("local"));
  EXPECT_FALSE(parse_task_result(to_json(plain))->local);
}

TEST(LocalRun, AMalformedClaimRejectsTheMessageNamingTheField) {
  auto body = to_json(local_result());
  auto with = [&](const char* key, boost::json::value v) {
    auto b = body;
    b["local"].as_object()[key] = std::move(v);
    auto r = parse_task_result(b);
    return r ? std::string() : r.error().message;
  };
  EXPECT_EQ(with("schedule", "a b"), "body.local.schedule: expected 1..64 of [A-Za-z0-9._-]");
  EXPECT_EQ(with("schedule", boost::json::string(std::string(65, 'a'))),
            "body.local.schedule: expected 1..64 of [A-Za-z0-9._-]");
  EXPECT_EQ(with("fire_at", 0), "body.local.fire_at: must be positive");
  EXPECT_NE(with("fire_at", "soon"), "");
  EXPECT_NE(with("command", boost::json::string(std::string(300, 'x'))), "");
  auto b = body;
  b["local"] = "backup";
  EXPECT_EQ(parse_task_result(b).error().message, "body.local: expected an object");
  b = body;
  b["local"].as_object().erase("cron");
  EXPECT_FALSE(parse_task_result(b));
}

TEST(LocalRun, SchedulesNamesAndSummaries) {
  EXPECT_TRUE(valid_schedule_name("nightly.backup_2-a"));
  EXPECT_FALSE(valid_schedule_name(""));
  EXPECT_FALSE(valid_schedule_name("-x"));
  EXPECT_FALSE(valid_schedule_name("a/b"));
  TaskSpec spec;
  spec.argv = {"uname", "-a"};
  EXPECT_EQ(summarize(spec), "argv: uname -a");
  spec.argv = {"echo", std::string(400, 'x')};
  EXPECT_EQ(summarize(spec).size(), kMaxLocalCommandBytes);
  spec.kind = TaskKind::script;
  spec.script = "echo hi";
  spec.interpreter = "/bin/sh";
  EXPECT_EQ(summarize(spec), "script: /bin/sh (7 bytes)");
  spec.kind = TaskKind::builtin;
  spec.builtin = "reboot";
  EXPECT_EQ(summarize(spec), "builtin: reboot");
}

}  // namespace
}  // namespace hecs::proto
