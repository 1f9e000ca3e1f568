// The agent's task executor (DESIGN §7, docs/tasks.md "Agent side"): runs "task" commands at
// most once per task id, however often they arrive, with a journal in the outbox's SQLite
// database that changes in the same transaction as the results it queues; reports every run
// (running, output, final state) through the outbox, so a broker outage neither loses nor
// repeats one; and turns runs that a restart cut short into `interrupted`, never rerunning them.
//
// Threading: the agent's io_context thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/clock.h"
#include "common/result.h"
#include "proto/proto.h"

namespace hecs::agent::uplink {
class Outbox;
}

namespace hecs::agent::tasks {

struct Options {
  std::size_t concurrency = 4;                  // task_concurrency: runs at once, 1..64
  std::chrono::milliseconds kill_grace{5000};   // task_kill_grace_s: SIGTERM → SIGKILL
  std::chrono::milliseconds output_flush{200};  // output is sent at least this often
  // task_cwd_allow: directories a task may run in (after symlinks are resolved), S26.
  std::vector<std::filesystem::path> cwd_allow = {"/"};
  std::filesystem::path scratch_dir;  // scripts are written here (0700), one file per run
  // collect-logs: collect_logs_allow (paths it may read, symlinks resolved, S26),
  // collect_logs_max_bytes (the compressed bundle), the agent's own log files (log_file and its
  // rotations; empty: the journal of agent_unit) and the journalctl it runs.
  std::vector<std::filesystem::path> collect_allow = {"/var/log"};
  std::uint64_t collect_max_bytes = std::uint64_t{8} * 1024 * 1024;
  std::vector<std::filesystem::path> agent_logs;
  std::string agent_unit = "hecs-agent.service";
  std::string journalctl = "journalctl";
  // How many finished tasks the journal remembers (for duplicate detection), and how long.
  std::size_t journal_keep = 10000;
  std::chrono::hours journal_keep_for{24 * 30};
};

// What the executor needs from the rest of the agent.
struct Hooks {
  // Appends one up/result message to the outbox (inside the executor's transaction); the
  // executor calls flush() after each commit.
  std::function<Result<void>(const proto::TaskResult&, bool droppable)> append;
  std::function<void()> flush;
  // Builtins: "inventory-refresh" and "restart-agent" (called after its result is committed).
  std::function<void()> refresh_inventory;
  std::function<void()> restart_agent;
  // The argv "reboot" runs (after its confirmation), e.g. {"systemctl", "reboot"}.
  std::vector<std::string> reboot_command = {"systemctl", "reboot"};
};

class Executor {
 public:
  // Creates the journal table if needed. `outbox` and `clock` outlive us.
  static Result<std::unique_ptr<Executor>> open(boost::asio::io_context& io, uplink::Outbox& outbox,
                                                const Clock& clock, Hooks hooks, Options options);
  virtual ~Executor() = default;

  // Start-up: journal entries left `running` by the previous process become `interrupted`
  // (reported); `queued` ones are run. Call once, before the first command.
  virtual Result<void> recover() = 0;
  // An accepted "task" or "cancel" command (the gate verified it). Returns false for other
  // types.
  virtual bool on_command(const proto::Command& command) = 0;
  // Kills every running task (agent shutdown): they are reported `interrupted` at next start.
  virtual void stop() = 0;

  virtual std::size_t running() const = 0;
  virtual std::size_t queued() const = 0;
};

}  // namespace hecs::agent::tasks
