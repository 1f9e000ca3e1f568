// ExecutorImpl (executor_impl.h): the start of a run: its cwd, its script, its process, the
// builtins and the collect-logs worker.
#include <algorithm>

#include <boost/asio/post.hpp>
#include <fcntl.h>
#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include "agent/tasks/executor_impl.h"

namespace hecs::agent::tasks {
namespace asio = boost::asio;

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

}  // namespace

Result<void> ExecutorImpl::launch(Run& run) {
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

Result<void> ExecutorImpl::spawn(Run& run, ProcessSpec ps) {
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

Result<void> ExecutorImpl::builtin(Run& run, ProcessSpec& ps) {
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

Result<void> ExecutorImpl::collect(Run& run) {
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
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(run.spec.timeout_s);
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

void ExecutorImpl::on_collected(const std::string& task, const Result<Bundle>& bundle) {
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

Result<std::filesystem::path> ExecutorImpl::write_script(const proto::TaskSpec& spec) {
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

}  // namespace hecs::agent::tasks
