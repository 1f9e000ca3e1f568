// hecsctl: the operator CLI over the hecs-control REST API. main() only forwards to run().
#pragma once

#include <ostream>

#include "common/clock.h"

namespace hecs::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the server or the network said no
inline constexpr int kExitUsage = 2;    // bad arguments or configuration

// What run() needs from the process besides argv and the streams. The clock must outlive run().
struct RunContext {
  const Clock& clock;               // "now" for "12s ago"
  bool stderr_is_terminal = false;  // whether to print hints meant for a person
};

// Parses argv, runs the command, writes results to out and diagnostics to err; returns the exit
// code. Reads HECS_URL, HECS_API_KEY, HOME and XDG_CONFIG_HOME from the environment. Does not
// throw for any input or server answer.
int run(int argc, char** argv, std::ostream& out, std::ostream& err, const RunContext& context);
// The same with the system clock and no terminal hints.
int run(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace hecs::cli
