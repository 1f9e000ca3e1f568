// Executor (tasks.h): the journal, the queue, the runs and their reports.
#include <atomic>
#include <deque>
#include <map>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fcntl.h>
#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include "agent/tasks/collect_logs.h"
#include "agent/tasks/journal.h"
#include "agent/tasks/process.h"
#include "agent/tasks/tasks.h"
#include "agent/tasks/utf8.h"
#include "agent/uplink/uplink.h"
#include "common/log.h"

namespace hecs::agent::tasks {
namespace asio = boost::asio;
using proto::RunState;

namespace {

// S26: the directory a task runs in, after symlinks, must lie inside an allowed one.
Result<void> check_cwd(const std::string& cwd, const std::vector<std::filesystem::path>& allow) {
  std::error_code ec;
  auto real = std::filesystem::canonical(cwd, ec);
  if (ec) {
    return fail(Errc::invalid_input, fmt::format("cwd {}: {}", cwd, ec.message()));
  }
  for (const auto& dir : allow) {
    auto base = std::filesystem::weakly_canonical(dir, ec);
    if (ec) {
      continue;
    }
    auto [b, r] = std::mismatch(base.begin(), base.end(), real.begin(), real.end());
    if (b == base.end() || (std::next(b) == base.end() && b->empty())) {
      return {};
    }
  }
  return fail(
      Errc::invalid_input,
      fmt::format("cwd {}: outside the directories tasks may use (task_cwd_allow)", real.string()));
}

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

struct Pending {
  std::string data;          // sanitised text not sent yet
  std::string carry;         // an incomplete UTF-8 sequence
  std::uint64_t offset = 0;  // offset of data[0] in the stream's text
};

struct Run {
  proto::TaskSpec spec;
  std::shared_ptr<Process> process;
  std::int64_t started_at = 0;
  Pending out, err;
  std::filesystem::path script;
  // "running" goes out with the first output flush, so a run that ends before it sends a
  // single message: its final state with its last piece of output.
  bool reported = false;
  // collect-logs: runs on a worker thread; its artifact commits with the final state.
  std::shared_ptr<std::atomic<bool>> cancel;
  std::vector<proto::TaskResult> artifact;
};

class ExecutorImpl final : public Executor {
 public:
  ExecutorImpl(asio::io_context& io, uplink::Outbox& outbox, const Clock& clock, Hooks hooks,
               Options options, std::unique_ptr<Journal> journal)
      : io_(io),
        outbox_(outbox),
        clock_(clock),
        hooks_(std::move(hooks)),
        options_(std::move(options)),
        journal_(std::move(journal)),
        flush_timer_(io),
        log_(log::get("agent.tasks")) {}

  ~ExecutorImpl() override {
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

  Result<void> recover() override {
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
        now - std::chrono::duration_cast<std::chrono::milliseconds>(options_.journal_keep_for)
                  .count(),
        options_.journal_keep);
    hooks_.flush();
    schedule();
    return {};
  }

