// hecsctl: the operator CLI over the hecs-control REST API. main() only forwards to run().
#pragma once

#include <functional>
#include <istream>
#include <ostream>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"

namespace hecs::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the server or the network said no
inline constexpr int kExitUsage = 2;    // bad arguments or configuration

// Asks the person at the terminal for a secret without echoing it; Errc::invalid_input when
// there is no terminal (the message names the --*-stdin flag to use instead).
using SecretPrompt = std::function<Result<std::string>(std::string_view prompt)>;

// Asks the person at the terminal a yes/no question; true for an answer starting with y or Y.
// Errc::invalid_input when there is no terminal.
using YesNoPrompt = std::function<Result<bool>(std::string_view question)>;

// What run() needs from the process besides argv and the streams. The clock, and `in` when
// given, must outlive run().
struct RunContext {
  const Clock& clock;               // "now" for "12s ago"
  bool stderr_is_terminal = false;  // whether to print hints meant for a person
  std::istream* in = nullptr;       // read by --password-stdin and the like; nullptr: std::cin
  SecretPrompt prompt_secret{};     // empty: the controlling terminal (/dev/tty), echo off
  YesNoPrompt ask_yes_no{};         // empty: the controlling terminal, when stderr_is_terminal
};

// Parses argv, runs the command, writes results to out and diagnostics to err; returns the exit
// code. Reads HECS_URL, HECS_API_KEY, HECS_CA_FILE, HOME and XDG_CONFIG_HOME from the
// environment; login and logout write the config file. Does not throw for any input or server
// answer.
int run(int argc, char** argv, std::ostream& out, std::ostream& err, const RunContext& context);
// The same with the system clock and no terminal hints.
int run(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace hecs::cli
