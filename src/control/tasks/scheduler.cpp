// Scheduler (tasks.h): cron schedules → tasks.
#include <fmt/format.h>

#include "common/cron/cron.h"
#include "common/log.h"
#include "control/tasks/tasks.h"

namespace hecs::control::tasks {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::sys_seconds;

sys_seconds to_seconds(std::int64_t ms) {
  return sys_seconds(std::chrono::duration_cast<seconds>(milliseconds(ms)));
}

std::int64_t to_ms(sys_seconds t) {
  return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

Result<std::optional<std::int64_t>> Scheduler::next_fire(const std::string& cron,
                                                         const std::string& timezone,
                                                         std::int64_t after_ms) {
  auto schedule = cron::parse(cron);
  if (!schedule) {
    return fail(Errc::invalid_input, "cron: " + schedule.error().message);
  }
  auto zone = cron::Zone::locate(timezone);
  if (!zone) {
    return fail(Errc::invalid_input, "timezone: " + zone.error().message);
  }
  auto next = cron::next_fire(*schedule, to_seconds(after_ms), *zone);
  return next ? std::optional<std::int64_t>(to_ms(*next)) : std::nullopt;
}

std::size_t Scheduler::tick() {
  auto log = log::get("control.schedules");
  const auto now = clock_.now_ms();
  auto due = schedules_.due(now);
  if (!due) {
    log->warn("schedule.read_failed error={}", log::quoted(due.error().message));
    return 0;
  }
  std::size_t made = 0;
  for (const auto& s : *due) {
    const std::int64_t expected = *s.next_fire;
    auto schedule = cron::parse(s.cron);
    auto zone = cron::Zone::locate(s.timezone);
    if (!schedule || !zone) {
      (void)schedules_.advance(s.id, expected, std::nullopt, now, "",
                               "the schedule no longer parses; it is stopped");
      continue;
    }
    // Every fire time up to now: the one that was due, and those missed after it.
    std::vector<std::int64_t> fires = {expected};
    for (auto t : cron::fires_between(*schedule, to_seconds(expected), to_seconds(now), *zone,
                                      static_cast<std::size_t>(std::max(1, s.max_catchup)) + 1)) {
      fires.push_back(to_ms(t));
    }
    std::size_t count = 0;
    if (s.missed == "all") {
      count = std::min(fires.size(), static_cast<std::size_t>(std::max(1, s.max_catchup)));
    } else if (s.missed == "once") {
      count = 1;
    } else {  // skip: only a fire that is on time
      count = now - fires.back() <= kGraceMs ? 1 : 0;
    }
    auto next = cron::next_fire(*schedule, to_seconds(now), *zone);
    const std::optional<std::int64_t> next_ms =
        next ? std::optional<std::int64_t>(to_ms(*next)) : std::nullopt;
    // Taken first, made after: a crash between the two loses this fire rather than doubling it.
    auto won = schedules_.advance(s.id, expected, next_ms, now, s.last_task, "");
    if (!won || !*won) {
      continue;
    }
    std::string last_task, last_error;
    for (std::size_t i = 0; i < count; ++i) {
      auto request = parse_(s.task);
      if (!request) {
        last_error = request.error().message;
        break;
      }
      request->schedule_id = s.id;
      request->confirm = true;  // confirmed when the schedule was made
      auto task = service_.create(s.tenant_id, "schedule:" + s.name, std::move(*request));
      if (!task) {
        last_error = task.error().message;
        break;
      }
      last_task = task->id;
      ++made;
    }
    if (count < fires.size()) {
      log->info("schedule.missed schedule={} missed={} fired={} policy={}", s.id,
                fires.size() - count, count, s.missed);
    }
    if (!last_error.empty()) {
      log->warn("schedule.fire_failed schedule={} error={}", s.id, log::quoted(last_error));
    }
    if (count > 0) {
      (void)schedules_.record(s.id, last_task.empty() ? s.last_task : last_task, last_error);
    }
  }
  return made;
}

}  // namespace hecs::control::tasks
