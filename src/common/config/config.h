// Configuration (CONVENTIONS §5): a YAML file whose every key is also a flag. Keys map to flags
// by replacing '_' and '.' with '-' ("data_dir" → --data-dir, "mqtt.url" → --mqtt-url); flags
// win over the file. Unknown keys, bad values and bad flags give one line naming the key and
// exit code 2.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/result.h"

namespace hecs::config {

inline constexpr int kUsageExitCode = 2;

// Parses the command line into the options bound on `app`, reading the YAML file given with
// --config first (the option is added here). Returns an exit code when the program should stop
// now (0 after --help or --version, 2 after an error, with the message already written to
// `err`), or nullopt to go on.
std::optional<int> parse(CLI::App& app, int argc, const char* const* argv, std::ostream& out,
                         std::ostream& err);

// A CLI11 check made from one of our parsers (anything taking the value and returning a
// Result), so a flag is refused at start-up, exit code 2, with the parser's own message.
template <class Parse>
CLI::Validator checked_by(std::string description, Parse parse) {
  return CLI::Validator(
      [parse](std::string& value) -> std::string {
        auto parsed = parse(value);
        return parsed ? std::string() : parsed.error().message;
      },
      std::move(description));
}

// The YAML file as "--flag=value" arguments, in file order. Errc::invalid_input for a file that
// is unreadable, not a mapping, or holds a key that `app` has no flag for.
Result<std::vector<std::string>> yaml_to_args(const CLI::App& app, const std::string& path);

}  // namespace hecs::config
