// The agent's side of a run's supervisor (launch.cpp) and what passes between them: the
// Launch prepared before fork (the supervisor must not allocate after it: argv, the
// environment, the paths to try, the user's ids and groups), and the report it sends back.
// Private to src/agent/tasks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <sys/types.h>

#include "agent/tasks/process.h"
#include "common/result.h"

namespace hecs::agent::tasks::detail {

constexpr std::uint32_t kReportMagic = 0x48505231;  // "HPR1"

// Where a failed start stopped.
enum class Stage : std::int32_t {
  none,  // the command ran
  fork,
  pipe,
  setup,
  setgroups,
  setgid,
  setuid,
  drop_check,
  chdir,
  exec,
};

struct ChildError {  // command's child → supervisor, on a CLOEXEC pipe
  Stage stage = Stage::none;
  std::int32_t err = 0;
};

struct WireReport {  // supervisor → agent, once, less than PIPE_BUF so written atomically
  std::uint32_t magic = kReportMagic;
  Stage stage = Stage::none;
  std::int32_t err = 0;
  std::int32_t wait_status = 0;
  std::int32_t killed = 0;
  std::int32_t survivors = 0;
};

struct Launch {
  std::vector<std::string> argv;
  std::vector<std::string> env;         // "NAME=value"
  std::vector<std::string> exec_paths;  // tried in order, as execvp would
  std::vector<char*> argv_ptrs;         // null-terminated views of the above
  std::vector<char*> env_ptrs;
  std::string cwd;
  bool drop = false;  // change user: setgroups, setresgid, setresuid
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  pid_t agent = 0;
  long grace_ms = 0;
};

// Resolves the user, the environment and the program's paths for `spec`. A failure is the
// run's (start_failed), not the caller's: the message says why.
Result<Launch> prepare(const ProcessSpec& spec);

// The supervisor itself (supervisor.cpp), in the forked child: async-signal-safe calls only.
// Runs the command, ends every descendant, writes one WireReport on report_fd and exits.
[[noreturn]] void supervise(const Launch& launch, int out_fd, int err_fd, int report_fd);

}  // namespace hecs::agent::tasks::detail
