#include "cli/task_request.h"

#include <algorithm>
#include <charconv>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/text.h"

namespace hecs::cli {

namespace json = boost::json;

namespace {

Result<json::object> target_of(const RunOptions& options) {
  int given = static_cast<int>(!options.devices.empty()) +
              static_cast<int>(!options.group.empty()) +
              static_cast<int>(!options.selector.empty());
  if (given == 0) {
    return fail(Errc::invalid_input,
                "no target: give --device ID (repeatable), --group NAME or --selector SEL");
  }
  if (given > 1) {
    return fail(Errc::invalid_input, "give only one of --device, --group and --selector");
  }
  if (!options.selector.empty()) {
    return json::object{{"selector", options.selector}};
  }
  if (!options.group.empty()) {
    return json::object{{"group", options.group}};
  }
  json::array ids;
  for (const std::string& id : options.devices) {
    ids.emplace_back(id);
  }
  return json::object{{"devices", std::move(ids)}};
}

json::array strings(const auto& items) {
  json::array out;
  for (const auto& item : items) {
    out.emplace_back(item);
  }
  return out;
}

// "/usr/bin/python3 -u" is the program and its first arguments, split at blanks.
std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> words;
  std::size_t at = 0;
  while ((at = text.find_first_not_of(" \t", at)) != std::string_view::npos) {
    std::size_t end = std::min(text.find_first_of(" \t", at), text.size());
    words.emplace_back(text.substr(at, end - at));
    at = end;
  }
  return words;
}

Result<json::object> command_of(const RunOptions& options, std::string_view script_text) {
  int given = static_cast<int>(!options.argv.empty()) + static_cast<int>(!options.script.empty()) +
              static_cast<int>(!options.builtin.empty());
  if (given == 0) {
    return fail(Errc::invalid_input,
                "nothing to run: give a command after --, --script FILE or --builtin NAME");
  }
  if (given > 1) {
    return fail(Errc::invalid_input,
                "give only one of a command after --, --script FILE and --builtin NAME");
  }
  if (!options.interpreter.empty() && options.script.empty()) {
    return fail(Errc::invalid_input, "--interpreter goes with --script FILE");
  }
  if (options.confirm_reboot && options.builtin != "reboot") {
    return fail(Errc::invalid_input, "--confirm-reboot goes with --builtin reboot");
  }
  const bool collect_args =
      !options.units.empty() || !options.paths.empty() || !options.since.empty();
  if (collect_args && options.builtin != "collect-logs") {
    return fail(Errc::invalid_input, "--unit, --path and --since go with --builtin collect-logs");
  }
  if (!options.argv.empty()) {
    return json::object{{"argv", strings(options.argv)}};
  }
  if (!options.script.empty()) {
    std::vector<std::string> words = split_words(options.interpreter);
    if (words.empty()) {
      return fail(Errc::invalid_input,
                  "--script needs --interpreter PROG, such as /bin/sh or \"python3 -u\"");
    }
    if (script_text.size() > kMaxScriptBytes) {
      return fail(Errc::invalid_input, fmt::format("--script {}: {} bytes, at most {}",
                                                   escape_for_terminal(options.script),
                                                   script_text.size(), kMaxScriptBytes));
    }
    json::object command{{"script", script_text}, {"interpreter", words.front()}};
    if (words.size() > 1) {
      command["interpreter_args"] = strings(std::vector(words.begin() + 1, words.end()));
    }
    return command;
  }
  json::object command{{"builtin", options.builtin}};
  if (options.builtin == "reboot") {
    if (!options.confirm_reboot) {
      return fail(Errc::invalid_input, "--builtin reboot needs --confirm-reboot");
    }
    command["args"] = json::object{{"confirm", true}};
  }
  if (collect_args) {
    json::object args;
    if (!options.units.empty()) {
      args["units"] = strings(options.units);
    }
    if (!options.paths.empty()) {
      args["paths"] = strings(options.paths);
    }
    if (!options.since.empty()) {
      args["since"] = options.since;
    }
    command["args"] = std::move(args);
  }
  return command;
}

Result<json::object> env_of(const std::vector<std::string>& pairs) {
  json::object env;
  for (const std::string& pair : pairs) {
    std::size_t eq = pair.find('=');
    if (eq == 0 || eq == std::string::npos) {
      return fail(Errc::invalid_input,
                  fmt::format("--env {}: expected NAME=VALUE", escape_for_terminal(pair)));
    }
    std::string name = pair.substr(0, eq);
    if (env.contains(name)) {
      return fail(Errc::invalid_input,
                  fmt::format("--env {}: given twice", escape_for_terminal(name)));
    }
    env[name] = pair.substr(eq + 1);
  }
  return env;
}

Result<std::optional<std::int64_t>> seconds_flag(std::string_view flag, std::string_view text) {
  if (text.empty()) {
    return std::optional<std::int64_t>();
  }
  auto seconds = parse_seconds(text);
  if (!seconds) {
    return fail(Errc::invalid_input,
                fmt::format("{} {}: expected seconds, or a duration such as 90s, 5m, 2h or 1d",
                            flag, escape_for_terminal(text)));
  }
  return seconds;
}

}  // namespace

std::optional<std::int64_t> parse_seconds(std::string_view text) {
  if (!text.empty() &&
      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::int64_t seconds = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    return ec == std::errc() ? std::optional(seconds) : std::nullopt;
  }
  return parse_duration_s(text);
}

Result<json::value> task_request(const RunOptions& options, std::string_view script_text,
                                 bool confirm) {
  auto target = target_of(options);
  if (!target) {
    return tl::unexpected(target.error());
  }
  auto command = command_of(options, script_text);
  if (!command) {
    return tl::unexpected(command.error());
  }
  auto env = env_of(options.env);
  auto timeout = seconds_flag("--timeout", options.timeout);
  auto deadline = seconds_flag("--deadline", options.deadline);
  if (!env || !timeout || !deadline) {
    return tl::unexpected(!env ? env.error() : !timeout ? timeout.error() : deadline.error());
  }
  if (options.abort_min > 0 && options.abort_percent < 0) {
    return fail(Errc::invalid_input, "--abort-min goes with --abort-percent P");
  }
  json::object request{{"target", std::move(*target)}, {"command", std::move(*command)}};
  if (!env->empty()) {
    request["env"] = std::move(*env);
  }
  if (!options.cwd.empty()) {
    request["cwd"] = options.cwd;
  }
  if (!options.user.empty()) {
    request["user"] = options.user;
  }
  if (*timeout) {
    request["timeout_s"] = **timeout;
  }
  if (options.output_cap > 0) {
    request["output_cap_bytes"] = options.output_cap;
  }
  if (*deadline) {
    request["deadline_s"] = **deadline;
  }
  if (options.max_in_flight > 0) {
    request["rate"] = json::object{{"max_in_flight", options.max_in_flight}};
  } else if (options.per_minute > 0) {
    request["rate"] = json::object{{"per_minute", options.per_minute}};
  }
  if (options.abort_percent >= 0) {
    json::object abort{{"failure_percent", options.abort_percent}};
    if (options.abort_min > 0) {
      abort["min_finished"] = options.abort_min;
    }
    request["abort"] = std::move(abort);
  }
  if (confirm) {
    request["confirm"] = true;
  }
  return json::value(std::move(request));
}

}  // namespace hecs::cli
