#include "sim/tasks.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "common/clock.h"

namespace hecs::sim {
namespace {

std::int64_t now_ms() { return SystemClock{}.now_ms(); }

}  // namespace

SimTasks::SimTasks(boost::asio::io_context& io, const Options& options, Counters& counters,
                   log::Logger log, std::string device_id, std::string hostname, std::uint64_t seed,
                   Publish publish)
    : io_(io),
      options_(options),
      counters_(counters),
      log_(std::move(log)),
      device_id_(std::move(device_id)),
      hostname_(std::move(hostname)),
      rng_(seed),
      publish_(std::move(publish)),
      resend_timer_(io) {}

void SimTasks::on_task(const boost::json::object& body) {
  auto spec = proto::parse_task(body);
  if (!spec) {
    ++counters_.commands_rejected;
    const auto* id = body.if_contains("task");
    const std::string task =
        id != nullptr && id->is_string() ? std::string(id->get_string()) : std::string();
    log_->warn("sim.task_refused device={} task={} reason={}", device_id_, log::quoted(task),
               log::quoted(spec.error().message));
    // As hecs-agent: a refusal of a task id never seen is reported, so the run ends.
    if (is_uuid(task) && seen_.insert(task).second) {
      proto::TaskResult result;
      result.task = task;
      result.state = proto::RunState::failed;
      result.ended_at = now_ms();
      result.error = "refused by the agent: " + spec.error().message;
      ++counters_.tasks_failed;
      report(result);
    }
    return;
  }
  if (!seen_.insert(spec->task).second) {
    ++counters_.tasks_duplicate;
    log_->debug("sim.task_duplicate device={} task={}", device_id_, spec->task);
    return;
  }
  ++counters_.tasks_started;
  const auto now = now_ms();
  proto::TaskResult result;
  result.task = spec->task;
  if (spec->deadline > 0 && now / 1000 > spec->deadline) {
    result.state = proto::RunState::expired;
    result.ended_at = now;
    result.error = "received after its deadline";
    report(result);
    return;
  }
  // As hecs-agent: "running" goes out at its first output flush (every 200 ms), so a run
  // that ends sooner reports once, its final state carrying its output.
  if (options_.task_latency_ms >= kAgentOutputFlushMs) {
    result.state = proto::RunState::running;
    result.started_at = now;
    report(result);
  }
  auto run = std::make_unique<Run>(io_);
  run->started_at = now;
  run->output_cap = spec->output_cap;
  auto& timer = run->timer;
  runs_.emplace(spec->task, std::move(run));
  if (options_.task_latency_ms <= 0) {
    finish(spec->task);
    return;
  }
  timer.expires_after(std::chrono::milliseconds(options_.task_latency_ms));
  timer.async_wait([this, task = spec->task](boost::system::error_code ec) {
    if (!ec) {
      finish(task);
    }
  });
}

void SimTasks::on_cancel(const boost::json::object& body) {
  auto cancel = proto::parse_cancel(body);
  if (!cancel) {
    ++counters_.commands_rejected;
    log_->warn("sim.cancel_refused device={} reason={}", device_id_,
               log::quoted(cancel.error().message));
    return;
  }
  proto::TaskResult result;
  result.task = cancel->task;
  result.state = proto::RunState::cancelled;
  if (auto it = runs_.find(cancel->task); it != runs_.end()) {
    result.started_at = it->second->started_at;
    runs_.erase(it);  // its timer goes with it, and its handler sees operation_aborted
  } else if (seen_.insert(cancel->task).second) {
    // The cancel overtook the task: remembered, so the task is never run when it comes.
    result.error = "cancelled before it reached the device";
  } else {
    log_->debug("sim.cancel_ignored device={} task={} reason=\"already ended\"", device_id_,
                cancel->task);
    return;
  }
  result.ended_at = now_ms();
  ++counters_.tasks_cancelled;
  report(result);
}

void SimTasks::finish(const std::string& task) {
  auto it = runs_.find(task);
  if (it == runs_.end()) {
    return;
  }
  const auto cap = it->second->output_cap;
  proto::TaskResult result;
  result.task = task;
  result.started_at = it->second->started_at;
  runs_.erase(it);
  const bool failed =
      options_.task_fail_percent > 0 && static_cast<int>(rng_() % 100) < options_.task_fail_percent;
  auto chunks = output_chunks(task, cap);
  if (!chunks.empty()) {
    result.output = std::move(chunks.back().output);
    chunks.pop_back();
  }
  for (const auto& chunk : chunks) {
    report(chunk);
  }
  result.state = failed ? proto::RunState::failed : proto::RunState::succeeded;
  result.exit_code = failed ? 1 : 0;
  result.ended_at = now_ms();
  result.stdout_bytes = options_.task_output;
  result.truncated = options_.task_output > cap;
  ++(failed ? counters_.tasks_failed : counters_.tasks_succeeded);
  report(result);
}

// The run's stdout, at most `cap` bytes of it and hecs-agent's marker past the cap, in chunks of
// at most proto::kMaxOutputChunkBytes.
std::vector<proto::TaskResult> SimTasks::output_chunks(const std::string& task,
                                                       std::uint64_t cap) const {
  std::vector<proto::TaskResult> chunks;
  const std::uint64_t total = options_.task_output;
  std::string text = fake_output(static_cast<std::size_t>(std::min(total, cap)));
  if (total > cap) {
    text += fmt::format("\n[hecs: output truncated after {} bytes]\n", cap);
  }
  for (std::size_t at = 0; at < text.size(); at += proto::kMaxOutputChunkBytes) {
    proto::TaskResult chunk;
    chunk.task = task;
    chunk.output = proto::OutputChunk{"stdout", at, text.substr(at, proto::kMaxOutputChunkBytes)};
    chunks.push_back(std::move(chunk));
  }
  return chunks;
}

// ASCII lines, so that any prefix is valid UTF-8.
std::string SimTasks::fake_output(std::size_t bytes) const {
  const std::string line = fmt::format(
      "Linux {} 6.1.0-rpi7-rpi-v8 #1 SMP PREEMPT Debian aarch64 GNU/Linux\n", hostname_);
  std::string out;
  out.reserve(bytes);
  while (out.size() < bytes) {
    out.append(line, 0, std::min(line.size(), bytes - out.size()));
  }
  return out;
}

void SimTasks::report(const proto::TaskResult& result) {
  auto envelope = proto::make_envelope("result", now_ms(), proto::to_json(result));
  Entry entry;
  entry.id = envelope.id;
  entry.payload = proto::serialize(envelope);
  outbox_.push_back(std::move(entry));
  pump();
}

void SimTasks::on_ack(const std::vector<std::string>& ids) {
  if (outbox_.empty()) {
    return;
  }
  for (const auto& id : ids) {
    auto it = std::find_if(outbox_.begin(), outbox_.end(),
                           [&](const Entry& entry) { return entry.id == id; });
    if (it != outbox_.end()) {
      outbox_.erase(it);
      ++counters_.results_acked;
    }
  }
  pump();
}

void SimTasks::on_connected() {
  for (auto& entry : outbox_) {
    entry.in_flight = false;
  }
  pump();
}

void SimTasks::on_published() { pump(); }

void SimTasks::stop() {
  stopped_ = true;
  runs_.clear();
  resend_timer_.cancel();
}

// Sends, oldest first, what is not in flight, until the client refuses (link down or window
// full: a PUBACK or the next connection calls again).
void SimTasks::pump() {
  if (stopped_) {
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  for (auto& entry : outbox_) {
    if (entry.in_flight) {
      continue;
    }
    if (!publish_(entry.payload)) {
      break;
    }
    entry.in_flight = true;
    entry.sent_at = now;
    ++counters_.results_sent;
  }
  arm_resend();
}

// Acks can be lost (the control plane stopped between its commit and the ack, or before it):
// a result unacknowledged for kResultResendAfter goes out again, with everything after it.
void SimTasks::arm_resend() {
  if (resend_armed_ || outbox_.empty() || stopped_) {
    return;
  }
  resend_armed_ = true;
  resend_timer_.expires_after(kResultResendAfter / 2);
  resend_timer_.async_wait([this](boost::system::error_code ec) {
    resend_armed_ = false;
    if (ec || stopped_) {
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    const bool overdue = std::any_of(outbox_.begin(), outbox_.end(), [&](const Entry& entry) {
      return entry.in_flight && now - entry.sent_at >= kResultResendAfter;
    });
    if (overdue) {
      ++counters_.results_resends;
      on_connected();
    } else {
      arm_resend();
    }
  });
}

}  // namespace hecs::sim
