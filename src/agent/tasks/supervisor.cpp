// The supervisor of one run (docs/tasks.md, "Agent side"). It is forked from the agent, which may
// have threads, and never execs: from fork() to _exit() it and the command's child make only
// async-signal-safe calls (no allocation, no locks, no stdio). Everything they need (argv, the
// environment, the paths to try, the user's ids and groups) is prepared before fork (launch.cpp,
// which also forks it and reads its report).
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <string>
#include <system_error>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/tasks/launch.h"
#include "agent/tasks/process.h"

namespace hecs::agent::tasks::detail {
namespace {

constexpr long kPollMs = 20;          // how often the kill loop looks for re-parented orphans
constexpr long kKillWaitMs = 10'000;  // how long SIGKILLed processes get to disappear
constexpr int kMaxChildren = 512;     // per scan of /proc; the next scan finds the rest

// ---- From here on, code runs in forked children: async-signal-safe calls only. ----

long now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1'000'000;
}

void write_report(int fd, const WireReport& report) {
  ssize_t written = 0;
  do {
    written = write(fd, &report, sizeof report);
  } while (written < 0 && errno == EINTR);
}

[[noreturn]] void report_and_exit(int fd, Stage stage, int err) {
  WireReport report;
  report.stage = stage;
  report.err = err;
  write_report(fd, report);
  _exit(0);
}

void close_fds(unsigned first, unsigned last) {
  if (first > last || close_range(first, last, 0) == 0) {
    return;
  }
  // close_range needs Linux 5.9: one by one up to the descriptor limit.
  rlimit limit{};
  unsigned end = 65536;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < end) {
    end = static_cast<unsigned>(limit.rlim_cur);
  }
  for (unsigned fd = first; fd <= last && fd < end; ++fd) {
    close(static_cast<int>(fd));
  }
}

// Closes every descriptor but keep[0..2], which it moves above stderr first, then points
// 0, 1 and 2 at /dev/null so that no later descriptor lands there.
void keep_only(int (&keep)[3]) {
  for (int& fd : keep) {
    if (fd <= STDERR_FILENO) {
      if (int moved = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1); moved >= 0) {
        fd = moved;
      }
    }
  }
  int sorted[3] = {keep[0], keep[1], keep[2]};
  std::sort(sorted, sorted + 3);
  unsigned next = 0;
  for (int fd : sorted) {
    if (static_cast<unsigned>(fd) > next) {
      close_fds(next, static_cast<unsigned>(fd) - 1);
    }
    next = static_cast<unsigned>(fd) + 1;
  }
  close_fds(next, ~0U);
  for (;;) {
    int fd = open("/dev/null", O_RDWR);
    if (fd < 0) {
      break;
    }
    if (fd > STDERR_FILENO) {
      close(fd);
      break;
    }
  }
}

void reset_signal_dispositions(bool ignore_sigpipe) {
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) {
    sigaction(sig, &action, nullptr);  // SIGKILL, SIGSTOP, glibc's own: EINVAL, harmless
  }
  if (ignore_sigpipe) {
    action.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &action, nullptr);
  }
}

[[noreturn]] void child_failed(int error_fd, Stage stage, int err) {
  ChildError error{stage, err};
  ssize_t written = write(error_fd, &error, sizeof error);
  static_cast<void>(written);  // nothing more to tell: the supervisor then sees an exit 127
  _exit(127);
}

// The command's process: own group, stdio, default signals, user, directory, then execve.
[[noreturn]] void exec_command(const Launch& launch, int out_fd, int err_fd, int error_fd) {
  setpgid(0, 0);
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
      dup2(err_fd, STDERR_FILENO) < 0) {
    child_failed(error_fd, Stage::setup, errno);
  }
  reset_signal_dispositions(false);
  sigset_t none;
  sigemptyset(&none);
  pthread_sigmask(SIG_SETMASK, &none, nullptr);
  if (launch.drop) {
    if (setgroups(launch.groups.size(), launch.groups.data()) != 0) {
      child_failed(error_fd, Stage::setgroups, errno);
    }
    if (setresgid(launch.gid, launch.gid, launch.gid) != 0) {
      child_failed(error_fd, Stage::setgid, errno);
    }
    if (setresuid(launch.uid, launch.uid, launch.uid) != 0) {
      child_failed(error_fd, Stage::setuid, errno);
    }
    if (geteuid() != launch.uid || getegid() != launch.gid || (launch.uid != 0 && setuid(0) == 0)) {
      child_failed(error_fd, Stage::drop_check, EPERM);
    }
  }
  if (chdir(launch.cwd.c_str()) != 0) {
    child_failed(error_fd, Stage::chdir, errno);
  }
  int err = ENOENT;
  bool denied = false;
  for (const std::string& path : launch.exec_paths) {
    execve(path.c_str(), launch.argv_ptrs.data(), launch.env_ptrs.data());
    err = errno;
    if (err == EACCES) {
      denied = true;
    } else if (err != ENOENT && err != ENOTDIR && err != ESTALE && err != ENODEV &&
               err != ETIMEDOUT) {
      break;  // found but cannot run (ENOEXEC, E2BIG, …): execvp stops there too
    }
  }
  child_failed(error_fd, Stage::exec, denied && (err == ENOENT || err == ENOTDIR) ? EACCES : err);
}

