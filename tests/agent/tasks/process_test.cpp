// Real processes under a real supervisor: each test bounds its run with io_context::run_for.
#include "agent/tasks/process.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <gmock/gmock.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"

namespace hecs::agent::tasks {
namespace {

using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace): test durations
using ::testing::HasSubstr;
using ::testing::IsEmpty;
namespace fs = std::filesystem;
using Reason = ProcessEnd::Reason;
using Clock = std::chrono::steady_clock;

constexpr const char* kBasePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// A process tree that resists: the shell and its children ignore SIGTERM, one child is stopped,
// and a double-forked setsid daemon (re-parented to the supervisor) ignores SIGTERM too. Every
// process carries HECS_TEST_MARKER in its environment, so survivors can be found in /proc.
constexpr const char* kStubbornTree =
    "trap '' TERM\n"
    "(setsid sh -c 'trap \"\" TERM; sleep 1000; echo \"$HECS_TEST_MARKER\"' &)\n"
    "sleep 1000 &\n"
    "sh -c 'kill -STOP $$; sleep 1000' &\n"
    "echo ready\n"
    "sleep 1000\n";

std::string unique_marker() {
  static std::atomic<int> counter{0};
  return "hecs-marker-" + std::to_string(getpid()) + "-" + std::to_string(++counter) + "-" +
         std::to_string(Clock::now().time_since_epoch().count());
}

std::string read_all(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

// Live processes (zombies have an empty environment) whose command line or environment holds
// `marker`.
std::vector<int> holders_of(const std::string& marker) {
  std::vector<int> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos || std::stoi(name) == getpid()) {
      continue;
    }
    if (read_all(entry.path() / "cmdline").find(marker) != std::string::npos ||
        read_all(entry.path() / "environ").find(marker) != std::string::npos) {
      found.push_back(std::stoi(name));
    }
  }
  return found;
}

// Waits up to `limit` for no process to hold `marker`.
std::vector<int> survivors_after(const std::string& marker, std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  auto left = holders_of(marker);
  while (!left.empty() && Clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
    left = holders_of(marker);
  }
  return left;
}

bool process_exists(int pid) { return pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH); }

long rss_kb() {
  std::istringstream status(read_all("/proc/self/status"));
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stol(line.substr(6));
    }
  }
  return -1;
}

ProcessSpec command(std::vector<std::string> argv) {
  ProcessSpec spec;
  spec.argv = std::move(argv);
  spec.timeout = 30s;
  spec.kill_grace = 2s;
  return spec;
}

ProcessSpec shell(const std::string& script) { return command({"/bin/sh", "-c", script}); }

// One run on its own io_context, with what it delivered.
struct Harness {
  boost::asio::io_context io;
  std::string out;
  std::string err;
  std::optional<ProcessEnd> end;
  int ends = 0;
  bool output_after_end = false;
  std::function<void(Harness&)> on_output;  // after each chunk
  std::shared_ptr<Process> process;

  Result<std::shared_ptr<Process>> start(ProcessSpec spec) {
    auto started = Process::start(
        io, std::move(spec),
        [this](Stream stream, std::string_view data) {
          output_after_end = output_after_end || end.has_value();
          (stream == Stream::out ? out : err).append(data);
          if (on_output) {
            on_output(*this);
          }
        },
        [this](const ProcessEnd& finished) {
          ++ends;
          end = finished;
        });
    if (started) {
      process = *started;
    }
    return started;
  }

  // Runs until the end is reported, or `limit`.
  void run(std::chrono::milliseconds limit = 30s) {
    auto deadline = Clock::now() + limit;
    while (!end && Clock::now() < deadline) {
      io.run_for(50ms);
      if (io.stopped()) {
        io.restart();
      }
    }
    io.run_for(20ms);  // anything wrongly queued after the end shows up now
  }
};

TEST(Process, PassesArgumentsLiterallyWithoutAShell) {
  std::vector<std::string> args = {"$(id)", "; rm -rf /tmp/x", "*", "'\"", "a\nb", "`id`", "$HOME"};
  std::vector<std::string> argv = {"/bin/echo"};
  argv.insert(argv.end(), args.begin(), args.end());
  Harness h;
  ASSERT_TRUE(h.start(command(argv)));
  h.run();
  ASSERT_TRUE(h.end);
  std::string expected;
  for (const auto& arg : args) {
    expected += (expected.empty() ? "" : " ") + arg;
  }
  EXPECT_EQ(h.out, expected + "\n");
  EXPECT_EQ(h.end->reason, Reason::exited);
  EXPECT_EQ(h.end->exit_code, 0);
}

