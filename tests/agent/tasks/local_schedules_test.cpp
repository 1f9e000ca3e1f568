// Local schedules (docs/tasks.md "Local schedules"): the schedules file, the fire ids, and the
// scheduler on a real outbox database, a real executor and a manual clock: each fire runs once,
// across restarts too, missed fires follow the policy, and DST follows the cron library.
#include <chrono>
#include <filesystem>
#include <fstream>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "agent/tasks/tasks.h"
#include "agent/uplink/uplink.h"
#include "support/tempdir.h"

namespace hecs::agent::tasks {
namespace {
using proto::RunState;

class ManualClock final : public Clock {
 public:
  std::int64_t now_ms() const override { return now; }
  std::int64_t now = 0;
};

// Unix ms of a UTC time "2026-03-29T01:00:00".
std::int64_t utc(int y, unsigned mo, unsigned d, int h, int mi, int s = 0) {
  namespace c = std::chrono;
  const c::sys_days date = c::year{y} / c::month{mo} / c::day{d};
  return c::duration_cast<c::milliseconds>(
             (date + c::hours{h} + c::minutes{mi} + c::seconds{s}).time_since_epoch())
      .count();
}

std::string error_of(std::string_view yaml) {
  auto parsed = parse_schedules(yaml);
  EXPECT_FALSE(parsed) << yaml;
  return parsed ? "" : parsed.error().message;
}

TEST(ScheduleFile, ReadsEveryKindWithTheDefaults) {
  auto parsed = parse_schedules(R"(
schedules:
  - name: uptime
    cron: "*/5 * * * *"
    task:
      command: {argv: [uptime, "-p"]}
  - name: nightly.backup
    cron: 30 2 * * *
    timezone: Europe/Paris
    missed: all
    max_catchup: 3
    task:
      command: {script: "echo hi", interpreter: /bin/sh}
      env: {LANG: C}
      cwd: /tmp
      timeout_s: 60
      output_cap_bytes: 4096
  - name: refresh
    cron: "@hourly"
    missed: once
    task: {command: {builtin: inventory-refresh}}
)");
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->size(), 3u);
  const auto& a = (*parsed)[0];
  EXPECT_EQ(a.name, "uptime");
  EXPECT_EQ(a.timezone, "UTC");
  EXPECT_EQ(a.missed, "skip");
  EXPECT_EQ(a.spec.argv, (std::vector<std::string>{"uptime", "-p"}));
  EXPECT_EQ(a.spec.timeout_s, 300u);
  EXPECT_TRUE(a.spec.task.empty());
  const auto& b = (*parsed)[1];
  EXPECT_EQ(b.missed, "all");
  EXPECT_EQ(b.max_catchup, 3u);
  EXPECT_EQ(b.spec.kind, proto::TaskKind::script);
  EXPECT_EQ(b.spec.cwd, "/tmp");
  EXPECT_EQ(b.spec.output_cap, 4096u);
  EXPECT_EQ((*parsed)[2].spec.builtin, "inventory-refresh");
  EXPECT_TRUE(parse_schedules(""));
  EXPECT_TRUE(parse_schedules("schedules: []"));
}

TEST(ScheduleFile, AnErrorNamesTheScheduleAndTheField) {
  const std::string head = "schedules:\n  - name: backup\n";
  const std::string task = "    task: {command: {argv: [\"true\"]}}\n";
  EXPECT_EQ(error_of(head + "    cron: 61 * * * *\n" + task),
            "schedule 'backup': cron: minute: 61 out of range 0..59");
  EXPECT_NE(error_of(head + "    cron: '* * * * *'\n    timezone: Mars/Olympus\n" + task)
                .find("schedule 'backup': timezone:"),
            std::string::npos);
  EXPECT_EQ(error_of(head + "    cron: '* * * * *'\n    missed: twice\n" + task),
            "schedule 'backup': missed: expected skip, once or all");
  EXPECT_EQ(error_of(head + "    cron: '* * * * *'\n    max_catchup: 0\n" + task),
            "schedule 'backup': max_catchup: expected an integer 1..100");
  EXPECT_EQ(error_of(head + "    cron: '* * * * *'\n    crn: x\n" + task),
            "schedule 'backup': crn: unknown key");
  EXPECT_EQ(error_of(head + "    cron: '* * * * *'\n"), "schedule 'backup': task: missing");
  EXPECT_EQ(error_of(head + "    cron: '* * * * *'\n    task: {command: {argv: [sleep, 5]}}\n"),
            "schedule 'backup': task.command.argv[1]: expected a string");
  EXPECT_EQ(
      error_of(head + "    cron: '* * * * *'\n    task: {command: {argv: [x]}, timeout_s: 0}\n"),
      "schedule 'backup': task.timeout_s: must be 1..86400");
  EXPECT_EQ(error_of(head + "    cron: '* * * * *'\n    task: {command: {argv: [x]}, target: y}\n"),
            "schedule 'backup': task.target: unknown key");
  EXPECT_EQ(error_of(head + "    cron: '* * * * *'\n    task: {command: {builtin: format}}\n")
                .substr(0, 44),
            "schedule 'backup': task.command.builtin: unk");
  EXPECT_EQ(error_of("schedules:\n  - name: a b\n    cron: '* * * * *'\n" + task).substr(0, 19),
            "schedules[0]: name:");
  EXPECT_EQ(error_of(head + "    cron: '* * * * *'\n" + task + "  - name: backup\n" +
                     "    cron: '@daily'\n" + task),
            "schedule 'backup': name: given twice");
  EXPECT_EQ(error_of("schedule: []"), "schedule: unknown key");
  EXPECT_EQ(error_of("schedules: {a: 1}"), "schedules: expected a list");
  EXPECT_EQ(error_of("schedules: [\n").substr(0, 5), "line ");
}

TEST(ScheduleFile, AMissingFileIsNotFoundAndTheMessageNamesTheFile) {
  test::TempDir dir("schedules");
  auto r = read_schedules_file((dir.path() / "none.yaml").string());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_found);
  std::ofstream(dir.path() / "bad.yaml") << "schedules: [{name: x}]\n";
  auto bad = read_schedules_file((dir.path() / "bad.yaml").string());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message,
            (dir.path() / "bad.yaml").string() + ": schedule 'x': cron: missing");
}

