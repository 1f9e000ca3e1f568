// Service (tasks.h): dispatching, cancelling and expiring tasks. Targets and creation:
// create.cpp; results: results.cpp.
#include <algorithm>
#include <set>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "common/log.h"
#include "control/targets/targets.h"
#include "control/tasks/service_impl.h"

namespace hecs::control::tasks {
namespace asio = boost::asio;

Service::Impl::Impl(asio::io_context& io_, asio::thread_pool& workers_, store::TaskStore& tasks_,
                    store::GroupStore& groups_, store::DeviceStore& devices_,
                    metrics::Registry& metrics_, const Clock& clock_, SendFn send_, AckFn ack_,
                    Limits limits_)
    : io(io_),
      workers(workers_),
      tasks(tasks_),
      groups(groups_),
      devices(devices_),
      metrics(metrics_),
      clock(clock_),
      send(std::move(send_)),
      ack(std::move(ack_)),
      limits(limits_),
      dispatch_timer(io_),
      result_timer(io_),
      kick_timer(io_),
      log(log::get("control.tasks")) {
  commands_sent = &metrics.counter("hecs_task_commands_sent_total",
                                   "task and cancel commands published to devices");
  results_stored = &metrics.counter("hecs_task_results_stored_total",
                                    "Task results stored: states and pieces of output");
  results_ignored =
      &metrics.counter("hecs_task_results_ignored_total",
                       "Task results for no known run, or for a run already final (a repeat)");
  results_dropped =
      &metrics.counter("hecs_task_results_dropped_total", "Results dropped: backlog full");
  local_created = &metrics.counter("hecs_task_local_created_total",
                                   "Tasks made from the first result of a local schedule's run");
  local_refused = &metrics.counter(
      "hecs_task_local_refused_total",
      "Results claiming a local schedule's run that were refused: an id not derived from the "
      "device's own fire, a device not accepted, or a task that is not the device's");
}

Result<std::size_t> Service::Impl::cancel(const std::string& tenant_id, const std::string& task_id,
                                          const std::optional<std::string>& device) {
  auto task = tasks.get(tenant_id, task_id);
  if (!task) {
    return tl::unexpected(task.error());
  }
  const auto now = clock.now_ms();
  // Not sent yet: cancelled here. Sent or running: the device is told, and reports.
  auto ended =
      tasks.end_runs(task_id, "cancelled", "cancelled before it was sent", true, device, now);
  if (!ended) {
    return tl::unexpected(ended.error());
  }
  auto asked = tasks.request_cancel(task_id, device, now);
  if (!asked) {
    return tl::unexpected(asked.error());
  }
  if (!device && task->state == "running") {
    if (auto r = tasks.set_state(task_id, "cancelled", now); !r) {
      return tl::unexpected(r.error());
    }
  }
  for (const auto& d : *asked) {
    if (send(d, "cancel", proto::to_json(proto::Cancel{task_id}))) {
      commands_sent->inc();
    }
  }
  events.notify({task_id});
  kick();
  return ended->size() + asked->size();
}

void Service::Impl::on_hello(const std::string& device_id) {
  asio::post(workers, [self = shared_from_this(), device_id] {
    auto pending = self->tasks.pending_for_device(device_id);
    if (!pending) {
      self->log->warn("task.resend_failed device={} error={}", device_id,
                      log::quoted(pending.error().message));
      return;
    }
    for (const auto& run : *pending) {
      if (run.cancel_requested) {
        if (self->send(device_id, "cancel", proto::to_json(proto::Cancel{run.task_id}))) {
          self->commands_sent->inc();
        }
        continue;
      }
      auto spec = self->spec_of(run.task_id);
      if (spec && self->send(device_id, "task", *spec)) {
        self->commands_sent->inc();
        const std::string ids[] = {device_id};
        (void)self->tasks.mark_sent(run.task_id, ids, self->clock.now_ms());
      }
    }
  });
}

std::optional<boost::json::object> Service::Impl::spec_of(const std::string& task_id) {
  {
    std::lock_guard lock(spec_mutex);
    if (auto it = specs.find(task_id); it != specs.end()) {
      return it->second;
    }
  }
  auto task = tasks.get_any(task_id);
  if (!task) {
    return std::nullopt;
  }
  boost::system::error_code ec;
  auto value = boost::json::parse(task->spec, ec);
  if (ec || !value.is_object()) {
    log->error("task.spec_unreadable task={}", task_id);
    return std::nullopt;
  }
  std::lock_guard lock(spec_mutex);
  if (specs.size() > 1000) {
    specs.clear();
  }
  return specs.emplace(task_id, std::move(value.get_object())).first->second;
}

void Service::Impl::kick() {
  bool expected = false;
  if (!kicked.compare_exchange_strong(expected, true)) {
    return;
  }
  asio::post(workers, [self = shared_from_this()] { self->dispatch(); });
}

// Results arrive in batches every few milliseconds; a pass counts every run of each active
// task, so passes caused by results are at least limits.result_kick_gap apart.
void Service::Impl::kick_after_results() {
  const auto now = std::chrono::steady_clock::now().time_since_epoch();
  const auto since = now - std::chrono::steady_clock::duration(last_dispatch.load());
  if (since >= limits.result_kick_gap) {
    kick();
    return;
  }
  bool expected = false;
  if (!kick_timer_armed.compare_exchange_strong(expected, true)) {
    return;
  }
  asio::post(io, [self = shared_from_this(), wait = limits.result_kick_gap - since] {
    self->kick_timer.expires_after(wait);
    self->kick_timer.async_wait([weak = self->weak_from_this()](boost::system::error_code ec) {
      auto me = weak.lock();
      if (!me) {
        return;
      }
      me->kick_timer_armed = false;
      if (!ec && !me->stopped) {
        me->kick();
      }
    });
  });
}

// One pass over the running tasks: abort criteria, finishing, and sending what the rate allows.
void Service::Impl::dispatch() {
  kicked = false;
  std::unique_lock busy(dispatch_mutex, std::try_to_lock);
  if (!busy.owns_lock()) {
    kick_again = true;
    return;
  }
  last_dispatch = std::chrono::steady_clock::now().time_since_epoch().count();
  const auto now = clock.now_ms();
  // Runs sent long ago are looked for once a second: resend_after is far longer.
  check_stale = now - last_stale_check >= 1000;
  if (check_stale) {
    last_stale_check = now;
  }
  if (now - last_expiry >= 5000) {
    last_expiry = now;
    if (auto expired = tasks.expire(now); expired && !expired->empty()) {
      events.notify(*expired);
    }
  }
  auto active = tasks.active();
  if (!active) {
    log->warn("task.dispatch_failed error={}", log::quoted(active.error().message));
    return;
  }
  for (const auto& task : *active) {
    dispatch_one(task, now);
  }
  if (kick_again.exchange(false)) {
    kick();
  }
}

void Service::Impl::dispatch_one(const store::TaskRow& task, std::int64_t now) {
  auto counts = tasks.counts(task.id);
  if (!counts) {
    return;
  }
  auto count = [&](const char* state) {
    auto it = counts->find(state);
    return it == counts->end() ? 0 : it->second;
  };
  const int queued = count("queued"), sent = count("sent"), running = count("running");
  if (queued + sent + running == 0) {
    (void)tasks.set_state(task.id, "finished", now);
    events.notify({task.id});
    log->info("task.finished task={} succeeded={} failed={}", task.id, count("succeeded"),
              count("failed") + count("timed_out"));
    return;
  }
  if (task.abort_percent >= 0 && queued > 0) {
    const int failures = count("failed") + count("timed_out") + count("interrupted");
    const int finished = failures + count("succeeded");
    if (finished >= task.abort_min && failures * 100 > task.abort_percent * finished) {
      auto why = fmt::format("aborted: {} of {} finished runs failed (limit {} %)", failures,
                             finished, task.abort_percent);
      (void)tasks.end_runs(task.id, "cancelled", why, true, std::nullopt, now);
      (void)tasks.set_state(task.id, "aborted", now);
      events.notify({task.id});
      log->warn("task.aborted task={} failed={} finished={}", task.id, failures, finished);
      return;
    }
  }
  std::size_t allowed = static_cast<std::size_t>(queued);
  if (task.max_in_flight > 0) {
    allowed = std::min<std::size_t>(
        allowed, static_cast<std::size_t>(std::max(0, task.max_in_flight - sent - running)));
  }
  if (task.per_minute > 0) {
    const auto started = static_cast<long long>(task.total - queued);
    const auto budget = static_cast<long long>(task.per_minute) *
                            std::max<std::int64_t>(0, now - task.created_at) / 60000 +
                        1;
    allowed =
        std::min<std::size_t>(allowed, static_cast<std::size_t>(std::max(0LL, budget - started)));
  }
  if (allowed > 0) {
    auto next = tasks.queued(task.id, allowed);
    if (next) {
      send_runs(task.id, *next, now);
    }
  }
  // Runs sent long ago with no news: sent again (the agent runs a task id once).
  if (!check_stale) {
    return;
  }
  auto stale = tasks.stale_sent(
      task.id,
      now - std::chrono::duration_cast<std::chrono::milliseconds>(limits.resend_after).count(),
      1000);
  if (stale && !stale->empty()) {
    send_runs(task.id, *stale, now);
  }
}

void Service::Impl::send_runs(const std::string& task_id, const std::vector<std::string>& devices_,
                              std::int64_t now) {
  auto spec = spec_of(task_id);
  if (!spec) {
    return;
  }
  std::vector<std::string> sent;
  sent.reserve(devices_.size());
  for (const auto& device : devices_) {
    if (send(device, "task", *spec)) {
      sent.push_back(device);
    }
  }
  commands_sent->inc(sent.size());
  if (!sent.empty()) {
    if (auto r = tasks.mark_sent(task_id, sent, now); !r) {
      log->warn("task.mark_sent_failed task={} error={}", task_id, log::quoted(r.error().message));
    }
    events.notify({task_id});
  }
}

void Service::Impl::arm_dispatch() {
  dispatch_timer.expires_after(limits.tick);
  dispatch_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->stopped) {
      return;
    }
    self->kick();
    self->events.sweep(std::chrono::seconds(15));
    self->arm_dispatch();
  });
}

