// Following a task until no run is left unfinished, by polling: hecsctl run and tasks logs
// --follow. A poll reads the task's counts per run state (one request), and only when a final
// state's count grew, the runs in that state (?state=, paged), so that a quiet task of 10,000
// runs costs one request per poll.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "cli/task_api.h"
#include "cli/task_format.h"
#include "common/result.h"

namespace hecs::cli {

// The runs of one task that reached a final state since the previous call. Borrows the api.
class FinalRuns {
 public:
  FinalRuns(TasksApi& api, std::string task_id) : api_(api), task_id_(std::move(task_id)) {}

  // `task` is a fresh GET of the task (with "counts"); returns the runs, as the runs route
  // lists them, that are final and were not returned before. Errors: those of TasksApi.
  Result<std::vector<boost::json::value>> take_new(const boost::json::value& task);

 private:
  TasksApi& api_;
  std::string task_id_;
  std::set<std::string> seen_;                     // devices whose final run was returned
  std::map<std::string, std::int64_t> per_state_;  // how many of seen_ are in each state
};

// Ctrl-C while following: from construction to destruction SIGINT only sets a flag (the task
// goes on running on the devices); the previous handler comes back afterwards. One at a time.
class InterruptFlag {
 public:
  InterruptFlag();
  ~InterruptFlag();
  InterruptFlag(const InterruptFlag&) = delete;
  InterruptFlag& operator=(const InterruptFlag&) = delete;
  InterruptFlag(InterruptFlag&&) = delete;
  InterruptFlag& operator=(InterruptFlag&&) = delete;
  bool raised() const;
  // Sleeps `duration` or until SIGINT, whichever comes first.
  void sleep(std::chrono::milliseconds duration) const;

 private:
  struct Saved;
  std::unique_ptr<Saved> saved_;
};

struct FollowHooks {
  // After each poll, with the task's tally.
  std::function<void(const RunTally&)> progress;
  // For each run that became final, once; an error stops following.
  std::function<Result<void>(const boost::json::value& run)> final_run;
  // Before each poll but the first; polls wait at least this long, and as long as the previous
  // poll took, so a slow server is not asked faster than it answers.
  std::chrono::milliseconds interval{300};
};

enum class FollowEnd { finished, interrupted };

// Polls `task_id` until no run is queued, sent or running and every final run went through
// hooks.final_run, or until Ctrl-C (`interrupt`). Returns the last GET of the task. A server
// that is briefly unreachable (Errc::unavailable, Errc::timeout) is asked again, up to about
// 30 s; other errors stop following.
Result<boost::json::value> follow_task(TasksApi& api, const std::string& task_id,
                                       const FollowHooks& hooks, const InterruptFlag& interrupt,
                                       FollowEnd& end);

}  // namespace hecs::cli
