// Task commands (proto.h, last section; docs/tasks.md): the "task" and "cancel" command bodies
// (the up/result body is in task_result.cpp). The limits here are the contract between the
// control plane, which refuses a spec before storing it, and the agent, which refuses it again
// before running it.
#include <algorithm>
#include <array>
#include <set>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "common/clock.h"
#include "proto/builtins.h"
#include "proto/json_read.h"
#include "proto/proto.h"

namespace hecs::proto {
namespace {

using detail::read_string;
using detail::read_uint;

constexpr std::array<std::string_view, 4> kBuiltins = {"reboot", "restart-agent", "collect-logs",
                                                       "inventory-refresh"};

tl::unexpected<Error> invalid(std::string message) {
  return fail(Errc::invalid_input, std::move(message));
}

bool has_nul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

bool valid_env_name(std::string_view name) {
  if (name.empty() || name.size() > 128) {
    return false;
  }
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  if (!alpha(name[0])) {
    return false;
  }
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

// POSIX portable user names, as useradd accepts them (a trailing '$' for machine accounts).
bool valid_user(std::string_view name) {
  if (name.empty() || name.size() > 32 || name[0] == '-') {
    return false;
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || (c == '$' && i + 1 == name.size());
    if (!ok) {
      return false;
    }
  }
  return name != "." && name != "..";
}

Result<void> check_arg(std::string_view arg, std::string_view field) {
  if (arg.size() > kMaxArgBytes) {
    return invalid(fmt::format("{}: longer than {} bytes", field, kMaxArgBytes));
  }
  if (has_nul(arg)) {
    return invalid(fmt::format("{}: contains NUL", field));
  }
  return {};
}

Result<std::vector<std::string>> read_strings(const boost::json::object& o, std::string_view key,
                                              std::string_view path) {
  std::vector<std::string> out;
  const auto* v = o.if_contains(key);
  if (v == nullptr) {
    return out;
  }
  const auto* a = v->if_array();
  auto field = detail::field_path(path, key);
  if (a == nullptr) {
    return invalid(field + ": expected an array of strings");
  }
  if (a->size() > kMaxArgs) {
    return invalid(fmt::format("{}: more than {} items", field, kMaxArgs));
  }
  for (std::size_t i = 0; i < a->size(); ++i) {
    const auto* s = (*a)[i].if_string();
    if (s == nullptr) {
      return invalid(detail::index_path(field, i) + ": expected a string");
    }
    out.emplace_back(*s);
  }
  return out;
}

}  // namespace

namespace detail {

// Absolute, no empty, "." or ".." component, no NUL (S26: the agent resolves symlinks itself).
Result<void> check_absolute_path(std::string_view path, std::string_view field) {
  if (path.empty() || path[0] != '/') {
    return fail(Errc::invalid_input, fmt::format("{}: must be an absolute path", field));
  }
  if (path.size() > kMaxPathBytes) {
    return fail(Errc::invalid_input, fmt::format("{}: longer than {} bytes", field, kMaxPathBytes));
  }
  if (has_nul(path)) {
    return fail(Errc::invalid_input, fmt::format("{}: contains NUL", field));
  }
  std::size_t at = 1;
  while (at <= path.size()) {
    auto end = path.find('/', at);
    if (end == std::string_view::npos) {
      end = path.size();
    }
    auto part = path.substr(at, end - at);
    if (part == "." || part == "..") {
      return fail(Errc::invalid_input,
                  fmt::format("{}: '{}' components are not allowed", field, part));
    }
    if (part.empty() && end != path.size() && path.size() > 1) {
      return fail(Errc::invalid_input, fmt::format("{}: empty component", field));
    }
    at = end + 1;
  }
  return {};
}

}  // namespace detail

bool is_builtin(std::string_view name) {
  return std::find(kBuiltins.begin(), kBuiltins.end(), name) != kBuiltins.end();
}

Result<void> validate_task(const TaskSpec& spec) {
  if (!is_uuid(spec.task)) {
    return invalid("task: expected a UUID");
  }
  switch (spec.kind) {
    case TaskKind::argv:
      if (spec.argv.empty()) {
        return invalid("command.argv: must not be empty");
      }
      if (spec.argv.size() > kMaxArgs) {
        return invalid(fmt::format("command.argv: more than {} arguments", kMaxArgs));
      }
      if (spec.argv[0].empty()) {
        return invalid("command.argv[0]: must not be empty");
      }
      for (std::size_t i = 0; i < spec.argv.size(); ++i) {
        if (auto r = check_arg(spec.argv[i], detail::index_path("command.argv", i)); !r) {
          return r;
        }
      }
      break;
    case TaskKind::script:
      if (spec.script.empty()) {
        return invalid("command.script: must not be empty");
      }
      if (spec.script.size() > kMaxScriptBytes) {
        return invalid(fmt::format("command.script: longer than {} bytes", kMaxScriptBytes));
      }
      if (has_nul(spec.script)) {
        return invalid("command.script: contains NUL");
      }
      if (spec.interpreter.empty()) {
        return invalid("command.interpreter: missing");
      }
      if (auto r = check_arg(spec.interpreter, "command.interpreter"); !r) {
        return r;
      }
      if (spec.interpreter.find('/') != std::string::npos) {
        if (auto r = detail::check_absolute_path(spec.interpreter, "command.interpreter"); !r) {
          return r;
        }
      }
      if (spec.interpreter_args.size() > 16) {
        return invalid("command.interpreter_args: more than 16 arguments");
      }
      for (std::size_t i = 0; i < spec.interpreter_args.size(); ++i) {
        if (auto r = check_arg(spec.interpreter_args[i],
                               detail::index_path("command.interpreter_args", i));
            !r) {
          return r;
        }
      }
      break;
    case TaskKind::builtin:
      if (!is_builtin(spec.builtin)) {
        return invalid(fmt::format(
            "command.builtin: unknown builtin (known: reboot, restart-agent, collect-logs, "
            "inventory-refresh)"));
      }
      if (auto r = check_builtin_args(spec.builtin, spec.args); !r) {
        return tl::unexpected(Error{r.error().code, "command." + r.error().message});
      }
      break;
  }
  if (spec.env.size() > kMaxEnv) {
    return invalid(fmt::format("env: more than {} variables", kMaxEnv));
  }
  std::set<std::string_view> names;
  for (const auto& [name, value] : spec.env) {
    if (!valid_env_name(name)) {
      return invalid(fmt::format("env: invalid variable name (expected [A-Za-z_][A-Za-z0-9_]*)"));
    }
    if (!names.insert(name).second) {
      return invalid(fmt::format("env.{}: given twice", name));
    }
    if (auto r = check_arg(value, "env." + name); !r) {
      return r;
    }
  }
  if (auto r = detail::check_absolute_path(spec.cwd, "cwd"); !r) {
    return r;
  }
  if (!spec.user.empty() && !valid_user(spec.user)) {
    return invalid("user: not a valid user name");
  }
  if (spec.timeout_s < 1 || spec.timeout_s > kMaxTimeoutS) {
    return invalid(fmt::format("timeout_s: must be 1..{}", kMaxTimeoutS));
  }
  if (spec.output_cap < kMinOutputCap || spec.output_cap > kMaxOutputCap) {
    return invalid(fmt::format("output_cap_bytes: must be {}..{}", kMinOutputCap, kMaxOutputCap));
  }
  if (spec.deadline < 0) {
    return invalid("deadline: must not be negative");
  }
  return {};
}

Result<TaskSpec> parse_task(const boost::json::object& body) {
  TaskSpec spec;
  auto task = read_string(body, "task", "body", true);
  if (!task) {
    return tl::unexpected(task.error());
  }
  spec.task = std::move(*task);
  const auto* command_value = body.if_contains("command");
  const auto* command = command_value != nullptr ? command_value->if_object() : nullptr;
  if (command == nullptr) {
    return invalid("body.command: expected an object");
  }
  const int kinds = static_cast<int>(command->contains("argv")) +
                    static_cast<int>(command->contains("script")) +
                    static_cast<int>(command->contains("builtin"));
  if (kinds != 1) {
    return invalid("body.command: expected exactly one of argv, script, builtin");
  }
  if (command->contains("argv")) {
    spec.kind = TaskKind::argv;
    auto argv = read_strings(*command, "argv", "body.command");
    if (!argv) {
      return tl::unexpected(argv.error());
    }
    spec.argv = std::move(*argv);
  } else if (command->contains("script")) {
    spec.kind = TaskKind::script;
    auto script = read_string(*command, "script", "body.command", true);
    auto interpreter = read_string(*command, "interpreter", "body.command", true);
    auto args = read_strings(*command, "interpreter_args", "body.command");
    if (!script || !interpreter || !args) {
      return tl::unexpected(!script        ? script.error()
                            : !interpreter ? interpreter.error()
                                           : args.error());
    }
    spec.script = std::move(*script);
    spec.interpreter = std::move(*interpreter);
    spec.interpreter_args = std::move(*args);
  } else {
    spec.kind = TaskKind::builtin;
    auto name = read_string(*command, "builtin", "body.command", true);
    if (!name) {
      return tl::unexpected(name.error());
    }
    spec.builtin = std::move(*name);
    if (const auto* args = command->if_contains("args")) {
      if (!args->is_object()) {
        return invalid("body.command.args: expected an object");
      }
      spec.args = args->get_object();
    }
  }
  if (const auto* env = body.if_contains("env")) {
    const auto* o = env->if_object();
    if (o == nullptr) {
      return invalid("body.env: expected an object of strings");
    }
    if (o->size() > kMaxEnv) {
      return invalid(fmt::format("body.env: more than {} variables", kMaxEnv));
    }
    for (const auto& [name, value] : *o) {
      const auto* s = value.if_string();
      if (s == nullptr) {
        return invalid("body.env: expected an object of strings");
      }
      spec.env.emplace_back(std::string(name), std::string(*s));
    }
  }
  auto cwd = read_string(body, "cwd", "body", false);
  auto user = read_string(body, "user", "body", false);
  if (!cwd || !user) {
    return tl::unexpected(!cwd ? cwd.error() : user.error());
  }
  if (!cwd->empty()) {
    spec.cwd = std::move(*cwd);
  }
  spec.user = std::move(*user);
  auto timeout = read_uint(body, "timeout_s", "body", spec.timeout_s);
  auto cap = read_uint(body, "output_cap_bytes", "body", spec.output_cap);
  auto deadline = read_uint(body, "deadline", "body", 0);
  if (!timeout || !cap || !deadline) {
    return tl::unexpected(!timeout ? timeout.error() : !cap ? cap.error() : deadline.error());
  }
  if (*timeout > kMaxTimeoutS || *deadline > static_cast<std::uint64_t>(INT64_MAX / 1000)) {
    return invalid(*timeout > kMaxTimeoutS ? "body.timeout_s: out of range"
                                           : "body.deadline: out of range");
  }
  spec.timeout_s = static_cast<std::uint32_t>(*timeout);
  spec.output_cap = *cap;
  spec.deadline = static_cast<std::int64_t>(*deadline);
  if (auto r = validate_task(spec); !r) {
    return tl::unexpected(r.error());
  }
  return spec;
}

boost::json::object to_json(const TaskSpec& spec) {
  boost::json::object command;
  auto strings = [](const std::vector<std::string>& items) {
    boost::json::array a;
    for (const auto& s : items) {
      a.emplace_back(s);
    }
    return a;
  };
  switch (spec.kind) {
    case TaskKind::argv:
      command["argv"] = strings(spec.argv);
      break;
    case TaskKind::script:
      command["script"] = spec.script;
      command["interpreter"] = spec.interpreter;
      if (!spec.interpreter_args.empty()) {
        command["interpreter_args"] = strings(spec.interpreter_args);
      }
      break;
    case TaskKind::builtin:
      command["builtin"] = spec.builtin;
      if (!spec.args.empty()) {
        command["args"] = spec.args;
      }
      break;
  }
  boost::json::object body;
  body["task"] = spec.task;
  body["command"] = std::move(command);
  if (!spec.env.empty()) {
    boost::json::object env;
    for (const auto& [k, v] : spec.env) {
      env[k] = v;
    }
    body["env"] = std::move(env);
  }
  body["cwd"] = spec.cwd;
  if (!spec.user.empty()) {
    body["user"] = spec.user;
  }
  body["timeout_s"] = spec.timeout_s;
  body["output_cap_bytes"] = spec.output_cap;
  if (spec.deadline > 0) {
    body["deadline"] = spec.deadline;
  }
  return body;
}

Result<Cancel> parse_cancel(const boost::json::object& body) {
  auto task = read_string(body, "task", "body", true);
  if (!task) {
    return tl::unexpected(task.error());
  }
  if (!is_uuid(*task)) {
    return invalid("body.task: expected a UUID");
  }
  return Cancel{std::move(*task)};
}

boost::json::object to_json(const Cancel& cancel) {
  boost::json::object body;
  body["task"] = cancel.task;
  return body;
}

}  // namespace hecs::proto