TEST(Process, ReportsExitCodeAndKeepsStderrApart) {
  Harness h;
  auto before = SystemClock().now_ms();
  ASSERT_TRUE(h.start(shell("echo out; echo err >&2; exit 3")));
  h.run();
  ASSERT_TRUE(h.end);
  EXPECT_EQ(h.end->reason, Reason::exited);
  EXPECT_EQ(h.end->exit_code, 3);
  EXPECT_EQ(h.end->signal, 0);
  EXPECT_EQ(h.out, "out\n");
  EXPECT_EQ(h.err, "err\n");
  EXPECT_EQ(h.end->stdout_bytes, 4U);
  EXPECT_EQ(h.end->stderr_bytes, 4U);
  EXPECT_FALSE(h.end->truncated);
  EXPECT_GE(h.end->started_at, before);
  EXPECT_GE(h.end->ended_at, h.end->started_at);
  EXPECT_LE(h.end->ended_at, SystemClock().now_ms());
  EXPECT_EQ(h.ends, 1);
  EXPECT_FALSE(h.output_after_end);
}

TEST(Process, ReportsACommandKilledByItsOwnSignal) {
  Harness h;
  ASSERT_TRUE(h.start(shell("kill -9 $$")));
  h.run();
  ASSERT_TRUE(h.end);
  EXPECT_EQ(h.end->reason, Reason::signalled);
  EXPECT_EQ(h.end->signal, 9);
}

TEST(Process, TimeoutKillsTheWholeTreeIncludingAnEscapedDaemon) {
  auto marker = unique_marker();
  auto spec = shell(kStubbornTree);
  spec.env = {{"HECS_TEST_MARKER", marker}};
  spec.timeout = 1500ms;
  spec.kill_grace = 300ms;
  Harness h;
  ASSERT_TRUE(h.start(spec));
  int supervisor = h.process->supervisor_pid();
  auto began = Clock::now();
  h.run(20s);
  ASSERT_TRUE(h.end);
  EXPECT_EQ(h.out, "ready\n");  // the whole tree was up before the timeout
  EXPECT_EQ(h.end->reason, Reason::timed_out);
  EXPECT_LT(Clock::now() - began, 10s);
  EXPECT_THAT(holders_of(marker), IsEmpty());
  EXPECT_FALSE(process_exists(supervisor));
}

TEST(Process, CancelKillsTheWholeTreeAndIsHarmlessAfterTheEnd) {
  auto marker = unique_marker();
  auto spec = shell(kStubbornTree);
  spec.env = {{"HECS_TEST_MARKER", marker}};
  spec.kill_grace = 300ms;
  Harness h;
  h.on_output = [](Harness& self) {
    if (self.out.find("ready") != std::string::npos) {
      self.process->cancel();
      self.process->cancel();
    }
  };
  ASSERT_TRUE(h.start(spec));
  int supervisor = h.process->supervisor_pid();
  h.run(20s);
  ASSERT_TRUE(h.end);
  EXPECT_EQ(h.end->reason, Reason::cancelled);
  EXPECT_THAT(holders_of(marker), IsEmpty());
  EXPECT_FALSE(process_exists(supervisor));
  h.process->cancel();
  h.run(100ms);
  EXPECT_EQ(h.ends, 1);
  EXPECT_EQ(h.end->reason, Reason::cancelled);
}

TEST(Process, CancelAfterANaturalEndKeepsTheExitStatus) {
  Harness h;
  ASSERT_TRUE(h.start(shell("exit 4")));
  h.run();
  ASSERT_TRUE(h.end);
  h.process->cancel();
  h.run(100ms);
  EXPECT_EQ(h.ends, 1);
  EXPECT_EQ(h.end->reason, Reason::exited);
  EXPECT_EQ(h.end->exit_code, 4);
}

TEST(Process, CapsOutputButDrainsAndCountsEverything) {
  constexpr std::size_t kCap = 1 << 20;
  auto spec = command({"head", "-c", "100000000", "/dev/zero"});
  spec.output_cap = kCap;
  long rss_before = rss_kb();
  auto began = Clock::now();
  Harness h;
  ASSERT_TRUE(h.start(spec));
  h.run(60s);
  ASSERT_TRUE(h.end);
  EXPECT_LT(Clock::now() - began, 20s);
  EXPECT_EQ(h.end->reason, Reason::exited);
  EXPECT_EQ(h.end->exit_code, 0);
  EXPECT_EQ(h.end->stdout_bytes, 100'000'000U);
  EXPECT_TRUE(h.end->truncated);
  EXPECT_EQ(h.out, std::string(kCap, '\0') + "\n[hecs: output truncated after 1048576 bytes]\n");
  EXPECT_LT(rss_kb() - rss_before, 50 * 1024);
}

TEST(Process, OutputOfExactlyTheCapIsNotTruncated) {
  auto spec = command({"head", "-c", "1024", "/dev/zero"});
  spec.output_cap = 1024;
  Harness h;
  ASSERT_TRUE(h.start(spec));
  h.run();
  ASSERT_TRUE(h.end);
  EXPECT_FALSE(h.end->truncated);
  EXPECT_EQ(h.out, std::string(1024, '\0'));
}

