// Service (tasks.h): up/result messages, validated on arrival, written in batches (one
// transaction each), then acknowledged to their devices, so an agent drops a result from its
// outbox only once it is stored (DESIGN §4).
#include <map>
#include <thread>

#include <fmt/format.h>

#include "control/tasks/service_impl.h"

namespace hecs::control::tasks {
namespace asio = boost::asio;

namespace {

// A device's output and error text may carry NUL (JSON's "\u0000"), which PostgreSQL cannot
// hold in text: it would cut the value there. Shown as U+2400, as hecs-agent sends it.
std::string visible_nul(std::string text) {
  if (text.find('\0') == std::string::npos) {
    return text;
  }
  std::string out;
  out.reserve(text.size() + 16);
  for (char c : text) {
    if (c == '\0') {
      out += "\xE2\x90\x80";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

void Service::Impl::reject(std::string_view reason, const std::string& device_id,
                           const std::string& why) {
  metrics
      .counter("hecs_mqtt_messages_rejected_total", "Up-messages rejected, by reason",
               {{"reason", std::string(reason)}})
      .inc();
  log->warn("result.rejected device={} reason={} detail={}", device_id, reason, log::quoted(why));
}

void Service::Impl::on_result(const std::string& device_id, const std::string& payload) {
  if (payload.size() > limits.max_message_bytes) {
    reject("too_large", device_id, fmt::format("{} bytes", payload.size()));
    return;
  }
  auto env = proto::parse_envelope(payload, limits.max_message_bytes);
  if (!env) {
    reject("envelope", device_id, env.error().message);
    return;
  }
  if (env->type != "result") {
    reject("type_mismatch", device_id, fmt::format("type {} on a result topic", env->type));
    ack(device_id, {env->id});
    return;
  }
  auto result = proto::parse_task_result(env->body);
  if (!result) {
    // Refused for good: acknowledged, or it would hold the agent's outbox for ever.
    reject("body", device_id, result.error().message);
    ack(device_id, {env->id});
    return;
  }
  if (result->local && result->task != proto::local_task_id(device_id, result->local->schedule,
                                                            result->local->fire_at)) {
    // A device names only its own fires: any other id claims a task that is not its own.
    local_refused->inc();
    reject("local_id", device_id, "body.task: not the id of this device's schedule fire");
    ack(device_id, {env->id});
    return;
  }
  // One item per part of the message: its state first (a local schedule's first state makes
  // the task and run its output belongs to), then its output or artifact piece. They are
  // written in one transaction (flush_results never splits a message).
  std::vector<store::ResultItem> items;
  store::ResultItem base;
  base.device_id = device_id;
  base.message_id = env->id;
  base.task_id = result->task;
  if (result->state) {
    store::ResultItem item = base;
    if (result->local) {
      auto& l = *result->local;
      item.local = store::LocalOrigin{std::move(l.schedule), l.fire_at, std::move(l.cron),
                                      std::move(l.timezone), std::move(l.command)};
    }
    item.state = std::string(proto::run_state_name(*result->state));
    item.started_at = result->started_at;
    item.ended_at = result->ended_at;
    item.exit_code = result->exit_code;
    item.signal = result->signal;
    item.error = visible_nul(std::move(result->error));
    item.stdout_bytes =
        static_cast<std::int64_t>(std::min<std::uint64_t>(result->stdout_bytes, INT64_MAX));
    item.stderr_bytes =
        static_cast<std::int64_t>(std::min<std::uint64_t>(result->stderr_bytes, INT64_MAX));
    item.truncated = result->truncated;
    items.push_back(std::move(item));
  }
  if (result->output) {
    store::ResultItem out = base;
    out.stream = result->output->stream == "stderr" ? 1 : 0;
    out.pos = static_cast<std::int64_t>(result->output->offset);
    out.data = visible_nul(std::move(result->output->data));
    items.push_back(std::move(out));
  }
  if (result->artifact) {
    store::ResultItem piece = std::move(base);
    piece.artifact_name = std::move(result->artifact->name);
    piece.artifact_size = static_cast<std::int64_t>(result->artifact->size);
    piece.artifact_sha256 = std::move(result->artifact->sha256);
    piece.pos = static_cast<std::int64_t>(result->artifact->offset);
    piece.data = std::move(result->artifact->data);
    items.push_back(std::move(piece));
  }
  std::lock_guard lock(result_mutex);
  if (results.size() >= limits.max_backlog) {
    // Not acknowledged: the agent sends it again later.
    results_dropped->inc();
    return;
  }
  results.insert(results.end(), std::make_move_iterator(items.begin()),
                 std::make_move_iterator(items.end()));
}

// Up to max_result_batch items, but never part of a message: its items stay together.
std::size_t Service::Impl::batch_size() const {
  auto n = std::min(results.size(), limits.max_result_batch);
  while (n > 0 && n < results.size() && results[n].message_id == results[n - 1].message_id) {
    ++n;
  }
  return n;
}

void Service::Impl::arm_results() {
  result_timer.expires_after(limits.result_flush);
  result_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->stopped) {
      return;
    }
    self->flush_results();
    self->arm_results();
  });
}

void Service::Impl::flush_results() {
  std::vector<store::ResultItem> batch;
  {
    std::lock_guard lock(result_mutex);
    if (writing || results.empty()) {
      return;
    }
    const auto n = batch_size();
    batch.assign(std::make_move_iterator(results.begin()),
                 std::make_move_iterator(results.begin() + static_cast<long>(n)));
    results.erase(results.begin(), results.begin() + static_cast<long>(n));
    writing = true;
  }
  asio::post(workers, [self = shared_from_this(), batch = std::move(batch)]() mutable {
    self->write_results(std::move(batch));
  });
}

void Service::Impl::write_results(std::vector<store::ResultItem> batch) {
  auto stats = tasks.apply(batch, clock.now_ms());
  bool more = false;
  std::map<std::string, std::vector<std::string>> acks;
  if (stats) {
    results_stored->inc(stats->applied);
    results_ignored->inc(stats->ignored);
    local_created->inc(stats->local_created);
    local_refused->inc(stats->local_refused);
    if (stats->local_refused > 0) {
      log->warn("result.local_refused count={}", stats->local_refused);
    }
    // Stored (or known already): the agents may drop them. One ack per device and batch.
    for (auto& item : batch) {
      auto& ids = acks[item.device_id];
      if (ids.empty() || ids.back() != item.message_id) {  // one message, two items
        ids.push_back(std::move(item.message_id));
      }
    }
    if (!stats->tasks.empty()) {
      events.notify(stats->tasks);
      kick_after_results();  // finished runs free room under a rate, may end or abort a task
    }
  } else {
    log->error("result.store_failed size={} error={}", batch.size(),
               log::quoted(stats.error().message));
  }
  {
    std::lock_guard lock(result_mutex);
    writing = false;
    if (!stats && stats.error().code == Errc::unavailable) {
      results.insert(results.begin(), std::make_move_iterator(batch.begin()),
                     std::make_move_iterator(batch.end()));
    }
    more = stats && results.size() >= limits.max_result_batch && !stopped;
  }
  if (more) {
    flush_results();
  }
  // Signed after the next batch may start (one signature per device): with the results
  // stored, the acks no longer hold up the writer, and another worker takes the next batch.
  for (auto& [device, ids] : acks) {
    ack(device, std::move(ids));
  }
}

void Service::Impl::drain() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::vector<store::ResultItem> batch;
    {
      std::lock_guard lock(result_mutex);
      if (results.empty() && !writing) {
        return;
      }
      if (!writing) {
        const auto n = batch_size();
        batch.assign(std::make_move_iterator(results.begin()),
                     std::make_move_iterator(results.begin() + static_cast<long>(n)));
        results.erase(results.begin(), results.begin() + static_cast<long>(n));
        writing = true;
      }
    }
    if (batch.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    const auto size = batch.size();
    write_results(std::move(batch));
    std::lock_guard lock(result_mutex);
    if (results.size() >= size) {
      return;  // the store refuses writes: the agents send them again
    }
  }
}

}  // namespace hecs::control::tasks
