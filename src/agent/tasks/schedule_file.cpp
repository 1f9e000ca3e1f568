// The agent's schedules file (tasks.h, "local schedules"; docs/tasks.md "Local schedules"):
// YAML read whole and checked whole, so a bad file changes nothing. The task part is turned
// into JSON and read by proto::parse_task, the parser of the control plane's "task" commands,
// so a local task obeys exactly the limits of a remote one.
#include <algorithm>
#include <array>
#include <charconv>
#include <set>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "agent/tasks/tasks.h"
#include "common/files.h"

namespace hecs::agent::tasks {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxSchedules = 100;
constexpr std::size_t kMaxFileBytes = std::size_t{1} << 20;
constexpr std::array<std::string_view, 6> kScheduleKeys = {"name",   "cron",        "timezone",
                                                           "missed", "max_catchup", "task"};
constexpr std::array<std::string_view, 6> kTaskKeys = {"command", "env",       "cwd",
                                                       "user",    "timeout_s", "output_cap_bytes"};
constexpr std::array<std::string_view, 6> kCommandKeys = {
    "argv", "script", "interpreter", "interpreter_args", "builtin", "args"};
// Stands in for the id until a fire sets it, so that parse_task checks everything else.
constexpr std::string_view kPlaceholderId = "00000000-0000-8000-8000-000000000000";

tl::unexpected<Error> invalid(std::string message) {
  return fail(Errc::invalid_input, std::move(message));
}

// A plain (unquoted) scalar as YAML 1.2's core schema reads it: null, a boolean, an integer, a
// float, else a string. Quoted scalars are always strings ("5" is text, 5 a number), as in
// Kubernetes manifests.
json::value plain_scalar(const std::string& text) {
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return nullptr;
  }
  if (text == "true" || text == "True" || text == "TRUE") {
    return true;
  }
  if (text == "false" || text == "False" || text == "FALSE") {
    return false;
  }
  const char* begin = text.data() + (text[0] == '+' ? 1 : 0);
  const char* end = text.data() + text.size();
  std::int64_t i = 0;
  if (auto [p, ec] = std::from_chars(begin, end, i); ec == std::errc() && p == end) {
    return i;
  }
  double d = 0;
  if (auto [p, ec] = std::from_chars(begin, end, d); ec == std::errc() && p == end) {
    return d;
  }
  return json::string(text);
}

Result<json::value> to_json_value(const YAML::Node& node, const std::string& path) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return json::value(nullptr);
    case YAML::NodeType::Scalar:
      return node.Tag() == "!" ? json::value(json::string(node.Scalar()))
                               : plain_scalar(node.Scalar());
    case YAML::NodeType::Sequence: {
      json::array out;
      for (std::size_t i = 0; i < node.size(); ++i) {
        auto item = to_json_value(node[i], fmt::format("{}[{}]", path, i));
        if (!item) {
          return item;
        }
        out.push_back(std::move(*item));
      }
      return json::value(std::move(out));
    }
    case YAML::NodeType::Map: {
      json::object out;
      for (const auto& entry : node) {
        if (!entry.first.IsScalar()) {
          return invalid(path + ": keys must be plain strings");
        }
        const auto& key = entry.first.Scalar();
        auto value = to_json_value(entry.second, fmt::format("{}.{}", path, key));
        if (!value) {
          return value;
        }
        out[key] = std::move(*value);
      }
      return json::value(std::move(out));
    }
  }
  return json::value(nullptr);
}

template <std::size_t N>
Result<void> only_keys(const json::object& o, const std::array<std::string_view, N>& known,
                       const std::string& path) {
  for (const auto& [key, value] : o) {
    if (std::find(known.begin(), known.end(), std::string_view(key)) == known.end()) {
      return invalid(fmt::format("{}{}: unknown key", path, std::string_view(key)));
    }
  }
  return {};
}

Result<std::string> string_field(const json::object& o, std::string_view key, bool required) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) {
    if (required) {
      return invalid(fmt::format("{}: missing", key));
    }
    return std::string();
  }
  if (!v->is_string()) {
    return invalid(fmt::format("{}: expected a string", key));
  }
  return std::string(v->get_string());
}

// The task part: a POST /api/v1/tasks body without target, rate, abort, deadline and confirm.
Result<proto::TaskSpec> read_task(const json::value& value) {
  if (!value.is_object()) {
    return invalid("task: expected a mapping");
  }
  auto task = value.get_object();
  if (auto r = only_keys(task, kTaskKeys, "task."); !r) {
    return tl::unexpected(r.error());
  }
  if (const auto* command = task.if_contains("command"); command && command->is_object()) {
    if (auto r = only_keys(command->get_object(), kCommandKeys, "task.command."); !r) {
      return tl::unexpected(r.error());
    }
  }
  task["task"] = kPlaceholderId;
  if (json::serialize(task).size() > proto::kMaxTaskBodyBytes) {
    return invalid(fmt::format("task: more than {} bytes once encoded", proto::kMaxTaskBodyBytes));
  }
  auto spec = proto::parse_task(task);
  if (!spec) {
    auto message = spec.error().message;
    if (message.starts_with("body.")) {
      message.erase(0, 5);
    }
    return invalid(message.starts_with("task") ? message : "task." + message);
  }
  spec->task.clear();
  return spec;
}