TEST(Process, AMissingProgramFailsToStart) {
  Harness h;
  ASSERT_TRUE(h.start(command({"hecs-no-such-program", "-a"})));
  h.run();
  ASSERT_TRUE(h.end);
  EXPECT_EQ(h.end->reason, Reason::start_failed);
  EXPECT_EQ(h.end->error, "exec hecs-no-such-program: No such file or directory");
  Harness absolute;
  ASSERT_TRUE(absolute.start(command({"/nonexistent/hecs-prog"})));
  absolute.run();
  ASSERT_TRUE(absolute.end);
  EXPECT_EQ(absolute.end->error, "exec /nonexistent/hecs-prog: No such file or directory");
}

TEST(Process, AMissingDirectoryFailsToStart) {
  auto spec = command({"true"});
  spec.cwd = "/nonexistent-hecs-dir";
  Harness h;
  ASSERT_TRUE(h.start(spec));
  h.run();
  ASSERT_TRUE(h.end);
  EXPECT_EQ(h.end->reason, Reason::start_failed);
  EXPECT_EQ(h.end->error, "chdir /nonexistent-hecs-dir: No such file or directory");
}

TEST(Process, AnUnknownUserFailsToStartThroughOnEnd) {
  auto spec = command({"true"});
  spec.user = "nobody2";
  Harness h;
  auto started = h.start(spec);
  ASSERT_TRUE(started);
  EXPECT_EQ((*started)->supervisor_pid(), -1);
  EXPECT_FALSE(h.end);  // reported from the io_context, not from inside start()
  h.run();
  ASSERT_TRUE(h.end);
  EXPECT_EQ(h.end->reason, Reason::start_failed);
  EXPECT_EQ(h.end->error, "unknown user nobody2");
  EXPECT_EQ(h.ends, 1);
}

TEST(Process, RejectsASpecThatCannotRun) {
  std::vector<ProcessSpec> specs(4, command({"true"}));
  specs[0].argv.clear();
  specs[1].argv = {"/bin/echo", std::string("a\0b", 3)};
  specs[2].cwd = "tmp";
  specs[3].env = {{"BAD=NAME", "x"}};
  for (const auto& spec : specs) {
    Harness h;
    auto started = h.start(spec);
    ASSERT_FALSE(started);
    EXPECT_EQ(started.error().code, Errc::invalid_input);
    h.run(100ms);
    EXPECT_EQ(h.ends, 0);
  }
}

TEST(Process, GivesOnlyTheBaseAndTheGivenEnvironment) {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): the test process has one thread
  ASSERT_EQ(setenv("HECS_TASKS_LEAK_CHECK", "leaked", 1), 0);
  auto spec = command({"env"});
  spec.env = {{"GREETING", "hello world"}, {"LANG", "C"}};
  Harness h;
  ASSERT_TRUE(h.start(spec));
  h.run();
  unsetenv("HECS_TASKS_LEAK_CHECK");  // NOLINT(concurrency-mt-unsafe): one thread
  ASSERT_TRUE(h.end);
  const passwd* me = getpwuid(geteuid());  // NOLINT(concurrency-mt-unsafe): one thread
  ASSERT_NE(me, nullptr);
  std::set<std::string> expected = {std::string("PATH=") + kBasePath,
                                    std::string("HOME=") + me->pw_dir,
                                    std::string("SHELL=") + me->pw_shell,
                                    std::string("USER=") + me->pw_name,
                                    std::string("LOGNAME=") + me->pw_name,
                                    "LANG=C",
                                    "GREETING=hello world"};
  std::set<std::string> got;
  std::istringstream lines(h.out);
  for (std::string line; std::getline(lines, line);) {
    got.insert(line);
  }
  EXPECT_EQ(got, expected);
}

TEST(Process, RunsInTheGivenDirectory) {
  char pattern[] = "/tmp/hecs-tasks-cwd-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  auto spec = command({"/bin/pwd"});
  spec.cwd = pattern;
  Harness h;
  ASSERT_TRUE(h.start(spec));
  h.run();
  fs::remove(pattern);
  ASSERT_TRUE(h.end);
  EXPECT_EQ(h.out, std::string(pattern) + "\n");
}

TEST(Process, RunsAsTheGivenUserWithItsGroups) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "needs root";
  }
  auto spec = command({"sh", "-c", "id -un; id -u; id -G; echo $HOME $USER"});
  spec.user = "nobody";
  Harness h;
  ASSERT_TRUE(h.start(spec));
  h.run();
  ASSERT_TRUE(h.end);
  EXPECT_EQ(h.end->reason, Reason::exited) << h.end->error;
  const passwd* nobody = getpwnam("nobody");  // NOLINT(concurrency-mt-unsafe): one thread
  ASSERT_NE(nobody, nullptr);
  EXPECT_EQ(h.out, "nobody\n" + std::to_string(nobody->pw_uid) + "\n" +
                       std::to_string(nobody->pw_gid) + "\n" + nobody->pw_dir + " nobody\n");
}

