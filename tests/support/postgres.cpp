#include "support/postgres.h"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/tempdir.h"

namespace hecs::test {
namespace {

constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";
constexpr auto kStartTimeout = std::chrono::seconds(30);
constexpr auto kStopTimeout = std::chrono::seconds(10);
constexpr auto kPoll = std::chrono::milliseconds(10);

// PostgreSQL refuses to run as root, and tests run as root.
struct Account {
  uid_t uid = 0;
  gid_t gid = 0;
};

Account postgres_account() {
  passwd entry{};
  passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (::getpwnam_r("postgres", &entry, buffer.data(), buffer.size(), &found) != 0 ||
      found == nullptr) {
    throw std::runtime_error("postgres harness: no user 'postgres' (install postgresql-15)");
  }
  return {entry.pw_uid, entry.pw_gid};
}

std::string tail(const std::filesystem::path& file, std::size_t bytes = 2000) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  const std::string all = text.str();
  return all.size() > bytes ? all.substr(all.size() - bytes) : all;
}

// Forks and executes argv with stdout and stderr appended to log and no other inherited file
// (ctest waits for the end of the test's output pipe: a server holding it would hang the run).
// With `as`, the child drops to that account and is killed with SIGQUIT (PostgreSQL's
// immediate shutdown) when the calling thread exits.
pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& log,
            const std::filesystem::path& cwd, const Account* as) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0) {
    throw std::runtime_error("postgres harness: cannot open " + log.string());
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(out);
    throw std::runtime_error("postgres harness: fork failed");
  }
  if (pid == 0) {  // only async-signal-safe calls from here on
    const int null = ::open("/dev/null", O_RDONLY);
    if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0) {
      ::_exit(127);
    }
    ::close_range(3, ~0U, 0);
    if (as != nullptr) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(as->gid) != 0 || ::setuid(as->uid) != 0) {
        ::_exit(126);
      }
      // Set after setuid, which would clear it; the parent may already be gone.
      if (::prctl(PR_SET_PDEATHSIG, SIGQUIT) != 0 || ::getppid() != parent) {
        ::_exit(125);
      }
    }
    if (::chdir(cwd.c_str()) != 0) {
      ::_exit(124);
    }
    ::execv(args[0], args.data());
    ::_exit(123);
  }
  ::close(out);
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return -1;
    }
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void run(const std::vector<std::string>& argv, const std::filesystem::path& log,
         const std::filesystem::path& cwd, const Account* as) {
  const int code = wait_exit(spawn(argv, log, cwd, as));
  if (code != 0) {
    throw std::runtime_error("postgres harness: " + argv[0] + " exited with " +
                             std::to_string(code) + ":\n" + tail(log));
  }
}

// postmaster.pid's 8th line says "ready" once connections are accepted (what pg_ctl -w reads).
bool is_ready(const std::filesystem::path& data) {
  std::ifstream in(data / "postmaster.pid");
  std::string line;
  for (int i = 0; i < 8 && std::getline(in, line); ++i) {
  }
  return in && line.starts_with("ready");
}

// Clusters live in memory when they can: copying one to this machine's disk costs ~1 s of system
// time, to /dev/shm ~0.1 s. Otherwise $TMPDIR, then /tmp.
std::filesystem::path scratch_base() {
  if (::access("/dev/shm", W_OK | X_OK) == 0) {
    return "/dev/shm";
  }
  const char* tmp = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe): tests never setenv
  return tmp != nullptr ? tmp : "/tmp";
}

std::filesystem::path make_scratch_dir() {
  std::string pattern = (scratch_base() / "hecs-pg-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("postgres harness: mkdtemp failed for " + pattern);
  }
  return pattern;
}

// initdb costs 1-2 s of a 2-core machine: it runs once per machine into a template cluster,
// which each server then copies (~0.1 s). flock serialises test processes that start together;
// the "complete" marker tells a finished template from one a killed process left half-written.
std::filesystem::path cluster_template(const Account& account) {
  const std::filesystem::path root =
      scratch_base() / ("hecs-pg15-template-" + std::to_string(::getuid()));
  const std::string lock_path = root.string() + ".lock";
  const int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0 || ::flock(lock, LOCK_EX) != 0) {
    throw std::runtime_error("postgres harness: cannot lock " + lock_path);
  }
  try {
    if (!std::filesystem::exists(root / "complete")) {
      std::filesystem::remove_all(root);
      std::filesystem::create_directory(root);
      if (::chown(root.c_str(), account.uid, account.gid) != 0) {
        throw std::runtime_error("postgres harness: cannot chown " + root.string());
      }
      run({std::string(kBinDir) + "/initdb", "-D", (root / "data").string(), "-A", "trust", "-U",
           "postgres", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions",
           "--wal-segsize=1"},
          root / "initdb.log", root, &account);
      std::ofstream(root / "complete") << "initdb done\n";
    }
  } catch (...) {
    ::close(lock);  // releases the lock
    throw;
  }
  ::close(lock);
  return root / "data";
}

}  // namespace

std::unique_ptr<Postgres> Postgres::start() {
  const Account account = postgres_account();
  std::unique_ptr<Postgres> pg(new Postgres());
  pg->dir_ = make_scratch_dir();
  const std::filesystem::path dir = pg->dir_;
  if (::chown(dir.c_str(), account.uid, account.gid) != 0) {
    throw std::runtime_error("postgres harness: cannot chown " + dir.string());
  }
  const std::filesystem::path data = dir / "data";
  const std::string bin = kBinDir;
  // cp -a as root keeps the owner (postgres) and the 0700 mode the server insists on.
  run({"/bin/cp", "-a", cluster_template(account).string(), data.string()}, dir / "cp.log", dir,
      nullptr);

  // The port is free when picked but may be taken before the server binds it: try again.
  for (int attempt = 0; attempt < 5; ++attempt) {
    pg->port_ = free_port();
    pg->pid_ = spawn({bin + "/postgres", "-D", data.string(), "-p", std::to_string(pg->port_), "-k",
                      dir.string(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
                      "synchronous_commit=off", "-c", "full_page_writes=off", "-c",
                      "shared_buffers=32MB", "-c", "dynamic_shared_memory_type=mmap"},
                     dir / "postgres.log", dir, &account);
    const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (is_ready(data)) {
        return pg;
      }
      int status = 0;
      if (::waitpid(pg->pid_, &status, WNOHANG) == pg->pid_) {
        pg->pid_ = -1;  // exited: most likely the port was taken
        break;
      }
      std::this_thread::sleep_for(kPoll);
    }
    if (pg->pid_ > 0) {
      break;  // still running but not ready in time: give up
    }
  }
  throw std::runtime_error("postgres harness: server did not start:\n" +
                           tail(dir / "postgres.log"));
}

Postgres::~Postgres() {
  if (pid_ > 0) {
    ::kill(pid_, SIGQUIT);  // = pg_ctl stop -m immediate
    const auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(kPoll);
    }
  }
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string Postgres::url() const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/postgres";
}

std::string Postgres::create_database(const std::string& name) {
  if (name.empty() ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) {
    throw std::invalid_argument("postgres harness: bad database name '" + name + "'");
  }
  const std::filesystem::path& dir = dir_;
  run({std::string(kBinDir) + "/createdb", "-h", "127.0.0.1", "-p", std::to_string(port_), "-U",
       "postgres", name},
      dir / "client.log", dir, nullptr);
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + name;
}

}  // namespace hecs::test