Service::Service(asio::io_context& io, asio::thread_pool& workers, store::TaskStore& tasks,
                 store::GroupStore& groups, store::DeviceStore& devices, metrics::Registry& metrics,
                 const Clock& clock, SendFn send, AckFn ack, Limits limits)
    : impl_(std::make_shared<Impl>(io, workers, tasks, groups, devices, metrics, clock,
                                   std::move(send), std::move(ack), limits)) {}

Service::~Service() {
  impl_->stopped = true;
  impl_->dispatch_timer.cancel();
  impl_->result_timer.cancel();
  impl_->kick_timer.cancel();
}

void Service::start() {
  impl_->arm_dispatch();
  impl_->arm_results();
}

void Service::stop() {
  impl_->stopped = true;
  impl_->dispatch_timer.cancel();
  impl_->result_timer.cancel();
  impl_->kick_timer.cancel();
  impl_->drain();
}

Result<std::vector<std::string>> Service::resolve(const std::string& tenant_id,
                                                  const Target& target) {
  return impl_->resolve(tenant_id, target);
}

const Limits& Service::limits() const { return impl_->limits; }

Result<store::TaskRow> Service::create(const std::string& tenant_id, const std::string& actor,
                                       TaskRequest request) {
  return impl_->create(tenant_id, actor, std::move(request));
}

Result<std::size_t> Service::cancel(const std::string& tenant_id, const std::string& task_id,
                                    const std::optional<std::string>& device) {
  return impl_->cancel(tenant_id, task_id, device);
}

void Service::on_hello(const std::string& device_id) { impl_->on_hello(device_id); }

void Service::on_result(const std::string& device_id, const std::string& payload) {
  impl_->on_result(device_id, payload);
}

Events& Service::events() { return impl_->events; }

std::size_t Service::backlog() const {
  std::lock_guard lock(impl_->result_mutex);
  return impl_->results.size();
}

}  // namespace hecs::control::tasks
