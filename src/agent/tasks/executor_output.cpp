// ExecutorImpl (executor_impl.h): a run's output, in UTF-8 pieces flushed on a timer, and the
// report of its end.
#include <fmt/format.h>

#include "agent/tasks/executor_impl.h"
#include "agent/tasks/utf8.h"

namespace hecs::agent::tasks {
using proto::RunState;

namespace {

RunState end_state(const ProcessEnd& end) {
  switch (end.reason) {
    case ProcessEnd::Reason::exited:
      return end.exit_code == 0 ? RunState::succeeded : RunState::failed;
    case ProcessEnd::Reason::timed_out:
      return RunState::timed_out;
    case ProcessEnd::Reason::cancelled:
      return RunState::cancelled;
    case ProcessEnd::Reason::signalled:
    case ProcessEnd::Reason::start_failed:
      break;
  }
  return RunState::failed;
}

}  // namespace

void ExecutorImpl::on_output(const std::string& task, Stream stream, std::string_view data) {
  auto it = runs_.find(task);
  if (it == runs_.end()) {
    return;
  }
  auto& pending = stream == Stream::out ? it->second.out : it->second.err;
  pending.data += take_utf8(pending.carry, data, false);
  if (pending.data.size() >= proto::kMaxOutputChunkBytes) {
    send_output(task, it->second);
  }
}

std::vector<proto::TaskResult> ExecutorImpl::take_output(const std::string& task, Run& run,
                                                         bool final) {
  std::vector<proto::TaskResult> chunks;
  for (auto* pending : {&run.out, &run.err}) {
    if (final && !pending->carry.empty()) {
      pending->data += take_utf8(pending->carry, {}, true);
    }
    std::string_view rest = pending->data;
    while (!rest.empty()) {
      auto n = utf8_prefix(rest, proto::kMaxOutputChunkBytes);
      if (n == 0) {
        n = rest.size();
      }
      proto::TaskResult chunk;
      chunk.task = task;
      chunk.output = proto::OutputChunk{pending == &run.out ? "stdout" : "stderr", pending->offset,
                                        std::string(rest.substr(0, n))};
      pending->offset += n;
      rest.remove_prefix(n);
      chunks.push_back(std::move(chunk));
    }
    pending->data.clear();
  }
  return chunks;
}

void ExecutorImpl::send_output(const std::string& task, Run& run) {
  auto chunks = take_output(task, run, false);
  if (!run.reported) {
    proto::TaskResult running;
    running.task = task;
    running.state = RunState::running;
    running.started_at = run.started_at;
    chunks.insert(chunks.begin(), std::move(running));
    run.reported = true;
  }
  if (chunks.empty()) {
    return;
  }
  // Output may lose its tail on a power cut (synchronous=NORMAL); states may not.
  auto stored = outbox_.transaction(
      [&]() -> Result<void> {
        for (const auto& chunk : chunks) {
          if (auto r = hooks_.append(chunk, false); !r) {
            return r;
          }
        }
        return {};
      },
      false);
  if (!stored) {
    log_->error("task.output_lost task={} error={}", task, log::quoted(stored.error().message));
  }
  hooks_.flush();
}

void ExecutorImpl::arm_flush() {
  if (flush_armed_) {
    return;
  }
  flush_armed_ = true;
  flush_timer_.expires_after(options_.output_flush);
  flush_timer_.async_wait([this, alive = alive_](boost::system::error_code ec) {
    if (ec || !*alive) {
      return;
    }
    flush_armed_ = false;
    for (auto& [task, run] : runs_) {
      send_output(task, run);
    }
    if (!runs_.empty() && !stopping_) {
      arm_flush();
    }
  });
}

void ExecutorImpl::on_end(const std::string& task, const ProcessEnd& end) {
  auto it = runs_.find(task);
  if (it == runs_.end() || stopping_) {
    return;  // stopping: the journal keeps "running", reported interrupted at next start
  }
  auto chunks = take_output(task, it->second, true);
  proto::TaskResult result;
  result.task = task;
  result.state = end_state(end);
  result.started_at = it->second.started_at;
  result.ended_at = end.ended_at != 0 ? end.ended_at : clock_.now_ms();
  if (end.reason == ProcessEnd::Reason::exited) {
    result.exit_code = end.exit_code;
  }
  if (end.reason == ProcessEnd::Reason::signalled) {
    result.signal = end.signal;
    result.error = fmt::format("killed by signal {}", end.signal);
  }
  if (end.reason == ProcessEnd::Reason::timed_out) {
    result.error = fmt::format("killed after the timeout of {} s", it->second.spec.timeout_s);
  }
  if (end.reason == ProcessEnd::Reason::start_failed) {
    result.error = end.error;
  }
  result.stdout_bytes = end.stdout_bytes;
  result.stderr_bytes = end.stderr_bytes;
  result.truncated = end.truncated;
  if (!it->second.script.empty()) {
    std::error_code ec;
    std::filesystem::remove(it->second.script, ec);
  }
  auto artifact = std::move(it->second.artifact);
  const bool reported = it->second.reported;
  runs_.erase(it);
  if (!chunks.empty()) {
    result.output = std::move(chunks.back().output);
    chunks.pop_back();
  }
  // The artifact's pieces, then the output not carried in the final state.
  artifact.insert(artifact.end(), std::make_move_iterator(chunks.begin()),
                  std::make_move_iterator(chunks.end()));
  if (!artifact.empty() && !reported) {
    // Pieces not carried by the final state go after a "running": the state report that
    // makes a local schedule's task on the control plane comes before any piece of it.
    proto::TaskResult running;
    running.task = task;
    running.state = RunState::running;
    running.started_at = result.started_at;
    artifact.insert(artifact.begin(), std::move(running));
  }
  if (auto r = finish(task, result, artifact); !r) {
    log_->error("task.journal_failed task={} error={}", task, log::quoted(r.error().message));
  }
  log_->info("task.finished task={} state={} exit_code={}", task,
             proto::run_state_name(*result.state), result.exit_code.value_or(-1));
  hooks_.flush();
  if (restart_after_ == task) {
    restart_after_.clear();
    if (hooks_.restart_agent) {
      hooks_.restart_agent();
    }
    return;
  }
  schedule();
}

}  // namespace hecs::agent::tasks
