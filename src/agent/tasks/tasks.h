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
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/clock.h"
#include "common/cron/cron.h"
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
  // A run the agent makes itself (a local schedule's fire): journalled `queued` in one durable
  // transaction with what `also` writes (the schedule's progress), then run like a "task"
  // command. Returns false, running nothing, when the journal knows the id already.
  virtual Result<bool> submit(proto::TaskSpec spec, const std::function<Result<void>()>& also) = 0;
  // Kills every running task (agent shutdown): they are reported `interrupted` at next start.
  virtual void stop() = 0;

  virtual std::size_t running() const = 0;
  virtual std::size_t queued() const = 0;
};

// ---- local schedules (docs/tasks.md "Local schedules") -----------------------------------

// One schedule of the agent's schedules_file: a task spec fired at the times of a cron
// expression, online or offline.
struct LocalSchedule {
  std::string name;              // proto::valid_schedule_name; unique in the file
  std::string cron;              // as written
  std::string timezone = "UTC";  // a tz database name
  std::string missed = "skip";   // skip, once, all: after the agent was down
  std::size_t max_catchup = 10;  // all: at most this many missed fires, 1..100
  proto::TaskSpec spec;          // task empty (set per fire), deadline 0
  cron::Schedule parsed;
  cron::Zone zone;
};

// The schedules file (YAML; JSON is YAML too): {"schedules": [{name, cron, timezone, missed,
// max_catchup, task: {command, env, cwd, user, timeout_s, output_cap_bytes}}]}. All or nothing:
// Errc::invalid_input with one message naming the schedule and the field; Errc::not_found for
// a file that does not exist.
Result<std::vector<LocalSchedule>> parse_schedules(std::string_view yaml);
Result<std::vector<LocalSchedule>> read_schedules_file(const std::string& path);

// Fires local schedules through the executor, each fire once: its task id is
// proto::local_task_id(device, name, fire time), journalled with how far the schedule has been
// dealt with in one transaction. Threading: the agent's io_context thread only.
class LocalScheduler {
 public:
  // A fire this late or less is on time, for the policy "skip" (as the control plane's).
  static constexpr std::int64_t kGraceMs = 60'000;

  // `outbox` and `clock` outlive us. Usable for annotate() at once, before start().
  static Result<std::unique_ptr<LocalScheduler>> open(boost::asio::io_context& io,
                                                      uplink::Outbox& outbox, const Clock& clock,
                                                      std::string device_id,
                                                      std::vector<LocalSchedule> schedules);
  LocalScheduler() = default;
  virtual ~LocalScheduler() = default;
  LocalScheduler(const LocalScheduler&) = delete;
  LocalScheduler& operator=(const LocalScheduler&) = delete;
  LocalScheduler(LocalScheduler&&) = delete;
  LocalScheduler& operator=(LocalScheduler&&) = delete;

  // Deals with the fires missed while the agent was down (by each schedule's policy), then
  // arms a timer for the next ones. `executor` outlives us; its recover() ran.
  virtual Result<void> start(Executor& executor) = 0;
  // One pass at the clock's time: fires what is due. Returns how many runs it submitted. The
  // timer calls it; tests call it with a manual clock.
  virtual std::size_t tick() = 0;
  virtual void stop() = 0;
  // Adds `local` to a state report of a local schedule's run (for the outbox).
  virtual void annotate(proto::TaskResult& result) = 0;
  // The next fire of a schedule after what was dealt with (unix ms); nullopt when none.
  virtual std::optional<std::int64_t> next_fire(const std::string& name) const = 0;
};

}  // namespace hecs::agent::tasks
