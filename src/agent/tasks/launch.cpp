// Preparation of a run before its supervisor is forked (launch.h).
#include "agent/tasks/launch.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <unistd.h>

namespace hecs::agent::tasks::detail {
namespace {

constexpr const char* kBasePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct Account {
  std::string name;
  std::string home;
  std::string shell;
  uid_t uid = 0;
  gid_t gid = 0;
};

std::string describe_errno(int err) { return std::generic_category().message(err); }

// By name, or by uid when name is null. Errc::not_found for an unknown user.
Result<Account> find_account(const char* name, uid_t uid) {
  long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(hint > 0 ? static_cast<std::size_t>(hint) : 16384);
  passwd entry{};
  passwd* found = nullptr;
  int rc = 0;
  for (;;) {
    rc = name != nullptr ? getpwnam_r(name, &entry, buffer.data(), buffer.size(), &found)
                         : getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found);
    if (rc != ERANGE || buffer.size() >= (std::size_t{1} << 20)) {
      break;
    }
    buffer.resize(buffer.size() * 2);
  }
  std::string who = name != nullptr ? std::string(name) : fmt::format("uid {}", uid);
  if (found == nullptr) {
    if (rc == 0 || rc == ENOENT || rc == ESRCH) {
      return fail(Errc::not_found, "unknown user " + who);
    }
    return fail(Errc::unavailable, fmt::format("look up user {}: {}", who, describe_errno(rc)));
  }
  auto text = [](const char* s, const char* fallback) {
    return std::string(s != nullptr && *s != '\0' ? s : fallback);
  };
  return Account{entry.pw_name, text(entry.pw_dir, "/"), text(entry.pw_shell, "/bin/sh"),
                 entry.pw_uid, entry.pw_gid};
}

std::vector<gid_t> groups_of(const Account& account) {
  std::vector<gid_t> groups(32);
  for (int tries = 0; tries < 8; ++tries) {
    int count = static_cast<int>(groups.size());
    if (getgrouplist(account.name.c_str(), account.gid, groups.data(), &count) >= 0) {
      groups.resize(static_cast<std::size_t>(count));
      return groups;
    }
    groups.resize(std::max(static_cast<std::size_t>(count), groups.size() * 2));
  }
  return {account.gid};
}

// The base environment of the account, then the spec's variables, which replace base ones.
std::vector<std::pair<std::string, std::string>> environment_for(const ProcessSpec& spec,
                                                                 const Account& account) {
  std::vector<std::pair<std::string, std::string>> vars = {
      {"PATH", kBasePath}, {"HOME", account.home}, {"SHELL", account.shell}, {"LANG", "C.UTF-8"}};
  if (!account.name.empty()) {
    vars.emplace_back("USER", account.name);
    vars.emplace_back("LOGNAME", account.name);
  }
  for (const auto& [name, value] : spec.env) {
    auto same = [&name = name](const auto& var) { return var.first == name; };
    if (auto it = std::find_if(vars.begin(), vars.end(), same); it != vars.end()) {
      it->second = value;
    } else {
      vars.emplace_back(name, value);
    }
  }
  return vars;
}

// As execvp: a name with a '/' as it is, else each PATH entry in turn (empty: the working
// directory). The search happens in the child, as the user, after chdir.
std::vector<std::string> exec_paths_for(const std::string& program, const std::string& path) {
  if (program.find('/') != std::string::npos) {
    return {program};
  }
  std::vector<std::string> paths;
  for (std::size_t begin = 0;;) {
    std::size_t end = std::min(path.find(':', begin), path.size());
    paths.push_back(end == begin ? program
                                 : fmt::format("{}/{}", path.substr(begin, end - begin), program));
    if (end == path.size()) {
      return paths;
    }
    begin = end + 1;
  }
}

}  // namespace

