// One task process under a supervisor (docs/tasks.md, "Agent side"): private to
// src/agent/tasks.
//
// start() forks a small supervisor process that makes itself a child subreaper
// (PR_SET_CHILD_SUBREAPER) and asks for SIGTERM when the agent dies (PR_SET_PDEATHSIG). The
// supervisor forks the command in a new process group, as the requested user, in the requested
// directory, with the requested environment, stdout and stderr on two pipes read here, stdin on
// /dev/null. Every descendant of the command, double-forked daemons included, is re-parented to
// the supervisor. When the command exits, or on timeout, cancel() or the agent's death, the
// supervisor sends SIGTERM to every descendant still alive, SIGKILL after the grace period,
// reaps them all and only then exits: no process of a run outlives it.
//
// Threading: the agent's io_context thread only; the callbacks run there. The agent must neither
// reap children it did not fork (waitpid(-1)) nor set SIGCHLD to SIG_IGN: the supervisor is
// reaped here, through a pidfd.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/result.h"

namespace hecs::agent::tasks {

struct ProcessSpec {
  // argv[0] is searched in PATH when it has no '/' (the spec's PATH if it gives one), as
  // execvp does, but a file without a #! line is not handed to /bin/sh: it fails with "Exec
  // format error". 1..256 entries, no NUL inside any.
  std::vector<std::string> argv;
  // Added to a base environment of PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:
  // /sbin:/bin, HOME, USER, LOGNAME and SHELL of the user the command runs as, and LANG=C.UTF-8;
  // a variable given here replaces the base one. Nothing else of the agent's environment leaks.
  std::vector<std::pair<std::string, std::string>> env;
  std::string cwd = "/";            // absolute; the command fails to start when it is missing
  std::optional<std::string> user;  // run as this user (and its groups); needs root unless it
                                    // is the agent's own user. nullopt: the agent's user
  std::chrono::milliseconds timeout{300'000};
  std::chrono::milliseconds kill_grace{5'000};    // SIGTERM → SIGKILL
  std::size_t output_cap = std::size_t{1} << 20;  // bytes kept per stream; the rest is drained
};

enum class Stream { out, err };

struct ProcessEnd {
  enum class Reason {
    exited,        // exit_code set (0 = success); -1 with `error` set when the supervisor
                   // itself died (killed from outside): the run's outcome is unknown
    signalled,     // killed by `signal`, not by us (also a SIGTERM sent to the whole agent's
                   // cgroup, as systemd does on stop)
    timed_out,     // we killed it after the timeout (exit_code or signal say how it ended)
    cancelled,     // we killed it on cancel()
    start_failed,  // never ran: `error` says why: "unknown user nobody2", "chdir /nope: No
                   // such file or directory", "exec uname2: No such file or directory",
                   // "setgroups app: Operation not permitted"
  };
  Reason reason = Reason::exited;
  int exit_code = -1;
  int signal = 0;
  std::string error;
  std::uint64_t stdout_bytes = 0;  // bytes the command wrote, kept or not
  std::uint64_t stderr_bytes = 0;
  bool truncated = false;       // a stream passed output_cap
  std::int64_t started_at = 0;  // unix ms
  std::int64_t ended_at = 0;
};

std::string_view reason_name(ProcessEnd::Reason reason);

class Process {
 public:
  using OutputFn = std::function<void(Stream, std::string_view)>;
  using EndFn = std::function<void(const ProcessEnd&)>;

  // Starts the supervisor at once. on_output gets the output as it is read, at most
  // output_cap bytes per stream, then once the marker "\n[hecs: output truncated after N
  // bytes]\n" on that stream. on_end is called exactly once, after the last on_output and
  // after every process of the run is gone (also for start_failed). Errc::invalid_input for a
  // spec that cannot run (empty argv, NUL, relative cwd); Errc::unavailable when fork or pipe
  // fail (out of processes or descriptors).
  // on_end is never called from inside start(). The caller may drop the returned pointer: the
  // run keeps itself alive until on_end, then lets go of both callbacks.
  static Result<std::shared_ptr<Process>> start(boost::asio::io_context& io, ProcessSpec spec,
                                                OutputFn on_output, EndFn on_end);
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  Process(Process&&) = delete;
  Process& operator=(Process&&) = delete;
  virtual ~Process() = default;

  // Ends the run: SIGTERM to all its processes, SIGKILL after kill_grace; on_end then reports
  // `cancelled` (unless the command had already ended, or timed out first). Idempotent, and a
  // no-op after on_end.
  virtual void cancel() = 0;
  // The supervisor's pid (tests look for survivors under it); -1 when none was started.
  virtual int supervisor_pid() const = 0;

 protected:
  Process() = default;
};

namespace detail {
// The supervisor's side, in supervisor.cpp; Process drives it from the agent. Not for use
// outside process.cpp and the tests.

// A forked supervisor: its pid and the agent's ends of its pipes (O_CLOEXEC, owned by the
// caller). pid is -1, no descriptor is open and `start_error` says why when the command cannot
// run for a reason found before forking (an unknown user).
struct Spawned {
  int pid = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  int report_fd = -1;  // the supervisor writes one Report there just before it exits
  std::string start_error;
};
// For a spec Process::start validated. Errc::unavailable when pipe or fork fail. Must be called
// from a thread that lives as long as the run: the supervisor's PR_SET_PDEATHSIG follows it.
Result<Spawned> spawn_supervisor(const ProcessSpec& spec);

struct Report {
  bool valid = false;       // false: the supervisor died without reporting (killed from outside)
  std::string start_error;  // the command never ran: "exec uname2: No such file or directory"
  int wait_status = 0;      // the command's main process, as waitpid gives it
  bool killed = false;      // it was still running when the supervisor was told to end the run
  int survivors = 0;        // processes even SIGKILL did not remove (another user's, D state)
};
// Reads the report once the supervisor has exited; never blocks.
Report read_report(int report_fd, const ProcessSpec& spec);
}  // namespace detail

}  // namespace hecs::agent::tasks