// A fake agent in a forked child: it starts `spec` on its own io_context, sends the test the
// supervisor's pid, waits for "ready" on stdout, then calls `die`.
int fork_agent(const ProcessSpec& spec, int report_fd, void (*die)()) {
  pid_t agent = fork();
  if (agent != 0) {
    return agent;
  }
  boost::asio::io_context io;
  std::string out;
  auto started = Process::start(
      io, spec,
      [&](Stream, std::string_view data) {
        out.append(data);
        if (out.find("ready") != std::string::npos) {
          io.stop();
        }
      },
      [&](const ProcessEnd&) { io.stop(); });
  if (!started) {
    _exit(2);
  }
  int supervisor = (*started)->supervisor_pid();
  if (write(report_fd, &supervisor, sizeof supervisor) != static_cast<ssize_t>(sizeof supervisor)) {
    _exit(3);
  }
  io.run_for(20s);
  die();
  _exit(0);
}

void check_agent_death_kills_the_run(void (*die)()) {
  // The test becomes a subreaper, so the orphaned supervisor comes back to it to be reaped.
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  auto marker = unique_marker();
  auto spec = shell(kStubbornTree);
  spec.env = {{"HECS_TEST_MARKER", marker}};
  spec.kill_grace = 300ms;
  spec.timeout = 300s;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t agent = fork_agent(spec, fds[1], die);
  close(fds[1]);
  ASSERT_GT(agent, 0);
  int supervisor = -1;
  ASSERT_EQ(read(fds[0], &supervisor, sizeof supervisor), static_cast<ssize_t>(sizeof supervisor));
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(agent, &status, 0), agent);
  EXPECT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << "fake agent failed";
  EXPECT_THAT(survivors_after(marker, 10s), IsEmpty());
  auto deadline = Clock::now() + 10s;
  bool reaped = false;
  while (!reaped && Clock::now() < deadline) {
    pid_t got = waitpid(supervisor, &status, WNOHANG);
    reaped = got == supervisor || (got < 0 && errno == ECHILD);
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(reaped) << "the supervisor outlived the run";
  EXPECT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
}

TEST(ProcessAgentDeath, AnAgentThatExitsTakesItsRunsWithIt) {
  check_agent_death_kills_the_run([] { _exit(0); });
}

TEST(ProcessAgentDeath, AnAgentKilledBySigkillTakesItsRunsWithIt) {
  check_agent_death_kills_the_run([] { static_cast<void>(raise(SIGKILL)); });
}

TEST(Process, RefusesToRunAsAnotherUserWhenItCannotChangeUser) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "needs root to become an unprivileged agent";
  }
  pid_t agent = fork();
  if (agent == 0) {
    const passwd* nobody = getpwnam("nobody");  // NOLINT(concurrency-mt-unsafe): one thread
    if (nobody == nullptr || setgroups(0, nullptr) != 0 || setgid(nobody->pw_gid) != 0 ||
        setuid(nobody->pw_uid) != 0) {
      _exit(2);
    }
    Harness h;
    auto spec = command({"id"});
    spec.user = "root";
    if (!h.start(spec)) {
      _exit(3);
    }
    h.run(10s);
    bool refused = h.end && h.end->reason == Reason::start_failed &&
                   h.end->error == "setgroups root: Operation not permitted" && h.out.empty();
    _exit(refused ? 0 : 4);
  }
  ASSERT_GT(agent, 0);
  int status = 0;
  ASSERT_EQ(waitpid(agent, &status, 0), agent);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Process, EndsWhenTheCommandExitsThoughAChildKeepsStdoutOpen) {
  for (const char* script : {"sleep 1000 & echo hi", "sleep 1000 >/dev/null 2>&1 & echo hi"}) {
    auto spec = shell(script);
    spec.kill_grace = 5s;  // the leftover must get SIGTERM at once, not wait for the grace
    auto began = Clock::now();
    Harness h;
    ASSERT_TRUE(h.start(spec));
    h.run(20s);
    ASSERT_TRUE(h.end) << script;
    EXPECT_LT(Clock::now() - began, 4s) << script;
    EXPECT_EQ(h.end->reason, Reason::exited) << script;
    EXPECT_EQ(h.end->exit_code, 0) << script;
    EXPECT_EQ(h.out, "hi\n") << script;
    EXPECT_FALSE(process_exists(h.process->supervisor_pid())) << script;
  }
}

}  // namespace
}  // namespace hecs::agent::tasks
