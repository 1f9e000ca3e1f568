// LocalScheduler (tasks.h): the agent's own cron, which needs no link to the control plane.
//
// Each schedule keeps in the outbox database how far its fires have been dealt with
// (`done_until`, unix ms). A fire moves it forward in the same transaction that journals the
// fire's run, whose id is derived from the fire time: a crash before the commit leaves the fire
// to be taken again, one after it finds the journal row and the moved mark, so no fire is ever
// run twice, across restarts too. A wall clock that steps back only delays the next fire.
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "agent/tasks/journal.h"
#include "agent/tasks/tasks.h"
#include "agent/uplink/uplink.h"
#include "common/log.h"

namespace hecs::agent::tasks {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using std::chrono::sys_seconds;

// The timer looks again at least this often, so that a wall clock set forward (NTP after a
// boot without RTC) or a suspended node is noticed soon.
constexpr milliseconds kMaxSleep{30'000};
constexpr milliseconds kRetryAfterError{5'000};
// fires_between() needs a cap; only the policy "all" uses more than the first missed fire.
constexpr std::size_t kOnTimeScan = 4;

sys_seconds to_seconds(std::int64_t ms) {
  return sys_seconds(std::chrono::duration_cast<std::chrono::seconds>(milliseconds(ms)));
}

std::int64_t to_ms(sys_seconds t) {
  return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
}

struct Slot {
  LocalSchedule schedule;
  std::int64_t done_until = 0;
  std::optional<std::int64_t> next;  // first fire after done_until
};

class LocalSchedulerImpl final : public LocalScheduler {
 public:
  LocalSchedulerImpl(asio::io_context& io, uplink::Outbox& outbox, const Clock& clock,
                     std::string device_id, std::unique_ptr<Journal> journal)
      : outbox_(outbox),
        clock_(clock),
        device_id_(std::move(device_id)),
        journal_(std::move(journal)),
        timer_(io),
        log_(log::get("agent.tasks")) {}

  ~LocalSchedulerImpl() override {
    *alive_ = false;
    timer_.cancel();
  }
  LocalSchedulerImpl(const LocalSchedulerImpl&) = delete;
  LocalSchedulerImpl& operator=(const LocalSchedulerImpl&) = delete;
  LocalSchedulerImpl(LocalSchedulerImpl&&) = delete;
  LocalSchedulerImpl& operator=(LocalSchedulerImpl&&) = delete;

  Result<void> load(std::vector<LocalSchedule> schedules) {
    const auto now = clock_.now_ms();
    std::vector<std::string> names;
    for (auto& s : schedules) {
      names.push_back(s.name);
      auto done = journal_->done_until(s.name);
      if (!done) {
        return tl::unexpected(done.error());
      }
      Slot slot{std::move(s), done->value_or(now), std::nullopt};
      if (!*done) {
        // A new schedule starts now: nothing before it was configured is "missed".
        if (auto r = outbox_.transaction(
                [&] { return journal_->set_done_until(slot.schedule.name, now); }, true);
            !r) {
          return r;
        }
      }
      slots_.push_back(std::move(slot));
    }
    return outbox_.transaction([&] { return journal_->prune_local(names); }, true);
  }

  Result<void> start(Executor& executor) override {
    executor_ = &executor;
    tick();
    for (auto& slot : slots_) {
      log_->info("schedule.armed schedule={} cron={} timezone={} next={}", slot.schedule.name,
                 log::quoted(slot.schedule.cron), slot.schedule.timezone,
                 slot.next ? format_rfc3339_ms(*slot.next) : "none");
    }
    return {};
  }

  std::size_t tick() override {
    if (executor_ == nullptr) {
      return 0;
    }
    const auto now = clock_.now_ms();
    std::size_t made = 0;
    bool failed = false;
    for (auto& slot : slots_) {
      auto fired = tick_one(slot, now);
      if (!fired) {
        failed = true;
        log_->error("schedule.fire_failed schedule={} error={}", slot.schedule.name,
                    log::quoted(fired.error().message));
        continue;
      }
      made += *fired;
    }
    arm(failed ? kRetryAfterError : kMaxSleep);
    return made;
  }

  void stop() override {
    stopped_ = true;
    timer_.cancel();
  }

  void annotate(proto::TaskResult& result) override {
    if (!result.state) {
      return;  // output: the control plane knows the task from its first state report
    }
    auto run = journal_->find_local_run(result.task);
    if (run && *run) {
      result.local = std::move(**run);
    }
  }

  std::optional<std::int64_t> next_fire(const std::string& name) const override {
    for (const auto& slot : slots_) {
      if (slot.schedule.name == name) {
        return slot.next;
      }
    }
    return std::nullopt;
  }

 private:
  // Deals with every fire of one schedule up to `now`; returns the runs submitted.
  Result<std::size_t> tick_one(Slot& slot, std::int64_t now) {
    const auto& s = slot.schedule;
    const auto from = std::max(slot.done_until, std::int64_t{0});
    if (now <= from) {
      update_next(slot, now);
      return 0;  // the clock stepped back: wait until it passes the mark again
    }
    const std::size_t cap = s.missed == "all" ? s.max_catchup : 1;
    auto missed = cron::fires_between(s.parsed, to_seconds(from), to_seconds(now), s.zone, cap);
    if (missed.empty()) {
      update_next(slot, now);
      return 0;
    }
    // The latest fire not later than the grace: on time, whatever the policy.
    auto recent = cron::fires_between(s.parsed, to_seconds(std::max(from, now - kGraceMs)),
                                      to_seconds(now), s.zone, kOnTimeScan);
    std::vector<std::int64_t> fires;
    if (s.missed == "all") {
      for (auto t : missed) {
        fires.push_back(to_ms(t));
      }
    } else if (!recent.empty()) {
      fires.push_back(to_ms(recent.back()));
    } else if (s.missed == "once") {
      fires.push_back(to_ms(missed.front()));
    }
    if (fires.empty() || fires.size() > 1 || fires.front() != to_ms(missed.front())) {
      log_->info("schedule.missed schedule={} policy={} since={} fired={}", s.name, s.missed,
                 format_rfc3339_ms(from), fires.size());
    }
    std::size_t made = 0;
    for (std::size_t i = 0; i < fires.size(); ++i) {
      // The last fire of the pass marks everything up to now as dealt with.
      const auto mark = i + 1 == fires.size() ? now : fires[i];
      auto submitted = fire(slot, fires[i], mark);
      if (!submitted) {
        return tl::unexpected(submitted.error());
      }
      made += *submitted ? 1 : 0;
    }
    if (fires.empty()) {
      if (auto r = outbox_.transaction([&] { return journal_->set_done_until(s.name, now); }, true);
          !r) {
        return tl::unexpected(r.error());
      }
      slot.done_until = now;
    }
    update_next(slot, now);
    return made;
  }

  // One fire: its run journalled with the schedule's new mark, in one transaction.
  Result<bool> fire(Slot& slot, std::int64_t fire_at, std::int64_t mark) {
    const auto& s = slot.schedule;
    proto::TaskSpec spec = s.spec;
    spec.task = proto::local_task_id(device_id_, s.name, fire_at);
    proto::LocalRun run{s.name, fire_at, s.cron, s.timezone, proto::summarize(s.spec)};
    const std::string task = spec.task;
    auto submitted = executor_->submit(std::move(spec), [&]() -> Result<void> {
      if (auto r = journal_->insert_local_run(task, run); !r) {
        return r;
      }
      return journal_->set_done_until(s.name, mark);
    });
    if (!submitted) {
      return submitted;
    }
    if (!*submitted) {
      // Known already (the clock stepped back over a fire it ran): only the mark moves.
      log_->info("schedule.duplicate schedule={} task={}", s.name, task);
      if (auto r =
              outbox_.transaction([&] { return journal_->set_done_until(s.name, mark); }, true);
          !r) {
        return tl::unexpected(r.error());
      }
    } else {
      log_->info("schedule.fired schedule={} task={} fire_at={}", s.name, task,
                 format_rfc3339_ms(fire_at));
    }
    slot.done_until = mark;
    return *submitted;
  }

  void update_next(Slot& slot, std::int64_t now) {
    const auto after = std::max(slot.done_until, now);
    auto next = cron::next_fire(slot.schedule.parsed, to_seconds(after), slot.schedule.zone);
    slot.next = next ? std::optional<std::int64_t>(to_ms(*next)) : std::nullopt;
  }

  void arm(milliseconds longest) {
    if (stopped_) {
      return;
    }
    const auto now = clock_.now_ms();
    auto wait = longest;
    for (const auto& slot : slots_) {
      if (slot.next) {
        wait = std::min(wait, milliseconds(std::max<std::int64_t>(*slot.next - now, 0)));
      }
    }
    // A few ms past the fire time: the steady and wall clocks may disagree a little.
    timer_.expires_after(wait + milliseconds(5));
    timer_.async_wait([this, alive = alive_](boost::system::error_code ec) {
      if (!ec && *alive && !stopped_) {
        tick();
      }
    });
  }

  uplink::Outbox& outbox_;
  const Clock& clock_;
  std::string device_id_;
  std::unique_ptr<Journal> journal_;
  asio::steady_timer timer_;
  log::Logger log_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::vector<Slot> slots_;
  Executor* executor_ = nullptr;
  bool stopped_ = false;
};

}  // namespace

Result<std::unique_ptr<LocalScheduler>> LocalScheduler::open(asio::io_context& io,
                                                             uplink::Outbox& outbox,
                                                             const Clock& clock,
                                                             std::string device_id,
                                                             std::vector<LocalSchedule> schedules) {
  auto journal = Journal::open(outbox.database());
  if (!journal) {
    return tl::unexpected(journal.error());
  }
  auto scheduler = std::make_unique<LocalSchedulerImpl>(io, outbox, clock, std::move(device_id),
                                                        std::move(*journal));
  if (auto r = scheduler->load(std::move(schedules)); !r) {
    return tl::unexpected(r.error());
  }
  return std::unique_ptr<LocalScheduler>(std::move(scheduler));
}

}  // namespace hecs::agent::tasks
