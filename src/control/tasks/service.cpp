// Service (tasks.h): creating, dispatching, cancelling and expiring tasks. Results: results.cpp.
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

namespace {

std::vector<std::string> parse_string_array(const std::string& json) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  auto value = boost::json::parse(json, ec);
  if (!ec && value.is_array()) {
    for (const auto& item : value.get_array()) {
      if (item.is_string()) {
        out.emplace_back(item.get_string());
      }
    }
  }
  return out;
}

std::vector<targets::Tag> device_tags(const std::string& json) {
  std::vector<targets::Tag> tags;
  for (const auto& text : parse_string_array(json)) {
    if (auto tag = targets::parse_tag(text)) {
      tags.push_back(std::move(*tag));
    }
  }
  return tags;
}

// The users a device's inventory lists (hello.users); nullopt when it lists none (older agent).
std::optional<std::set<std::string>> inventory_users(const std::string& inventory) {
  boost::system::error_code ec;
  auto value = boost::json::parse(inventory, ec);
  if (ec || !value.is_object()) {
    return std::nullopt;
  }
  const auto* users = value.get_object().if_contains("users");
  if (users == nullptr || !users->is_array()) {
    return std::nullopt;
  }
  std::set<std::string> out;
  for (const auto& u : users->get_array()) {
    if (u.is_string()) {
      out.emplace(u.get_string());
    }
  }
  return out;
}

}  // namespace

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

Result<std::vector<std::string>> Service::Impl::resolve(const std::string& tenant_id,
                                                        const Target& target) {
  const int given = static_cast<int>(!target.devices.empty()) +
                    static_cast<int>(!target.group.empty()) +
                    static_cast<int>(!target.selector.empty());
  if (given != 1) {
    return fail(Errc::invalid_input, "target: give exactly one of devices, group, selector");
  }
  std::optional<targets::Selector> selector;
  std::optional<std::set<std::string>> members;
  if (!target.selector.empty()) {
    auto parsed = targets::parse_selector(target.selector);
    if (!parsed) {
      return fail(Errc::invalid_input, "target.selector: " + parsed.error().message);
    }
    selector = std::move(*parsed);
  } else if (!target.group.empty()) {
    auto group = groups.find_by_name(tenant_id, target.group);
    if (!group) {
      if (group.error().code == Errc::not_found) {
        return fail(Errc::invalid_input,
                    fmt::format("target.group: no group named {}", log::quoted(target.group)));
      }
      return tl::unexpected(group.error());
    }
    if (!group->selector.empty()) {
      auto parsed = targets::parse_selector(group->selector);
      if (!parsed) {
        return fail(Errc::invalid_input, "target.group: its selector: " + parsed.error().message);
      }
      selector = std::move(*parsed);
    } else {
      members = std::set<std::string>(group->devices.begin(), group->devices.end());
    }
  } else {
    if (target.devices.size() > limits.max_targets) {
      return fail(Errc::invalid_input,
                  fmt::format("target.devices: more than {} devices", limits.max_targets));
    }
    members = std::set<std::string>();
    for (std::size_t i = 0; i < target.devices.size(); ++i) {
      if (!is_uuid(target.devices[i])) {
        return fail(Errc::invalid_input, fmt::format("target.devices[{}]: not a device id", i));
      }
      members->insert(target.devices[i]);
    }
  }
  auto all = devices.targets(tenant_id, false);
  if (!all) {
    return tl::unexpected(all.error());
  }
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& d : *all) {
    if (members) {
      if (!members->contains(d.id)) {
        continue;
      }
      seen.insert(d.id);
    }
    if (d.state != "accepted") {
      if (!target.devices.empty()) {
        return fail(Errc::invalid_input,
                    fmt::format("target.devices: device {} is {}, not accepted", d.id, d.state));
      }
      continue;
    }
    if (selector && !targets::matches(*selector, device_tags(d.tags))) {
      continue;
    }
    out.push_back(d.id);
  }
  if (!target.devices.empty() && seen.size() != members->size()) {
    for (const auto& id : *members) {
      if (!seen.contains(id)) {
        return fail(Errc::invalid_input, fmt::format("target.devices: no device {}", id));
      }
    }
  }
  return out;
}

