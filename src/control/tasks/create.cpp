// Service (tasks.h): resolving a target to devices and creating a task with its runs.
#include <algorithm>
#include <set>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "common/log.h"
#include "control/targets/targets.h"
#include "control/tasks/service_impl.h"

namespace hecs::control::tasks {

namespace {

std::vector<std::string> parse_string_array(const std::string& json) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  auto value = boost::json::parse(json, ec);
  if (!ec && value.is_array()) {
    for (const auto& item : value.get_array()) {
      if (item.is_string()) {
        out.emplace_back(item.get_string());
      }
    }
  }
  return out;
}

std::vector<targets::Tag> device_tags(const std::string& json) {
  std::vector<targets::Tag> tags;
  for (const auto& text : parse_string_array(json)) {
    if (auto tag = targets::parse_tag(text)) {
      tags.push_back(std::move(*tag));
    }
  }
  return tags;
}

// The users a device's inventory lists (hello.users); nullopt when it lists none (older agent).
std::optional<std::set<std::string>> inventory_users(const std::string& inventory) {
  boost::system::error_code ec;
  auto value = boost::json::parse(inventory, ec);
  if (ec || !value.is_object()) {
    return std::nullopt;
  }
  const auto* users = value.get_object().if_contains("users");
  if (users == nullptr || !users->is_array()) {
    return std::nullopt;
  }
  std::set<std::string> out;
  for (const auto& u : users->get_array()) {
    if (u.is_string()) {
      out.emplace(u.get_string());
    }
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> Service::Impl::resolve(const std::string& tenant_id,
                                                        const Target& target) {
  const int given = static_cast<int>(!target.devices.empty()) +
                    static_cast<int>(!target.group.empty()) +
                    static_cast<int>(!target.selector.empty());
  if (given != 1) {
    return fail(Errc::invalid_input, "target: give exactly one of devices, group, selector");
  }
  std::optional<targets::Selector> selector;
  std::optional<std::set<std::string>> members;
  if (!target.selector.empty()) {
    auto parsed = targets::parse_selector(target.selector);
    if (!parsed) {
      return fail(Errc::invalid_input, "target.selector: " + parsed.error().message);
    }
    selector = std::move(*parsed);
  } else if (!target.group.empty()) {
    auto group = groups.find_by_name(tenant_id, target.group);
    if (!group) {
      if (group.error().code == Errc::not_found) {
        return fail(Errc::invalid_input,
                    fmt::format("target.group: no group named {}", log::quoted(target.group)));
      }
      return tl::unexpected(group.error());
    }
    if (!group->selector.empty()) {
      auto parsed = targets::parse_selector(group->selector);
      if (!parsed) {
        return fail(Errc::invalid_input, "target.group: its selector: " + parsed.error().message);
      }
      selector = std::move(*parsed);
    } else {
      members = std::set<std::string>(group->devices.begin(), group->devices.end());
    }
  } else {
    if (target.devices.size() > limits.max_targets) {
      return fail(Errc::invalid_input,
                  fmt::format("target.devices: more than {} devices", limits.max_targets));
    }
    members = std::set<std::string>();
    for (std::size_t i = 0; i < target.devices.size(); ++i) {
      if (!is_uuid(target.devices[i])) {
        return fail(Errc::invalid_input, fmt::format("target.devices[{}]: not a device id", i));
      }
      members->insert(target.devices[i]);
    }
  }
  auto all = devices.targets(tenant_id, false);
  if (!all) {
    return tl::unexpected(all.error());
  }
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& d : *all) {
    if (members) {
      if (!members->contains(d.id)) {
        continue;
      }
      seen.insert(d.id);
    }
    if (d.state != "accepted") {
      if (!target.devices.empty()) {
        return fail(Errc::invalid_input,
                    fmt::format("target.devices: device {} is {}, not accepted", d.id, d.state));
      }
      continue;
    }
    if (selector && !targets::matches(*selector, device_tags(d.tags))) {
      continue;
    }
    out.push_back(d.id);
  }
  if (!target.devices.empty() && seen.size() != members->size()) {
    for (const auto& id : *members) {
      if (!seen.contains(id)) {
        return fail(Errc::invalid_input, fmt::format("target.devices: no device {}", id));
      }
    }
  }
  return out;
}

Result<store::TaskRow> Service::Impl::create(const std::string& tenant_id, const std::string& actor,
                                             TaskRequest request) {
  auto& spec = request.spec;
  spec.task = random_uuid();
  const auto now = clock.now_ms();
  if (request.deadline_s < 60 || request.deadline_s > 30LL * 86400) {
    return fail(Errc::invalid_input, "deadline_s: must be 60..2592000 (30 days)");
  }
  spec.deadline = now / 1000 + request.deadline_s;
  if (auto valid = proto::validate_task(spec); !valid) {
    return tl::unexpected(valid.error());
  }
  const auto body = proto::to_json(spec);
  const auto body_text = boost::json::serialize(body);
  if (body_text.size() > proto::kMaxTaskBodyBytes) {
    return fail(Errc::invalid_input,
                fmt::format("the task is {} bytes once encoded; at most {} fit in a signed command",
                            body_text.size(), proto::kMaxTaskBodyBytes));
  }
  if (request.max_in_flight < 0 || request.max_in_flight > 10000) {
    return fail(Errc::invalid_input, "rate.max_in_flight: must be 1..10000");
  }
  if (request.per_minute < 0 || request.per_minute > 100000) {
    return fail(Errc::invalid_input, "rate.per_minute: must be 1..100000");
  }
  if (request.abort_percent < -1 || request.abort_percent > 100 || request.abort_min < 1) {
    return fail(Errc::invalid_input,
                "abort: failure_percent must be 0..100 and min_finished at least 1");
  }
  auto resolved = resolve(tenant_id, request.target);
  if (!resolved) {
    return tl::unexpected(resolved.error());
  }
  if (resolved->empty()) {
    return fail(Errc::invalid_input, "target: matches no accepted device");
  }
  if (resolved->size() > limits.max_targets) {
    return fail(Errc::invalid_input,
                fmt::format("target: {} devices, more than the {} one task may have",
                            resolved->size(), limits.max_targets));
  }
  if (resolved->size() > limits.confirm_above && !request.confirm) {
    return fail(Errc::invalid_input,
                fmt::format("target: {} devices, more than {}: repeat with \"confirm\": true",
                            resolved->size(), limits.confirm_above));
  }
  if (!spec.user.empty()) {
    // A user the device has told us it lacks would only fail there; say so now.
    auto infos = devices.targets(tenant_id, true);
    if (!infos) {
      return tl::unexpected(infos.error());
    }
    std::set<std::string> chosen(resolved->begin(), resolved->end());
    for (const auto& d : *infos) {
      if (!chosen.contains(d.id)) {
        continue;
      }
      auto users = inventory_users(d.inventory);
      if (users && !users->contains(spec.user)) {
        return fail(Errc::invalid_input,
                    fmt::format("user: device {} has no user {}", d.id, log::quoted(spec.user)));
      }
    }
  }
  boost::json::object target;
  if (!request.target.selector.empty()) {
    target["selector"] = request.target.selector;
  } else if (!request.target.group.empty()) {
    target["group"] = request.target.group;
  } else {
    boost::json::array ids;
    for (const auto& id : request.target.devices) {
      ids.emplace_back(id);
    }
    target["devices"] = std::move(ids);
  }
  target["resolved"] = resolved->size();
  store::TaskRow row;
  row.id = spec.task;
  row.tenant_id = tenant_id;
  row.created_at = now;
  row.created_by = actor;
  row.target = boost::json::serialize(target);
  row.spec = body_text;
  row.state = "running";
  row.expires_at = spec.deadline * 1000;
  row.max_in_flight = request.max_in_flight;
  row.per_minute = request.per_minute;
  row.abort_percent = request.abort_percent;
  row.abort_min = request.abort_min;
  row.total = static_cast<int>(resolved->size());
  row.schedule_id = request.schedule_id;
  row.origin = request.schedule_id.empty() ? "api" : "schedule";
  if (auto stored = tasks.create(row, *resolved); !stored) {
    return tl::unexpected(stored.error());
  }
  log->info("task.created task={} tenant={} devices={} actor={}", row.id, tenant_id, row.total,
            log::quoted(actor));
  kick();
  return row;
}

}  // namespace hecs::control::tasks