Result<Launch> prepare(const ProcessSpec& spec) {
  Launch launch;
  Account account;
  if (spec.user) {
    auto found = find_account(spec.user->c_str(), 0);
    if (!found) {
      return tl::unexpected(std::move(found.error()));
    }
    account = std::move(*found);
    // Root changes to any user; anyone else only "changes" to itself, and a request to become
    // somebody else fails in the child (setgroups: Operation not permitted) as it should.
    launch.drop = account.uid != geteuid() || geteuid() == 0;
    launch.uid = account.uid;
    launch.gid = account.gid;
    launch.groups = groups_of(account);
  } else if (auto self = find_account(nullptr, geteuid())) {
    account = std::move(*self);
  } else {
    account = Account{"", "/", "/bin/sh", geteuid(), getegid()};
  }
  std::string path;
  for (const auto& [name, value] : environment_for(spec, account)) {
    launch.env.push_back(fmt::format("{}={}", name, value));
    if (name == "PATH") {
      path = value;
    }
  }
  launch.exec_paths = exec_paths_for(spec.argv.front(), path);
  launch.argv = spec.argv;
  for (std::string& arg : launch.argv) {
    launch.argv_ptrs.push_back(arg.data());
  }
  launch.argv_ptrs.push_back(nullptr);
  for (std::string& var : launch.env) {
    launch.env_ptrs.push_back(var.data());
  }
  launch.env_ptrs.push_back(nullptr);
  launch.cwd = spec.cwd;
  launch.grace_ms = static_cast<long>(spec.kill_grace.count());
  return launch;
}

namespace {

struct OwnedFd {
  int fd = -1;
  OwnedFd() = default;
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  OwnedFd(OwnedFd&&) = delete;
  OwnedFd& operator=(OwnedFd&&) = delete;
  ~OwnedFd() {
    if (fd >= 0) {
      close(fd);
    }
  }
  int release() { return std::exchange(fd, -1); }
};

struct OwnedPipe {
  OwnedFd read;
  OwnedFd write;
  bool open() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      return false;
    }
    read.fd = fds[0];
    write.fd = fds[1];
    return true;
  }
};

}  // namespace

Result<Spawned> spawn_supervisor(const ProcessSpec& spec) {
  auto launch = prepare(spec);
  if (!launch) {
    Spawned refused;
    refused.start_error = std::move(launch.error().message);
    return refused;
  }
  launch->agent = getpid();
  OwnedPipe out;
  OwnedPipe err;
  OwnedPipe report;
  if (!out.open() || !err.open() || !report.open()) {
    return fail(Errc::unavailable, "pipe: " + describe_errno(errno));
  }
  // Blocked across fork so that a SIGTERM meant for the supervisor waits for its signalfd;
  // the agent's own mask is restored at once.
  sigset_t all;
  sigset_t previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  pid_t pid = fork();
  if (pid == 0) {
    supervise(*launch, out.write.fd, err.write.fd, report.write.fd);
  }
  int fork_error = errno;
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (pid < 0) {
    return fail(Errc::unavailable, "fork supervisor: " + describe_errno(fork_error));
  }
  fcntl(report.read.fd, F_SETFL, O_NONBLOCK);
  Spawned spawned;
  spawned.pid = pid;
  spawned.stdout_fd = out.read.release();
  spawned.stderr_fd = err.read.release();
  spawned.report_fd = report.read.release();
  return spawned;
}

Report read_report(int report_fd, const ProcessSpec& spec) {
  WireReport wire;
  wire.magic = 0;
  ssize_t got = 0;
  do {
    got = read(report_fd, &wire, sizeof wire);
  } while (got < 0 && errno == EINTR);
  Report report;
  if (got != static_cast<ssize_t>(sizeof wire) || wire.magic != kReportMagic) {
    return report;
  }
  report.valid = true;
  report.wait_status = wire.wait_status;
  report.killed = wire.killed != 0;
  report.survivors = wire.survivors;
  std::string reason = describe_errno(wire.err);
  std::string user = spec.user.value_or("");
  switch (wire.stage) {
    case Stage::none:
      break;
    case Stage::fork:
      report.start_error = "fork: " + reason;
      break;
    case Stage::pipe:
      report.start_error = "pipe: " + reason;
      break;
    case Stage::setup:
      report.start_error = "set up the supervisor or stdio: " + reason;
      break;
    case Stage::setgroups:
      report.start_error = fmt::format("setgroups {}: {}", user, reason);
      break;
    case Stage::setgid:
      report.start_error = fmt::format("setgid {}: {}", user, reason);
      break;
    case Stage::setuid:
      report.start_error = fmt::format("setuid {}: {}", user, reason);
      break;
    case Stage::drop_check:
      report.start_error = fmt::format("cannot drop privileges to {}", user);
      break;
    case Stage::chdir:
      report.start_error = fmt::format("chdir {}: {}", spec.cwd, reason);
      break;
    case Stage::exec:
      report.start_error = fmt::format("exec {}: {}", spec.argv.front(), reason);
      break;
    default:
      report.start_error = fmt::format("start failed: {}", reason);
      break;
  }
  return report;
}

}  // namespace hecs::agent::tasks::detail