pid_t parse_pid(const char* text) {
  pid_t pid = 0;
  for (; *text != '\0'; ++text) {
    if (*text < '0' || *text > '9' || pid > 100'000'000) {
      return -1;
    }
    pid = pid * 10 + (*text - '0');
  }
  return pid;
}

// The parent of `pid` from /proc/<pid>/stat, or -1.
pid_t parent_of(pid_t pid) {
  char path[32] = "/proc/";
  char digits[12];
  int count = 0;
  for (pid_t rest = pid; count == 0 || rest > 0; rest /= 10) {
    digits[count++] = static_cast<char>('0' + rest % 10);
  }
  std::size_t at = 6;
  while (count > 0) {
    path[at++] = digits[--count];
  }
  std::memcpy(path + at, "/stat", 6);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return -1;
  }
  char text[512];
  ssize_t size = read(fd, text, sizeof text - 1);
  close(fd);
  if (size <= 0) {
    return -1;
  }
  text[size] = '\0';
  // "pid (comm) S ppid …": comm may hold ')' and spaces, so the last ')' ends it.
  const char* close_paren = nullptr;
  for (ssize_t i = size - 1; i >= 0; --i) {
    if (text[i] == ')') {
      close_paren = text + i;
      break;
    }
  }
  if (close_paren == nullptr || close_paren + 4 >= text + size) {
    return -1;
  }
  const char* digit = close_paren + 4;  // past ") S "
  pid_t ppid = 0;
  for (; *digit >= '0' && *digit <= '9'; ++digit) {
    ppid = ppid * 10 + (*digit - '0');
  }
  return ppid;
}

// The supervisor's children, re-parented orphans included, from a scan of /proc.
int children_of(pid_t self, pid_t* out, int capacity) {
  int dir = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    return 0;
  }
  alignas(dirent64) char buffer[8192];
  int count = 0;
  for (;;) {
    ssize_t size = getdents64(dir, buffer, sizeof buffer);
    if (size <= 0) {
      break;
    }
    for (ssize_t offset = 0; offset < size;) {
      const auto* entry = reinterpret_cast<const dirent64*>(buffer + offset);
      offset += entry->d_reclen;
      pid_t pid = parse_pid(entry->d_name);
      if (pid > 0 && count < capacity && parent_of(pid) == self) {
        out[count++] = pid;
      }
    }
  }
  close(dir);
  return count;
}

struct Run {
  pid_t self = 0;
  pid_t main = -1;  // the command; kept a zombie until last, so its pid keeps naming its group
  bool main_reaped = false;
  int status = 0;
  int signal_fd = -1;
  pid_t warned[256] = {};  // children already sent SIGTERM
  int warned_count = 0;
};

