// Human output for tasks: the progress line of hecsctl run, each run's result block, the task
// table and one task's details. Every server string is escaped for a terminal; a run's output
// keeps its newlines and tabs, and every other control character shows escaped.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

namespace hecs::cli {

// A task's runs by what a person cares about, from its "counts" (and "total").
struct RunTally {
  std::int64_t total = 0;
  std::int64_t done = 0;       // in a final state
  std::int64_t succeeded = 0;  // of done
  std::int64_t running = 0;
  std::int64_t waiting = 0;  // queued or sent, not started yet
  std::int64_t not_ok() const { return done - succeeded; }
  bool finished() const { return running == 0 && waiting == 0; }
};
RunTally tally_of(const boost::json::value& task);

// "12/40 done, 1 failed, 3 running" (", 24 waiting" when some are): the plain progress line.
std::string progress_text(const RunTally& tally);
// "[#####.....] 12/40 done, ..." with a bar of `width` cells, for a terminal line.
std::string progress_bar(const RunTally& tally, std::size_t width = 20);

// "exit=0", "signal=9", or "exit=-" when the run reported neither.
std::string exit_text(const boost::json::value& run);
// From started_at to ended_at: "0.4s", "12.0s", "2m 5s"; "-" when it did not both start and end.
std::string run_duration(const boost::json::value& run);
// "== <device> <state> exit=<code> (<duration>)", then ": <error>" when the run has one.
std::string run_header(const boost::json::value& run);

// A run's output for a terminal: escaped as above, ending with a newline unless empty.
std::string printable_output(std::string_view text);

// The header, its stdout, then its stderr under "-- stderr" when there is any.
std::string format_run_result(const boost::json::value& run, std::string_view out,
                              std::string_view err);

// What a task runs, in at most `width` columns: "/bin/echo 'a b'", "script: /bin/sh (12 B)",
// "builtin: reboot".
std::string command_summary(const boost::json::value& task, std::size_t width = 48);

// "38 succeeded, 1 failed, 1 timed_out" over the non-zero counts, "no runs" when none.
std::string counts_text(const boost::json::value& task);

// Columns ID, STATE, CREATED, DEVICES (done/total), COMMAND.
std::string format_task_table(const boost::json::array& items, std::int64_t now_ms);

// The task's fields and counts, then a table of `runs`: DEVICE, STATE, EXIT, DURATION, OUTPUT,
// ERROR.
std::string format_task_details(const boost::json::value& task, const boost::json::array& runs,
                                std::int64_t now_ms);

}  // namespace hecs::cli
