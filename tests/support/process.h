// Child processes for integration tests: the project's binaries and the real servers. A child
// dies with the test process (PR_SET_PDEATHSIG), so a failed test never leaks a server.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <sys/types.h>

namespace hecs::test {

class Process {
 public:
  // Starts argv[0] (a path) with stdout and stderr appended to `log_file`. Throws on failure.
  static std::unique_ptr<Process> spawn(const std::vector<std::string>& argv,
                                        const std::filesystem::path& log_file);
  ~Process();  // SIGKILL and reap if still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Waits for exit up to `timeout`; returns the exit code (128+signal when killed), or -1 when
  // it is still running.
  int wait(std::chrono::milliseconds timeout);
  const std::filesystem::path& log_file() const { return log_; }
  std::string log_text() const;

 private:
  Process() = default;
  pid_t pid_ = -1;
  int status_ = -1;
  std::filesystem::path log_;
};

// Polls `check` every 20 ms until it returns true or `timeout` passes.
bool wait_until(const std::function<bool()>& check, std::chrono::milliseconds timeout);

// True when something accepts TCP connections on 127.0.0.1:port.
bool port_open(std::uint16_t port);

// Runs a shell command line, returns its exit code and captures stdout (for tools such as
// mosquitto_pub and promtool).
int run_command(const std::string& command_line, std::string* output = nullptr);

}  // namespace hecs::test