TEST(LocalTaskId, IsAStableNameBasedUuidPerDeviceScheduleAndFire) {
  const std::string dev = "3f6c1e2a-8b4d-4f7e-9a21-5c0d7e8b9f10";
  const auto id = proto::local_task_id(dev, "backup", 1774746000000);
  EXPECT_TRUE(is_uuid(id)) << id;
  EXPECT_EQ(id[14], '8');  // version 8 (RFC 9562 §5.8)
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos);
  EXPECT_EQ(id, proto::local_task_id(dev, "backup", 1774746000000));
  EXPECT_NE(id, proto::local_task_id(dev, "backup", 1774746060000));
  EXPECT_NE(id, proto::local_task_id(dev, "backup2", 1774746000000));
  EXPECT_NE(id,
            proto::local_task_id("3f6c1e2a-8b4d-4f7e-9a21-5c0d7e8b9f11", "backup", 1774746000000));
}

class LocalSchedulerTest : public ::testing::Test {
 protected:
  void TearDown() override { close(); }

  void close() {
    if (scheduler_) {
      scheduler_->stop();
    }
    if (executor_) {
      executor_->stop();
    }
    scheduler_.reset();
    executor_.reset();
    outbox_.reset();
  }

  // The agent's start-up order: outbox, scheduler (for annotate), executor, recover, start.
  void open(const std::string& yaml) {
    close();
    auto schedules = parse_schedules(yaml);
    ASSERT_TRUE(schedules) << schedules.error().message;
    auto outbox = uplink::Outbox::open(dir_.path() / "outbox.db", {}, false);
    ASSERT_TRUE(outbox) << outbox.error().message;
    outbox_ = std::move(*outbox);
    auto scheduler = LocalScheduler::open(io_, *outbox_, clock_, kDevice, std::move(*schedules));
    ASSERT_TRUE(scheduler) << scheduler.error().message;
    scheduler_ = std::move(*scheduler);
    Hooks hooks;
    hooks.append = [this](const proto::TaskResult& r, bool droppable) -> Result<void> {
      proto::TaskResult annotated = r;
      scheduler_->annotate(annotated);
      results_.push_back(annotated);
      auto seq = outbox_->append("t", "{}", random_uuid(), droppable);
      if (!seq) {
        return tl::unexpected(seq.error());
      }
      return {};
    };
    hooks.flush = [] {};
    Options options;
    options.scratch_dir = dir_.path() / "scratch";
    auto executor = Executor::open(io_, *outbox_, clock_, hooks, options);
    ASSERT_TRUE(executor) << executor.error().message;
    executor_ = std::move(*executor);
    ASSERT_TRUE(executor_->recover());
    ASSERT_TRUE(scheduler_->start(*executor_));
  }

