// Executor (tasks.h): the journal, the queue and the commands; a run's start is in
// executor_run.cpp, its output and its end in executor_output.cpp.
#include <algorithm>

#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "agent/tasks/executor_impl.h"

namespace hecs::agent::tasks {
namespace asio = boost::asio;
using proto::RunState;

ExecutorImpl::ExecutorImpl(asio::io_context& io, uplink::Outbox& outbox, const Clock& clock,
                           Hooks hooks, Options options, std::unique_ptr<Journal> journal)
    : io_(io),
      outbox_(outbox),
      clock_(clock),
      hooks_(std::move(hooks)),
      options_(std::move(options)),
      journal_(std::move(journal)),
      flush_timer_(io),
      log_(log::get("agent.tasks")) {}

ExecutorImpl::~ExecutorImpl() {
  *alive_ = false;
  flush_timer_.cancel();
  if (workers_) {
    for (auto& [id, run] : runs_) {
      if (run.cancel) {
        *run.cancel = true;
      }
    }
    workers_->join();
  }
}

Result<void> ExecutorImpl::recover() {
  auto cut = journal_->in_state("running");
  if (!cut) {
    return tl::unexpected(cut.error());
  }
  for (const auto& entry : *cut) {
    proto::TaskResult result;
    result.task = entry.task;
    result.state = RunState::interrupted;
    result.started_at = entry.started_at;
    result.ended_at = clock_.now_ms();
    result.error = "the agent restarted while the task ran; it is not run again";
    if (auto r = finish(entry.task, result); !r) {
      return r;
    }
    log_->warn("task.interrupted task={}", entry.task);
  }
  auto waiting = journal_->in_state("queued");
  if (!waiting) {
    return tl::unexpected(waiting.error());
  }
  for (const auto& entry : *waiting) {
    boost::system::error_code ec;
    auto value = boost::json::parse(entry.spec, ec);
    auto spec = !ec && value.is_object() ? proto::parse_task(value.get_object())
                                         : Result<proto::TaskSpec>(fail(Errc::corrupt, "spec"));
    if (!spec) {
      (void)report_failed(entry.task, "journal entry unreadable: " + spec.error().message);
      continue;
    }
    queue_.push_back(std::move(*spec));
  }
  auto now = clock_.now_ms();
  (void)journal_->prune(
      now -
          std::chrono::duration_cast<std::chrono::milliseconds>(options_.journal_keep_for).count(),
      options_.journal_keep);
  hooks_.flush();
  schedule();
  return {};
}

bool ExecutorImpl::on_command(const proto::Command& command) {
  if (command.type == "task") {
    on_task(command);
    return true;
  }
  if (command.type == "cancel") {
    on_cancel(command);
    return true;
  }
  return false;
}

Result<bool> ExecutorImpl::submit(proto::TaskSpec spec, const std::function<Result<void>()>& also) {
  auto known = journal_->find(spec.task);
  if (!known) {
    return tl::unexpected(known.error());
  }
  if (*known) {
    return false;
  }
  if (auto stored = enqueue(std::move(spec), also); !stored) {
    return tl::unexpected(stored.error());
  }
  return true;
}

void ExecutorImpl::stop() {
  stopping_ = true;
  flush_timer_.cancel();
  for (auto& [id, run] : runs_) {
    if (run.process) {
      run.process->cancel();  // the journal keeps "running": reported interrupted next start
    }
    if (run.cancel) {
      *run.cancel = true;
    }
  }
}

void ExecutorImpl::on_task(const proto::Command& command) {
  auto spec = proto::parse_task(command.body);
  if (!spec) {
    const auto* id = command.body.if_contains("task");
    std::string task = id != nullptr && id->is_string() ? std::string(id->get_string()) : "";
    log_->warn("task.refused task={} reason={}", log::quoted(task),
               log::quoted(spec.error().message));
    if (is_uuid(task)) {
      auto known = journal_->find(task);
      if (known && !*known) {
        (void)report_failed(task, "refused by the agent: " + spec.error().message);
        hooks_.flush();
      }
    }
    return;
  }
  auto known = journal_->find(spec->task);
  if (!known) {
    log_->error("task.journal_failed task={} error={}", spec->task,
                log::quoted(known.error().message));
    return;  // not journalled, so not run: the control plane sends it again
  }
  if (*known) {
    log_->info("task.duplicate task={} state={}", spec->task, (*known)->state);
    return;
  }
  const std::string task = spec->task;
  if (auto stored = enqueue(std::move(*spec), nullptr); !stored) {
    log_->error("task.journal_failed task={} error={}", task, log::quoted(stored.error().message));
  }
}

Result<void> ExecutorImpl::enqueue(proto::TaskSpec spec,
                                   const std::function<Result<void>()>& also) {
  JournalEntry entry;
  entry.task = spec.task;
  entry.state = "queued";
  entry.spec = boost::json::serialize(proto::to_json(spec));
  entry.received_at = clock_.now_ms();
  auto stored = outbox_.transaction(
      [&]() -> Result<void> {
        if (auto r = journal_->insert(entry); !r) {
          return r;
        }
        return also ? also() : Result<void>();
      },
      true);
  if (!stored) {
    return stored;
  }
  log_->info("task.queued task={}", entry.task);
  queue_.push_back(std::move(spec));
  schedule();
  return {};
}

void ExecutorImpl::on_cancel(const proto::Command& command) {
  auto cancel = proto::parse_cancel(command.body);
  if (!cancel) {
    log_->warn("task.cancel_refused reason={}", log::quoted(cancel.error().message));
    return;
  }
  if (auto it = runs_.find(cancel->task); it != runs_.end()) {
    log_->info("task.cancelling task={}", cancel->task);
    if (it->second.process) {
      it->second.process->cancel();
    }
    if (it->second.cancel) {
      *it->second.cancel = true;
    }
    return;
  }
  proto::TaskResult result;
  result.task = cancel->task;
  result.state = RunState::cancelled;
  result.ended_at = clock_.now_ms();
  if (auto q = std::find_if(queue_.begin(), queue_.end(),
                            [&](const proto::TaskSpec& s) { return s.task == cancel->task; });
      q != queue_.end()) {
    queue_.erase(q);
    result.error = "cancelled before it started";
    (void)finish(cancel->task, result);
    hooks_.flush();
    return;
  }
  auto known = journal_->find(cancel->task);
  if (known && !*known) {
    // The cancel overtook the task (it was offline, say): remember it, so that the task is
    // never run when it arrives.
    result.error = "cancelled before it reached the device";
    JournalEntry entry{cancel->task, "cancelled", "", clock_.now_ms(), 0};
    auto stored = outbox_.transaction(
        [&]() -> Result<void> {
          if (auto r = journal_->insert(entry); !r) {
            return r;
          }
          return hooks_.append(result, false);
        },
        true);
    if (!stored) {
      log_->error("task.journal_failed task={} error={}", cancel->task,
                  log::quoted(stored.error().message));
    }
    hooks_.flush();
  }
}

void ExecutorImpl::schedule() {
  while (!stopping_ && runs_.size() < options_.concurrency && !queue_.empty()) {
    auto spec = std::move(queue_.front());
    queue_.pop_front();
    start(std::move(spec));
  }
}

void ExecutorImpl::start(proto::TaskSpec spec) {
  const auto now = clock_.now_ms();
  const std::string task = spec.task;
  if (spec.deadline > 0 && now / 1000 > spec.deadline) {
    proto::TaskResult result;
    result.task = task;
    result.state = RunState::expired;
    result.ended_at = now;
    result.error = "received after its deadline";
    (void)finish(task, result);
    hooks_.flush();
    return;
  }
  // Journalled as running before anything runs: a crash from here on reports interrupted,
  // never a second run. The control plane hears "running" at the next output flush.
  auto stored = outbox_.transaction(
      [&]() -> Result<void> { return journal_->set_state(task, "running", now); }, true);
  if (!stored) {
    log_->error("task.journal_failed task={} error={}", task, log::quoted(stored.error().message));
    queue_.push_front(std::move(spec));
    return;
  }
  log_->info("task.started task={}", task);
  Run& run = runs_[task];
  run.spec = std::move(spec);
  run.started_at = now;
  if (auto r = launch(run); !r) {
    ProcessEnd end;
    end.reason = ProcessEnd::Reason::start_failed;
    end.error = r.error().message;
    end.started_at = now;
    end.ended_at = clock_.now_ms();
    // Later on the loop, so that `run` is not erased under our caller.
    asio::post(io_, [this, alive = alive_, task, end] {
      if (*alive) {
        on_end(task, end);
      }
    });
  }
}

Result<void> ExecutorImpl::finish(const std::string& task, const proto::TaskResult& result,
                                  const std::vector<proto::TaskResult>& before) {
  return outbox_.transaction(
      [&]() -> Result<void> {
        for (const auto& piece : before) {
          if (auto r = hooks_.append(piece, false); !r) {
            return r;
          }
        }
        if (auto r = journal_->set_state(task, std::string(proto::run_state_name(*result.state)),
                                         result.ended_at);
            !r) {
          return r;
        }
        return hooks_.append(result, false);
      },
      true);
}

Result<void> ExecutorImpl::report_failed(const std::string& task, std::string error) {
  proto::TaskResult result;
  result.task = task;
  result.state = RunState::failed;
  result.ended_at = clock_.now_ms();
  result.error = std::move(error);
  JournalEntry entry{task, "failed", "", result.ended_at, 0};
  return outbox_.transaction(
      [&]() -> Result<void> {
        auto known = journal_->find(task);
        if (!known) {
          return tl::unexpected(known.error());
        }
        auto r =
            *known ? journal_->set_state(task, "failed", result.ended_at) : journal_->insert(entry);
        if (!r) {
          return r;
        }
        return hooks_.append(result, false);
      },
      true);
}

Result<std::unique_ptr<Executor>> Executor::open(asio::io_context& io, uplink::Outbox& outbox,
                                                 const Clock& clock, Hooks hooks, Options options) {
  if (options.concurrency == 0) {
    return fail(Errc::invalid_input, "task_concurrency: must be at least 1");
  }
  auto journal = Journal::open(outbox.database());
  if (!journal) {
    return tl::unexpected(journal.error());
  }
  return std::unique_ptr<Executor>(new ExecutorImpl(io, outbox, clock, std::move(hooks),
                                                    std::move(options), std::move(*journal)));
}

}  // namespace hecs::agent::tasks
