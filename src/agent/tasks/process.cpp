#include "agent/tasks/process.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <optional>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"

namespace hecs::agent::tasks {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

constexpr std::size_t kMaxArgs = 256;
// Once the supervisor is gone every process of the run is, so the pipes are at EOF; a process
// it could not kill (another user's, stuck in D state) may still hold them: stop waiting then.
constexpr auto kDrainLimit = std::chrono::seconds(2);
constexpr auto kReapPoll = std::chrono::milliseconds(50);   // only without pidfd (Linux < 5.3)
constexpr std::size_t kReadChunk = std::size_t{64} * 1024;  // a pipe's default capacity

bool valid_env_name(std::string_view name) {
  auto head = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  auto tail = [&head](char c) { return head(c) || (c >= '0' && c <= '9'); };
  return !name.empty() && head(name.front()) && std::all_of(name.begin() + 1, name.end(), tail);
}

bool has_nul(std::string_view text) { return text.find('\0') != std::string_view::npos; }

Result<void> validate(const ProcessSpec& spec) {
  if (spec.argv.empty() || spec.argv.size() > kMaxArgs) {
    return fail(Errc::invalid_input, fmt::format("argv needs 1 to {} entries", kMaxArgs));
  }
  if (spec.argv.front().empty()) {
    return fail(Errc::invalid_input, "argv[0] is empty");
  }
  for (std::size_t i = 0; i < spec.argv.size(); ++i) {
    if (has_nul(spec.argv[i])) {
      return fail(Errc::invalid_input, fmt::format("argv[{}] contains NUL", i));
    }
  }
  for (const auto& [name, value] : spec.env) {
    if (!valid_env_name(name)) {
      return fail(Errc::invalid_input, "invalid env variable name " + log::quoted(name));
    }
    if (has_nul(value)) {
      return fail(Errc::invalid_input, fmt::format("env variable {} contains NUL", name));
    }
  }
  if (spec.cwd.empty() || spec.cwd.front() != '/' || has_nul(spec.cwd)) {
    return fail(Errc::invalid_input, "cwd must be an absolute path without NUL");
  }
  if (spec.user && (spec.user->empty() || has_nul(*spec.user))) {
    return fail(Errc::invalid_input, "user must be a non-empty name without NUL");
  }
  if (spec.timeout.count() <= 0 || spec.kill_grace.count() < 0) {
    return fail(Errc::invalid_input, "timeout must be positive and kill_grace not negative");
  }
  return {};
}

class ProcessImpl final : public Process, public std::enable_shared_from_this<ProcessImpl> {
 public:
  ProcessImpl(asio::io_context& io, ProcessSpec spec, OutputFn on_output, EndFn on_end)
      : io_(io),
        spec_(std::move(spec)),
        on_output_(std::move(on_output)),
        on_end_(std::move(on_end)),
        log_(log::get("agent.tasks")),
        started_at_(clock_.now_ms()),
        out_(io, Stream::out),
        err_(io, Stream::err),
        pidfd_(io),
        timeout_(io),
        drain_(io) {}

  ProcessImpl(const ProcessImpl&) = delete;
  ProcessImpl& operator=(const ProcessImpl&) = delete;
  ProcessImpl(ProcessImpl&&) = delete;
  ProcessImpl& operator=(ProcessImpl&&) = delete;