  // A schedule that appends a line to a file per run, so runs are counted where they happen.
  std::string schedule(const std::string& cron, const std::string& extra = "") {
    return "schedules:\n  - name: count\n    cron: '" + cron + "'\n" + extra +
           "    task: {command: {argv: [/bin/sh, -c, 'echo x >> " +
           (dir_.path() / "runs").string() + "']}}\n";
  }

  std::size_t runs() {
    std::ifstream in(dir_.path() / "runs");
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return static_cast<std::size_t>(std::count(all.begin(), all.end(), '\n'));
  }

  std::vector<proto::TaskResult> finals() {
    std::vector<proto::TaskResult> out;
    for (const auto& r : results_) {
      if (r.state && proto::is_final(*r.state)) {
        out.push_back(r);
      }
    }
    return out;
  }

  void run_until_finals(std::size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (finals().size() < n && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_for(std::chrono::milliseconds(20));
    }
    io_.restart();
    io_.run_for(std::chrono::milliseconds(100));  // anything more would show now
  }

  static constexpr const char* kDevice = "3f6c1e2a-8b4d-4f7e-9a21-5c0d7e8b9f10";
  test::TempDir dir_{"local-schedules"};
  boost::asio::io_context io_;
  ManualClock clock_;
  std::unique_ptr<uplink::Outbox> outbox_;
  std::unique_ptr<LocalScheduler> scheduler_;
  std::unique_ptr<Executor> executor_;
  std::vector<proto::TaskResult> results_;
};

TEST_F(LocalSchedulerTest, FiresAtItsTimeWithTheDerivedIdAndReportsTheFire) {
  clock_.now = utc(2026, 12, 5, 10, 0, 30);
  open(schedule("* * * * *"));
  EXPECT_EQ(scheduler_->tick(), 0u);
  EXPECT_EQ(scheduler_->next_fire("count"), utc(2026, 12, 5, 10, 1));
  clock_.now = utc(2026, 12, 5, 10, 1) + 40;  // the timer wakes a little after the minute
  EXPECT_EQ(scheduler_->tick(), 1u);
  EXPECT_EQ(scheduler_->tick(), 0u);
  run_until_finals(1);
  const auto ends = finals();
  ASSERT_EQ(ends.size(), 1u);
  const auto& end = ends[0];
  EXPECT_EQ(*end.state, RunState::succeeded);
  EXPECT_EQ(end.task, proto::local_task_id(kDevice, "count", utc(2026, 12, 5, 10, 1)));
  ASSERT_TRUE(end.local);
  EXPECT_EQ(end.local->schedule, "count");
  EXPECT_EQ(end.local->fire_at, utc(2026, 12, 5, 10, 1));
  EXPECT_EQ(end.local->cron, "* * * * *");
  EXPECT_EQ(end.local->timezone, "UTC");
  EXPECT_EQ(end.local->command.substr(0, 16), "argv: /bin/sh -c");
  EXPECT_EQ(end.started_at, clock_.now);  // the real start, not the fire time
  for (const auto& r : results_) {
    EXPECT_EQ(r.local.has_value(), r.state.has_value()) << "only state reports carry local";
  }
  EXPECT_EQ(runs(), 1u);
}

TEST_F(LocalSchedulerTest, AFireIsNeverRunTwiceAcrossRestarts) {
  clock_.now = utc(2026, 12, 5, 10, 0, 30);
  open(schedule("* * * * *"));
  clock_.now = utc(2026, 12, 5, 10, 1) + 10;
  EXPECT_EQ(scheduler_->tick(), 1u);
  run_until_finals(1);
  // Restarted within the same minute, then with the wall clock stepped back over the fire.
  open(schedule("* * * * *"));
  EXPECT_EQ(scheduler_->tick(), 0u);
  clock_.now = utc(2026, 12, 5, 10, 0, 50);
  open(schedule("* * * * *"));
  clock_.now = utc(2026, 12, 5, 10, 1) + 500;
  EXPECT_EQ(scheduler_->tick(), 0u);
  EXPECT_EQ(scheduler_->next_fire("count"), utc(2026, 12, 5, 10, 2));
  run_until_finals(1);
  EXPECT_EQ(runs(), 1u);
  EXPECT_EQ(finals().size(), 1u);
}