  bool on_command(const proto::Command& command) override {
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

  Result<bool> submit(proto::TaskSpec spec, const std::function<Result<void>()>& also) override {
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

  void stop() override {
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

  std::size_t running() const override { return runs_.size(); }
  std::size_t queued() const override { return queue_.size(); }

 private:
  void on_task(const proto::Command& command) {
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
      log_->error("task.journal_failed task={} error={}", task,
                  log::quoted(stored.error().message));
    }
  }

  // Journals a new task `queued` (with what `also` writes, in the same transaction) and starts
  // it when a slot is free.
  Result<void> enqueue(proto::TaskSpec spec, const std::function<Result<void>()>& also) {
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

  void on_cancel(const proto::Command& command) {
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

  // Starts queued tasks while there is room.
  void schedule() {
    while (!stopping_ && runs_.size() < options_.concurrency && !queue_.empty()) {
      auto spec = std::move(queue_.front());
      queue_.pop_front();
      start(std::move(spec));
    }
  }

  void start(proto::TaskSpec spec) {
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
      log_->error("task.journal_failed task={} error={}", task,
                  log::quoted(stored.error().message));
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

  Result<void> launch(Run& run) {
    const auto& spec = run.spec;
    if (auto r = check_cwd(spec.cwd, options_.cwd_allow); !r) {
      return r;
    }
    ProcessSpec ps;
    switch (spec.kind) {
      case proto::TaskKind::argv:
        ps.argv = spec.argv;
        break;
      case proto::TaskKind::script: {
        auto path = write_script(spec);
        if (!path) {
          return tl::unexpected(path.error());
        }
        run.script = *path;
        ps.argv.push_back(spec.interpreter);
        ps.argv.insert(ps.argv.end(), spec.interpreter_args.begin(), spec.interpreter_args.end());
        ps.argv.push_back(path->string());
        break;
      }
      case proto::TaskKind::builtin:
        return builtin(run, ps);
    }
    return spawn(run, std::move(ps));
  }

  Result<void> spawn(Run& run, ProcessSpec ps) {
    const auto& spec = run.spec;
    ps.env = spec.env;
    ps.cwd = spec.cwd;
    if (!spec.user.empty()) {
      ps.user = spec.user;
    }
    ps.timeout = std::chrono::seconds(spec.timeout_s);
    ps.kill_grace = options_.kill_grace;
    ps.output_cap = spec.output_cap;
    const std::string task = spec.task;
    auto process = Process::start(
        io_, std::move(ps),
        [this, alive = alive_, task](Stream stream, std::string_view data) {
          if (*alive) {
            on_output(task, stream, data);
          }
        },
        [this, alive = alive_, task](const ProcessEnd& end) {
          if (*alive) {
            on_end(task, end);
          }
        });
    if (!process) {
      return tl::unexpected(process.error());
    }
    run.process = std::move(*process);
    arm_flush();
    return {};
  }

  // Builtins without a process end here at once; those with one are spawned.
  Result<void> builtin(Run& run, ProcessSpec& ps) {
    const auto& name = run.spec.builtin;
    if (name == "reboot") {
      const auto* confirm = run.spec.args.if_contains("confirm");
      if (confirm == nullptr || !confirm->is_bool() || !confirm->get_bool()) {
        return fail(Errc::invalid_input, "reboot needs args.confirm = true");
      }
      ps.argv = hooks_.reboot_command;
      return spawn(run, std::move(ps));
    }
    if (name == "collect-logs") {
      return collect(run);
    }
    ProcessEnd end;
    end.reason = ProcessEnd::Reason::exited;
    end.exit_code = 0;
    end.started_at = run.started_at;
    if (name == "inventory-refresh") {
      if (hooks_.refresh_inventory) {
        hooks_.refresh_inventory();
      }
    } else if (name == "restart-agent") {
      restart_after_ = run.spec.task;
    } else {
      return fail(Errc::invalid_input,
                  fmt::format("builtin {} is not available in this agent version", name));
    }
    const std::string task = run.spec.task;
    asio::post(io_, [this, alive = alive_, task, end]() mutable {
      if (*alive) {
        end.ended_at = clock_.now_ms();
        on_end(task, end);
      }
    });
    return {};
  }

  // collect-logs: checked here, collected on a worker thread, reported back on the loop.
  Result<void> collect(Run& run) {
    auto request = parse_collect_args(run.spec.args);
    if (!request) {
      return tl::unexpected(request.error());
    }
    CollectSettings settings{options_.collect_allow, options_.collect_max_bytes,
                             options_.agent_logs,    options_.agent_unit,
                             options_.journalctl,    options_.scratch_dir};
    run.cancel = std::make_shared<std::atomic<bool>>(false);
    if (!workers_) {
      workers_ = std::make_unique<asio::thread_pool>(1);
    }
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(run.spec.timeout_s);
    asio::post(*workers_, [this, alive = alive_, task = run.spec.task, request = *request,
                           settings = std::move(settings), cancel = run.cancel, deadline] {
      auto bundle = collect_logs(task, request, settings, *cancel, deadline);
      asio::post(io_, [this, alive, task, bundle = std::move(bundle)] {
        if (*alive) {
          on_collected(task, bundle);
        }
      });
    });
    return {};
  }

  void on_collected(const std::string& task, const Result<Bundle>& bundle) {
    auto it = runs_.find(task);
    if (it == runs_.end()) {
      return;
    }
    ProcessEnd end;
    end.started_at = it->second.started_at;
    end.ended_at = clock_.now_ms();
    if (bundle) {
      end.reason = ProcessEnd::Reason::exited;
      end.exit_code = 0;
      it->second.artifact = artifact_pieces(task, *bundle);
      log_->info("task.collected task={} bytes={} sha256={}", task, bundle->bytes.size(),
                 bundle->sha256);
    } else if (bundle.error().code == Errc::timeout) {
      end.reason = ProcessEnd::Reason::timed_out;
    } else if (bundle.error().code == Errc::conflict) {
      end.reason = ProcessEnd::Reason::cancelled;
    } else {
      end.reason = ProcessEnd::Reason::start_failed;
      end.error = "collect-logs: " + bundle.error().message;
    }
    on_end(task, end);
  }

  Result<std::filesystem::path> write_script(const proto::TaskSpec& spec) {
    std::error_code ec;
    std::filesystem::create_directories(options_.scratch_dir, ec);
    auto path = options_.scratch_dir / (spec.task + ".script");
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0500);
    if (fd < 0) {
      return fail(Errc::unavailable, fmt::format("script {}: {}", path.string(), strerror(errno)));
    }
    bool ok = ::write(fd, spec.script.data(), spec.script.size()) ==
              static_cast<ssize_t>(spec.script.size());
    if (ok && !spec.user.empty()) {
      // The user the script runs as must be able to read it, and nobody else.
      struct passwd pw {};
      struct passwd* found = nullptr;
      std::vector<char> buffer(16384);
      if (getpwnam_r(spec.user.c_str(), &pw, buffer.data(), buffer.size(), &found) == 0 &&
          found != nullptr) {
        ok = ::fchown(fd, pw.pw_uid, pw.pw_gid) == 0;
      }
    }
    ::close(fd);
    if (!ok) {
      std::filesystem::remove(path, ec);
      return fail(Errc::unavailable, fmt::format("script {}: cannot write", path.string()));
    }
    return path;
  }

  void on_output(const std::string& task, Stream stream, std::string_view data) {
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

  // The buffered output of a run, in chunks of at most kMaxOutputChunkBytes.
  static std::vector<proto::TaskResult> take_output(const std::string& task, Run& run, bool final) {
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
        chunk.output = proto::OutputChunk{pending == &run.out ? "stdout" : "stderr",
                                          pending->offset, std::string(rest.substr(0, n))};
        pending->offset += n;
        rest.remove_prefix(n);
        chunks.push_back(std::move(chunk));
      }
      pending->data.clear();
    }
    return chunks;
  }

  // Sends a running run's buffered output, after its "running" if that is not out yet.
  void send_output(const std::string& task, Run& run) {
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

  void arm_flush() {
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

  void on_end(const std::string& task, const ProcessEnd& end) {
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

  // The final state with the journal's state, in one durable transaction, after what `before`
  // holds (the run's artifact pieces, the output not carried in the state): the control plane
  // never sees the state without them.
  Result<void> finish(const std::string& task, const proto::TaskResult& result,
                      const std::vector<proto::TaskResult>& before = {}) {
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

  Result<void> report_failed(const std::string& task, std::string error) {
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
          auto r = *known ? journal_->set_state(task, "failed", result.ended_at)
                          : journal_->insert(entry);
          if (!r) {
            return r;
          }
          return hooks_.append(result, false);
        },
        true);
  }

  asio::io_context& io_;
  uplink::Outbox& outbox_;
  const Clock& clock_;
  Hooks hooks_;
  Options options_;
  std::unique_ptr<Journal> journal_;
  asio::steady_timer flush_timer_;
  log::Logger log_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::deque<proto::TaskSpec> queue_;
  std::map<std::string, Run> runs_;
  std::string restart_after_;
  bool flush_armed_ = false;
  bool stopping_ = false;
  std::unique_ptr<asio::thread_pool> workers_;  // collect-logs, created on first use
};

}  // namespace

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
