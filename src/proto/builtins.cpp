// Builtin arguments (builtins.h).
#include "proto/builtins.h"

#include <algorithm>

#include <fmt/format.h>

#include "proto/json_read.h"

namespace hecs::proto {
namespace {

constexpr std::size_t kMaxUnitBytes = 256;

tl::unexpected<Error> invalid(std::string message) {
  return fail(Errc::invalid_input, std::move(message));
}

// systemd.unit(5): letters, digits, ":-_.\" and "@"; never an option to journalctl.
bool valid_unit(std::string_view unit) {
  if (unit.empty() || unit.size() > kMaxUnitBytes || unit[0] == '-' || unit[0] == '.') {
    return false;
  }
  return std::all_of(unit.begin(), unit.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
           c == '-' || c == '_' || c == '.' || c == '\\' || c == '@';
  });
}

// "-30min", "-1h", "-7d": journalctl's relative times, back from now.
bool valid_relative(std::string_view since) {
  if (since.size() < 3 || since.size() > 12 || since[0] != '-') {
    return false;
  }
  auto unit_at = since.find_first_not_of("0123456789", 1);
  if (unit_at == 1 || unit_at == std::string_view::npos || since[1] == '0') {
    return false;
  }
  auto unit = since.substr(unit_at);
  return unit == "s" || unit == "min" || unit == "h" || unit == "d" || unit == "w";
}

Result<std::vector<std::string>> strings(const boost::json::object& args, std::string_view key,
                                         std::size_t max) {
  std::vector<std::string> out;
  const auto* v = args.if_contains(key);
  if (v == nullptr) {
    return out;
  }
  const auto* a = v->if_array();
  if (a == nullptr || a->size() > max ||
      std::any_of(a->begin(), a->end(), [](const auto& item) { return !item.is_string(); })) {
    return invalid(fmt::format("args.{}: expected an array of at most {} strings", key, max));
  }
  for (const auto& item : *a) {
    out.emplace_back(item.get_string());
  }
  return out;
}

}  // namespace

Result<CollectRequest> parse_collect_args(const boost::json::object& args) {
  for (const auto& [key, value] : args) {
    if (key != "units" && key != "since" && key != "paths") {
      return invalid(
          fmt::format("args.{}: unknown field (units, since, paths)", std::string_view(key)));
    }
  }
  CollectRequest request;
  auto units = strings(args, "units", kMaxCollectUnits);
  if (!units) {
    return tl::unexpected(units.error());
  }
  for (std::size_t i = 0; i < units->size(); ++i) {
    if (!valid_unit((*units)[i])) {
      return invalid(fmt::format("args.units[{}]: not a systemd unit name", i));
    }
  }
  request.units = std::move(*units);
  if (const auto* since = args.if_contains("since")) {
    if (since->is_string() && valid_relative(since->get_string())) {
      request.since = std::string(since->get_string());
    } else if (since->is_int64() && since->get_int64() >= 0) {
      request.since = fmt::format("@{}", since->get_int64() / 1000);
    } else if (since->is_uint64()) {
      request.since = fmt::format("@{}", since->get_uint64() / 1000);
    } else {
      return invalid("args.since: expected \"-<n>s|min|h|d|w\" or unix milliseconds");
    }
  }
  auto paths = strings(args, "paths", kMaxCollectPaths);
  if (!paths) {
    return tl::unexpected(paths.error());
  }
  for (std::size_t i = 0; i < paths->size(); ++i) {
    if (auto r = detail::check_absolute_path((*paths)[i], detail::index_path("args.paths", i));
        !r) {
      return tl::unexpected(r.error());
    }
  }
  request.paths = std::move(*paths);
  return request;
}

Result<void> check_builtin_args(std::string_view name, const boost::json::object& args) {
  if (name == "collect-logs") {
    auto request = parse_collect_args(args);
    if (!request) {
      return tl::unexpected(request.error());
    }
    return {};
  }
  if (name == "reboot") {
    const auto* confirm = args.if_contains("confirm");
    if (args.size() != 1 || confirm == nullptr || !confirm->is_bool() || !confirm->get_bool()) {
      return invalid("args: reboot needs exactly {\"confirm\": true}");
    }
    return {};
  }
  if (!args.empty()) {
    return invalid(fmt::format("args: {} takes no arguments", name));
  }
  return {};
}

}  // namespace hecs::proto