// True when a signal asking to end the run arrived (SIGTERM from the agent or its death).
bool wait_for_signal(const Run& run, long timeout_ms) {
  pollfd entry{run.signal_fd, POLLIN, 0};
  poll(&entry, 1, static_cast<int>(timeout_ms));
  bool stop = false;
  signalfd_siginfo info{};
  while (read(run.signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    stop = stop || info.ssi_signo != SIGCHLD;
  }
  return stop;
}

bool main_exited(const Run& run) {
  siginfo_t info{};
  return waitid(P_PID, static_cast<id_t>(run.main), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid == run.main;
}

// Waits for the command to exit or for the order to end the run, reaping orphans that exit
// meanwhile. Returns whether the command was still running when the order came.
bool wait_for_end(Run& run) {
  for (;;) {
    for (;;) {
      siginfo_t info{};
      if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0) {
        break;
      }
      if (info.si_pid == run.main) {
        return false;
      }
      waitpid(info.si_pid, nullptr, 0);
    }
    if (wait_for_signal(run, -1)) {
      return !main_exited(run);
    }
  }
}

void send(pid_t target, int sig) {
  kill(target, sig);
  if (sig == SIGTERM) {
    kill(target, SIGCONT);  // a stopped process acts on SIGTERM only once continued
  }
}

// True the first time a child is seen (it then gets SIGTERM once, not at every scan).
bool first_sight(Run& run, pid_t child) {
  pid_t* end = run.warned + run.warned_count;
  if (std::find(run.warned, end, child) != end) {
    return false;
  }
  if (run.warned_count < static_cast<int>(std::size(run.warned))) {
    run.warned[run.warned_count++] = child;
  }
  return true;
}

// Reaps the children but the command that have exited and sends `sig` to the others (SIGTERM
// once each). Returns how many are left.
int signal_children(Run& run, int sig) {
  pid_t children[kMaxChildren];
  int count = children_of(run.self, children, kMaxChildren);
  int alive = 0;
  for (int i = 0; i < count; ++i) {
    pid_t child = children[i];
    if (child == run.main || waitpid(child, nullptr, WNOHANG) == child) {
      continue;
    }
    ++alive;
    if (sig == SIGKILL || first_sight(run, child)) {
      send(child, sig);
    }
  }
  return alive;
}

enum class Progress { done, reaped, waiting };

// The command is reaped once it is the last child seen, then any straggler until none is left.
Progress reap(Run& run, int others) {
  if (!run.main_reaped && others == 0 && main_exited(run)) {
    waitpid(run.main, &run.status, 0);
    run.main_reaped = true;
  }
  if (!run.main_reaped) {
    return Progress::waiting;
  }
  pid_t reaped = waitpid(-1, nullptr, WNOHANG);
  if (reaped < 0 && errno == ECHILD) {
    return Progress::done;
  }
  return reaped > 0 ? Progress::reaped : Progress::waiting;
}

// SIGTERM to the command's group and to every child (re-parented orphans included) as it
// appears, SIGKILL to all after the grace, reaping until none is left. Returns how many
// processes could not be removed.
int end_run(Run& run, long grace_ms) {
  int sig = SIGTERM;
  long kill_at = now_ms() + grace_ms;
  long give_up_at = 0;
  if (!run.main_reaped) {
    send(-run.main, SIGTERM);
  }
  for (;;) {
    if (sig == SIGTERM && now_ms() >= kill_at) {
      sig = SIGKILL;
      give_up_at = now_ms() + kKillWaitMs;
    }
    if (sig == SIGKILL && !run.main_reaped) {
      kill(-run.main, SIGKILL);
    }
    int others = signal_children(run, sig);
    Progress progress = reap(run, others);
    if (progress == Progress::done) {
      return 0;
    }
    if (progress == Progress::reaped) {
      continue;
    }
    long now = now_ms();
    if (sig == SIGKILL && now >= give_up_at) {
      return std::max(1, others + (run.main_reaped ? 0 : 1));
    }
    // Never negative: the grace may have run out during the scan, and poll(-1) waits forever.
    wait_for_signal(run, sig == SIGTERM ? std::clamp(kill_at - now, 0L, kPollMs) : kPollMs);
  }
}

}  // namespace

[[noreturn]] void supervise(const Launch& launch, int out_fd, int err_fd, int report_fd) {
  // The agent may die before the first line: then getppid() is no longer the agent.
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != launch.agent) {
    _exit(1);
  }
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  int keep[3] = {out_fd, err_fd, report_fd};
  keep_only(keep);
  out_fd = keep[0];
  err_fd = keep[1];
  report_fd = keep[2];
  // Every signal stays blocked (as the agent forked us); the ones that matter come on a
  // signalfd, which needs them not ignored: reset what the agent's dispositions were.
  reset_signal_dispositions(true);
  sigset_t handled;
  sigemptyset(&handled);
  for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) {
    sigaddset(&handled, sig);
  }
  Run run;
  run.self = getpid();
  run.signal_fd = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
  if (run.signal_fd < 0) {
    report_and_exit(report_fd, Stage::setup, errno);
  }
  int error_pipe[2];
  if (pipe2(error_pipe, O_CLOEXEC) != 0) {
    report_and_exit(report_fd, Stage::pipe, errno);
  }
  run.main = fork();
  if (run.main == 0) {
    close(error_pipe[0]);
    exec_command(launch, out_fd, err_fd, error_pipe[1]);
  }
  int fork_error = errno;
  close(error_pipe[1]);
  close(out_fd);
  close(err_fd);
  if (run.main < 0) {
    report_and_exit(report_fd, Stage::fork, fork_error);
  }
  setpgid(run.main, run.main);  // also in the child: whichever runs first
  ChildError error;
  ssize_t got = 0;
  do {
    got = read(error_pipe[0], &error, sizeof error);  // EOF when execve succeeded
  } while (got < 0 && errno == EINTR);
  close(error_pipe[0]);
  WireReport report;
  if (got == static_cast<ssize_t>(sizeof error)) {
    report.stage = error.stage;
    report.err = error.err;
  } else {
    report.killed = wait_for_end(run) ? 1 : 0;
  }
  report.survivors = end_run(run, launch.grace_ms);
  report.wait_status = run.main_reaped ? run.status : SIGKILL;
  write_report(report_fd, report);
  _exit(0);
}

}  // namespace hecs::agent::tasks::detail
