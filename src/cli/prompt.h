// Secrets from the person running hecsctl: typed at the terminal without echo, or piped in on
// stdin (--password-stdin) so that scripts never put them in argv, where ps shows them.
#pragma once

#include <istream>
#include <string>
#include <string_view>

#include "cli/cli.h"
#include "common/result.h"

namespace hecs::cli {

// Prints `prompt` on /dev/tty and reads one line from it with echo off; the terminal is
// restored afterwards, also when SIGINT, SIGTERM, SIGHUP or SIGQUIT arrive meanwhile.
// Errc::invalid_input when there is no controlling terminal: the message suggests `stdin_flag`.
Result<std::string> read_secret_from_terminal(std::string_view prompt, std::string_view stdin_flag);

// One line of `in` without its line ending. Errc::invalid_input at end of input, naming
// `what` ("the password on stdin").
Result<std::string> read_line(std::istream& in, std::string_view what);

// A secret from the context's prompt, else the terminal; `stdin_flag` is named when there is
// no terminal. An empty answer is Errc::invalid_input.
Result<std::string> ask_secret(const RunContext& context, std::string_view prompt,
                               std::string_view stdin_flag);

// A new password: asked twice at the terminal (Errc::invalid_input when the two differ), or one
// line of stdin when `from_stdin`. Empty is Errc::invalid_input.
Result<std::string> ask_new_password(const RunContext& context, bool from_stdin,
                                     std::string_view whose, std::string_view stdin_flag);

// Prints `question` on /dev/tty and reads one line from it: true when it starts with y or Y.
// Errc::invalid_input when there is no controlling terminal.
Result<bool> read_yes_no_from_terminal(std::string_view question);

// The context's ask_yes_no, else the terminal when stderr is one; Errc::invalid_input when
// there is nobody to ask.
Result<bool> ask_yes_no(const RunContext& context, std::string_view question);

// The context's stdin, or std::cin.
std::istream& input_of(const RunContext& context);

}  // namespace hecs::cli