  ~ProcessImpl() override {
    // Only when the io_context was destroyed with the run going: the supervisor cleans up.
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGTERM);
    }
    if (report_fd_ >= 0) {
      ::close(report_fd_);
    }
  }

  const ProcessSpec& spec() const { return spec_; }

  void cancel() override { end_run(ProcessEnd::Reason::cancelled); }

  int supervisor_pid() const override { return pid_; }

  void refuse(std::string error) {
    self_ = shared_from_this();
    asio::post(io_, [self = shared_from_this(), error = std::move(error)]() mutable {
      ProcessEnd end;
      end.reason = ProcessEnd::Reason::start_failed;
      end.error = std::move(error);
      self->finish(std::move(end));
    });
  }

  void run(const detail::Spawned& spawned) {
    self_ = shared_from_this();
    pid_ = spawned.pid;
    report_fd_ = spawned.report_fd;
    log_->debug("task.supervisor_started pid={} program={}", pid_, log::quoted(spec_.argv.front()));
    attach(out_, spawned.stdout_fd);
    attach(err_, spawned.stderr_fd);
    // glibc 2.36's <sys/pidfd.h> lacks extern "C", hence the raw system call.
    if (int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)); pidfd >= 0) {
      error_code ec;
      pidfd_.assign(pidfd, ec);
      if (ec) {
        ::close(pidfd);
      }
    }
    watch_supervisor();
    timeout_.expires_after(spec_.timeout);
    timeout_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) {
        self->end_run(ProcessEnd::Reason::timed_out);
      }
    });
  }

 private:
  struct Pipe {
    Pipe(asio::io_context& io, Stream which) : fd(io), stream(which) {}
    asio::posix::stream_descriptor fd;
    Stream stream;
    std::uint64_t bytes = 0;
    bool marked = false;  // the truncation marker was sent
    bool done = false;    // EOF, error or closed by us; no read pending
    std::array<char, kReadChunk> buffer{};
  };

  void attach(Pipe& pipe, int fd) {
    error_code ec;
    pipe.fd.assign(fd, ec);
    if (ec) {
      ::close(fd);
      pipe.done = true;
      return;
    }
    read(pipe);
  }

  void read(Pipe& pipe) {
    pipe.fd.async_read_some(asio::buffer(pipe.buffer),
                            [self = shared_from_this(), &pipe](error_code ec, std::size_t size) {
                              self->on_read(pipe, ec, size);
                            });
  }

  void on_read(Pipe& pipe, error_code ec, std::size_t size) {
    if (size > 0) {
      deliver(pipe, size);
    }
    if (ec) {
      pipe.fd.close(ec);
      pipe.done = true;
      maybe_finish();
      return;
    }
    read(pipe);
  }

  // Past the cap the bytes are only counted: the pipe must be drained, or the command blocks.
  void deliver(Pipe& pipe, std::size_t size) {
    std::uint64_t cap = spec_.output_cap;
    std::uint64_t kept_before = std::min(pipe.bytes, cap);
    pipe.bytes += size;
    std::uint64_t keep = std::min(pipe.bytes, cap) - kept_before;
    if (keep > 0 && on_output_) {
      on_output_(pipe.stream, std::string_view(pipe.buffer.data(), keep));
    }
    if (pipe.bytes > cap && !pipe.marked) {
      pipe.marked = true;
      if (on_output_) {
        on_output_(pipe.stream, fmt::format("\n[hecs: output truncated after {} bytes]\n", cap));
      }
    }
  }

  // The supervisor does the killing; SIGTERM tells it to.
  void end_run(ProcessEnd::Reason reason) {
    if (pid_ <= 0 || reaped_ || kill_reason_) {
      return;
    }
    kill_reason_ = reason;
    log_->info("task.run_ending supervisor={} reason={}", pid_, reason_name(reason));
    ::kill(pid_, SIGTERM);
  }

  void watch_supervisor() {
    if (pidfd_.is_open()) {
      pidfd_.async_wait(asio::posix::descriptor_base::wait_read,
                        [self = shared_from_this()](error_code ec) {
                          if (ec) {
                            error_code ignored;
                            self->pidfd_.close(ignored);  // poll instead
                          }
                          self->try_reap();
                        });
      return;
    }
    drain_.expires_after(kReapPoll);
    drain_.async_wait([self = shared_from_this()](error_code) { self->try_reap(); });
  }

  void try_reap() {
    int status = 0;
    pid_t got = ::waitpid(pid_, &status, WNOHANG);
    if (got == 0 || (got < 0 && errno == EINTR)) {
      watch_supervisor();
      return;
    }
    reaped_ = true;  // or reaped by someone else (ECHILD): the report still tells
    error_code ignored;
    pidfd_.close(ignored);
    timeout_.cancel();
    report_ = detail::read_report(report_fd_, spec_);
    ::close(report_fd_);
    report_fd_ = -1;
    if (!report_.valid) {
      supervisor_error_ = got != pid_ ? std::string("supervisor died")
                          : WIFSIGNALED(status)
                              ? fmt::format("supervisor killed by signal {}", WTERMSIG(status))
                              : fmt::format("supervisor exited with code {}", WEXITSTATUS(status));
      log_->warn("task.supervisor_lost supervisor={} error={}", pid_,
                 log::quoted(supervisor_error_));
      close_pipes();
    } else if (report_.survivors > 0) {
      log_->warn("task.survivors supervisor={} count={}", pid_, report_.survivors);
    }
    if (!out_.done || !err_.done) {
      drain_.expires_after(kDrainLimit);
      drain_.async_wait([self = shared_from_this()](error_code ec) {
        if (!ec && !self->ended_) {
          self->log_->warn("task.output_held supervisor={}", self->pid_);
          self->close_pipes();
        }
      });
    }
    maybe_finish();
  }

  void close_pipes() {
    error_code ignored;
    out_.fd.close(ignored);  // a pending read completes with operation_aborted
    err_.fd.close(ignored);
  }

  void maybe_finish() {
    if (ended_ || !reaped_ || !out_.done || !err_.done) {
      return;
    }
    ProcessEnd end;
    if (!report_.valid) {
      end.reason = kill_reason_.value_or(ProcessEnd::Reason::exited);
      end.error = supervisor_error_;
    } else if (!report_.start_error.empty()) {
      end.reason = ProcessEnd::Reason::start_failed;
      end.error = report_.start_error;
    } else {
      int status = report_.wait_status;
      if (WIFEXITED(status)) {
        end.exit_code = WEXITSTATUS(status);
      } else if (WIFSIGNALED(status)) {
        end.signal = WTERMSIG(status);
      }
      if (kill_reason_ && report_.killed) {
        end.reason = *kill_reason_;
      } else {
        end.reason =
            WIFSIGNALED(status) ? ProcessEnd::Reason::signalled : ProcessEnd::Reason::exited;
      }
    }
    finish(std::move(end));
  }

  void finish(ProcessEnd end) {
    ended_ = true;
    timeout_.cancel();
    drain_.cancel();
    end.stdout_bytes = out_.bytes;
    end.stderr_bytes = err_.bytes;
    end.truncated = out_.marked || err_.marked;
    end.started_at = started_at_;
    end.ended_at = clock_.now_ms();
    // Dropping the callbacks breaks any cycle through a caller that captured this Process.
    auto self = std::move(self_);
    auto on_end = std::move(on_end_);
    on_output_ = nullptr;
    log_->debug("task.process_ended supervisor={} reason={} exit_code={} signal={}", pid_,
                reason_name(end.reason), end.exit_code, end.signal);
    if (on_end) {
      on_end(end);
    }
  }

  asio::io_context& io_;
  ProcessSpec spec_;
  OutputFn on_output_;
  EndFn on_end_;
  log::Logger log_;
  SystemClock clock_;
  std::int64_t started_at_;
  int pid_ = -1;
  int report_fd_ = -1;
  Pipe out_;
  Pipe err_;
  asio::posix::stream_descriptor pidfd_;
  asio::steady_timer timeout_;
  asio::steady_timer drain_;  // the reap poll without pidfd, then the wait for EOF
  bool reaped_ = false;
  bool ended_ = false;
  std::optional<ProcessEnd::Reason> kill_reason_;
  detail::Report report_;
  std::string supervisor_error_;
  std::shared_ptr<ProcessImpl> self_;  // kept until on_end, so the run outlives its callers
};

}  // namespace

std::string_view reason_name(ProcessEnd::Reason reason) {
  switch (reason) {
    case ProcessEnd::Reason::exited:
      return "exited";
    case ProcessEnd::Reason::signalled:
      return "signalled";
    case ProcessEnd::Reason::timed_out:
      return "timed_out";
    case ProcessEnd::Reason::cancelled:
      return "cancelled";
    case ProcessEnd::Reason::start_failed:
      return "start_failed";
  }
  return "unknown";
}

Result<std::shared_ptr<Process>> Process::start(boost::asio::io_context& io, ProcessSpec spec,
                                                OutputFn on_output, EndFn on_end) {
  if (auto valid = validate(spec); !valid) {
    return tl::unexpected(std::move(valid.error()));
  }
  auto process =
      std::make_shared<ProcessImpl>(io, std::move(spec), std::move(on_output), std::move(on_end));
  auto spawned = detail::spawn_supervisor(process->spec());
  if (!spawned) {
    return tl::unexpected(std::move(spawned.error()));
  }
  if (spawned->pid < 0) {
    process->refuse(std::move(spawned->start_error));
  } else {
    process->run(*spawned);
  }
  return std::shared_ptr<Process>(std::move(process));
}

}  // namespace hecs::agent::tasks