TEST_F(LocalSchedulerTest, ANewScheduleDoesNotCatchUpTimesBeforeItExisted) {
  clock_.now = utc(2026, 12, 5, 10, 35, 30);
  open(schedule("*/10 * * * *", "    missed: all\n"));
  run_until_finals(0);
  EXPECT_EQ(runs(), 0u);
  EXPECT_EQ(scheduler_->next_fire("count"), utc(2026, 12, 5, 10, 40));
}

// Down from 10:00:30 to 10:35:30 over the fires of 10:10, 10:20 and 10:30.
class MissedFires : public LocalSchedulerTest {
 protected:
  void downtime(const std::string& policy) {
    clock_.now = utc(2026, 12, 5, 10, 0, 30);
    open(schedule("*/10 * * * *", policy));
    close();
    clock_.now = utc(2026, 12, 5, 10, 35, 30);
    open(schedule("*/10 * * * *", policy));
  }
  std::vector<std::int64_t> fire_times() {
    std::vector<std::int64_t> out;
    for (const auto& r : finals()) {
      out.push_back(r.local ? r.local->fire_at : 0);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
};

TEST_F(MissedFires, SkipRunsNothingLate) {
  downtime("");
  run_until_finals(0);
  EXPECT_EQ(runs(), 0u);
  EXPECT_EQ(scheduler_->next_fire("count"), utc(2026, 12, 5, 10, 40));
}

TEST_F(MissedFires, SkipStillRunsAFireLessThanAMinuteLate) {
  clock_.now = utc(2026, 12, 5, 10, 0, 30);
  open(schedule("*/10 * * * *"));
  close();
  clock_.now = utc(2026, 12, 5, 10, 30, 45);
  open(schedule("*/10 * * * *"));
  run_until_finals(1);
  EXPECT_EQ(fire_times(), (std::vector<std::int64_t>{utc(2026, 12, 5, 10, 30)}));
}

TEST_F(MissedFires, OnceRunsOneForTheFirstMissedFire) {
  downtime("    missed: once\n");
  run_until_finals(1);
  EXPECT_EQ(fire_times(), (std::vector<std::int64_t>{utc(2026, 12, 5, 10, 10)}));
  EXPECT_EQ(runs(), 1u);
}

TEST_F(MissedFires, AllRunsEachMissedFireUpToMaxCatchup) {
  downtime("    missed: all\n    max_catchup: 2\n");
  run_until_finals(2);
  EXPECT_EQ(fire_times(),
            (std::vector<std::int64_t>{utc(2026, 12, 5, 10, 10), utc(2026, 12, 5, 10, 20)}));
  EXPECT_EQ(runs(), 2u);
  EXPECT_EQ(scheduler_->next_fire("count"), utc(2026, 12, 5, 10, 40));
}

TEST_F(LocalSchedulerTest, DaylightSavingTimeFollowsTheCronLibrary) {
  // Europe/Paris, 29 March 2026: 02:30 does not exist; a fixed schedule fires once at 03:00
  // CEST (01:00 UTC). 25 October: 02:30 happens twice; it fires at the first (00:30 UTC).
  clock_.now = utc(2026, 3, 28, 12, 0);
  open(schedule("30 2 * * *", "    timezone: Europe/Paris\n"));
  EXPECT_EQ(scheduler_->next_fire("count"), utc(2026, 3, 29, 1, 0));
  clock_.now = utc(2026, 3, 29, 1, 0) + 20;
  EXPECT_EQ(scheduler_->tick(), 1u);
  EXPECT_EQ(scheduler_->next_fire("count"), utc(2026, 3, 30, 0, 30));
  run_until_finals(1);
  clock_.now = utc(2026, 10, 24, 12, 0);
  open(schedule("30 2 * * *", "    timezone: Europe/Paris\n"));
  EXPECT_EQ(scheduler_->next_fire("count"), utc(2026, 10, 25, 0, 30));
  clock_.now = utc(2026, 10, 25, 0, 30) + 20;
  EXPECT_EQ(scheduler_->tick(), 1u);
  EXPECT_EQ(scheduler_->next_fire("count"), utc(2026, 10, 26, 1, 30));
}

}  // namespace
}  // namespace hecs::agent::tasks