Result<store::TaskRow> Service::Impl::create(const std::string& tenant_id, const std::string& actor,
                                             TaskRequest request) {
  auto& spec = request.spec;
  spec.task = random_uuid();
  const auto now = clock.now_ms();
  if (request.deadline_s < 60 || request.deadline_s > 30LL * 86400) {
    return fail(Errc::invalid_input, "deadline_s: must be 60..2592000 (30 days)");
  }
  spec.deadline = now / 1000 + request.deadline_s;
  if (auto valid = proto::validate_task(spec); !valid) {
    return tl::unexpected(valid.error());
  }
  const auto body = proto::to_json(spec);
  const auto body_text = boost::json::serialize(body);
  if (body_text.size() > proto::kMaxTaskBodyBytes) {
    return fail(Errc::invalid_input,
                fmt::format("the task is {} bytes once encoded; at most {} fit in a signed command",
                            body_text.size(), proto::kMaxTaskBodyBytes));
  }
  if (request.max_in_flight < 0 || request.max_in_flight > 10000) {
    return fail(Errc::invalid_input, "rate.max_in_flight: must be 1..10000");
  }
  if (request.per_minute < 0 || request.per_minute > 100000) {
    return fail(Errc::invalid_input, "rate.per_minute: must be 1..100000");
  }
  if (request.abort_percent < -1 || request.abort_percent > 100 || request.abort_min < 1) {
    return fail(Errc::invalid_input,
                "abort: failure_percent must be 0..100 and min_finished at least 1");
  }
  auto resolved = resolve(tenant_id, request.target);
  if (!resolved) {
    return tl::unexpected(resolved.error());
  }
  if (resolved->empty()) {
    return fail(Errc::invalid_input, "target: matches no accepted device");
  }
  if (resolved->size() > limits.max_targets) {
    return fail(Errc::invalid_input,
                fmt::format("target: {} devices, more than the {} one task may have",
                            resolved->size(), limits.max_targets));
  }
  if (resolved->size() > limits.confirm_above && !request.confirm) {
    return fail(Errc::invalid_input,
                fmt::format("target: {} devices, more than {}: repeat with \"confirm\": true",
                            resolved->size(), limits.confirm_above));
  }
  if (!spec.user.empty()) {
    // A user the device has told us it lacks would only fail there; say so now.
    auto infos = devices.targets(tenant_id, true);
    if (!infos) {
      return tl::unexpected(infos.error());
    }
    std::set<std::string> chosen(resolved->begin(), resolved->end());
    for (const auto& d : *infos) {
      if (!chosen.contains(d.id)) {
        continue;
      }
      auto users = inventory_users(d.inventory);
      if (users && !users->contains(spec.user)) {
        return fail(Errc::invalid_input,
                    fmt::format("user: device {} has no user {}", d.id, log::quoted(spec.user)));
      }
    }
  }
  boost::json::object target;
  if (!request.target.selector.empty()) {
    target["selector"] = request.target.selector;
  } else if (!request.target.group.empty()) {
    target["group"] = request.target.group;
  } else {
    boost::json::array ids;
    for (const auto& id : request.target.devices) {
      ids.emplace_back(id);
    }
    target["devices"] = std::move(ids);
  }
  target["resolved"] = resolved->size();
  store::TaskRow row;
  row.id = spec.task;
  row.tenant_id = tenant_id;
  row.created_at = now;
  row.created_by = actor;
  row.target = boost::json::serialize(target);
  row.spec = body_text;
  row.state = "running";
  row.expires_at = spec.deadline * 1000;
  row.max_in_flight = request.max_in_flight;
  row.per_minute = request.per_minute;
  row.abort_percent = request.abort_percent;
  row.abort_min = request.abort_min;
  row.total = static_cast<int>(resolved->size());
  row.schedule_id = request.schedule_id;
  row.origin = request.schedule_id.empty() ? "api" : "schedule";
  if (auto stored = tasks.create(row, *resolved); !stored) {
    return tl::unexpected(stored.error());
  }
  log->info("task.created task={} tenant={} devices={} actor={}", row.id, tenant_id, row.total,
            log::quoted(actor));
  kick();
  return row;
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