Result<LocalSchedule> read_schedule(const json::value& value) {
  if (!value.is_object()) {
    return invalid("expected a mapping");
  }
  const auto& o = value.get_object();
  if (auto r = only_keys(o, kScheduleKeys, ""); !r) {
    return tl::unexpected(r.error());
  }
  LocalSchedule s;
  auto cron_text = string_field(o, "cron", true);
  auto zone = string_field(o, "timezone", false);
  auto missed = string_field(o, "missed", false);
  for (auto* r : {&cron_text, &zone, &missed}) {
    if (!*r) {
      return tl::unexpected(r->error());
    }
  }
  auto parsed = cron::parse(*cron_text);
  if (!parsed) {
    return invalid("cron: " + parsed.error().message);
  }
  s.cron = std::move(*cron_text);
  s.parsed = *parsed;
  if (!zone->empty()) {
    s.timezone = std::move(*zone);
  }
  auto located = cron::Zone::locate(s.timezone);
  if (!located) {
    return invalid("timezone: " + located.error().message);
  }
  s.zone = *located;
  if (!missed->empty()) {
    if (*missed != "skip" && *missed != "once" && *missed != "all") {
      return invalid("missed: expected skip, once or all");
    }
    s.missed = std::move(*missed);
  }
  if (const auto* n = o.if_contains("max_catchup"); n != nullptr && !n->is_null()) {
    if (!n->is_int64() || n->get_int64() < 1 || n->get_int64() > 100) {
      return invalid("max_catchup: expected an integer 1..100");
    }
    s.max_catchup = static_cast<std::size_t>(n->get_int64());
  }
  const auto* task = o.if_contains("task");
  if (task == nullptr) {
    return invalid("task: missing");
  }
  auto spec = read_task(*task);
  if (!spec) {
    return tl::unexpected(spec.error());
  }
  s.spec = std::move(*spec);
  return s;
}

}  // namespace

Result<std::vector<LocalSchedule>> parse_schedules(std::string_view yaml) {
  json::value root;
  try {
    auto node = YAML::Load(std::string(yaml));
    if (!node.IsMap() && !node.IsNull()) {
      return invalid("expected a mapping with the key 'schedules'");
    }
    auto converted = to_json_value(node, "");
    if (!converted) {
      return tl::unexpected(converted.error());
    }
    root = std::move(*converted);
  } catch (const YAML::Exception& e) {
    return invalid(fmt::format("line {}: {}", e.mark.line + 1, e.msg));
  }
  std::vector<LocalSchedule> out;
  if (root.is_null()) {
    return out;  // an empty file: no schedules
  }
  const auto& top = root.get_object();
  for (const auto& [key, value] : top) {
    if (key != "schedules") {
      return invalid(fmt::format("{}: unknown key", std::string_view(key)));
    }
  }
  const auto* list = top.if_contains("schedules");
  if (list == nullptr || list->is_null()) {
    return out;
  }
  if (!list->is_array()) {
    return invalid("schedules: expected a list");
  }
  if (list->get_array().size() > kMaxSchedules) {
    return invalid(fmt::format("schedules: more than {}", kMaxSchedules));
  }
  std::set<std::string> names;
  std::size_t index = 0;
  for (const auto& item : list->get_array()) {
    // The schedule is named by its name when it has a usable one, else by its position.
    std::string label = fmt::format("schedules[{}]", index++);
    const auto* name = item.is_object() ? item.get_object().if_contains("name") : nullptr;
    if (name == nullptr || !name->is_string() ||
        !proto::valid_schedule_name(std::string_view(name->get_string()))) {
      return invalid(
          fmt::format("{}: name: expected 1..{} of [A-Za-z0-9._-], starting with a "
                      "letter or digit",
                      label, proto::kMaxScheduleNameBytes));
    }
    label = fmt::format("schedule '{}'", std::string_view(name->get_string()));
    auto schedule = read_schedule(item);
    if (!schedule) {
      return invalid(fmt::format("{}: {}", label, schedule.error().message));
    }
    schedule->name = std::string(name->get_string());
    if (!names.insert(schedule->name).second) {
      return invalid(fmt::format("{}: name: given twice", label));
    }
    out.push_back(std::move(*schedule));
  }
  return out;
}

Result<std::vector<LocalSchedule>> read_schedules_file(const std::string& path) {
  auto text = files::read_small(path, kMaxFileBytes);
  if (!text) {
    return tl::unexpected(text.error());
  }
  auto schedules = parse_schedules(*text);
  if (!schedules) {
    return fail(schedules.error().code, fmt::format("{}: {}", path, schedules.error().message));
  }
  return schedules;
}

}  // namespace hecs::agent::tasks
