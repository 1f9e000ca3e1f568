// Device groups (docs/tasks.md, "Targets"): static (a list of device ids) or dynamic (a tag
// selector), named per tenant, used as a task's target.
#include <fmt/format.h>

#include "control/api/routes.h"
#include "control/targets/targets.h"

namespace hecs::control::api {
namespace json = boost::json;

namespace {

constexpr std::size_t kMaxMembers = 10000;

json::object group_json(const store::Group& g, std::optional<std::size_t> resolved) {
  json::array devices;
  for (const auto& d : g.devices) {
    devices.emplace_back(d);
  }
  json::object o{{"id", g.id},
                 {"name", g.name},
                 {"kind", g.selector.empty() ? "static" : "dynamic"},
                 {"selector", g.selector.empty() ? json::value(nullptr) : json::value(g.selector)},
                 {"devices", std::move(devices)},
                 {"created_at", format_time(g.created_at)}};
  if (resolved) {
    o["resolved"] = *resolved;
  }
  return o;
}

// name, and exactly one of selector and devices, from a POST or PUT body.
Result<store::Group> read_group(State& state, const std::string& tenant, const std::string& text) {
  auto body = Body::parse(text, {"name", "selector", "devices"});
  if (!body) {
    return tl::unexpected(body.error());
  }
  auto name = body->text("name", 64);
  auto selector = body->text("selector", 1024);
  if (!name || !selector) {
    return tl::unexpected(!name ? name.error() : selector.error());
  }
  if (!*name) {
    return fail(Errc::invalid_input, "name: required");
  }
  if (auto ok = check_name("name", **name); !ok) {
    return tl::unexpected(ok.error());
  }
  store::Group group;
  group.tenant_id = tenant;
  group.name = **name;
  const bool has_devices = body->has("devices");
  if (selector->has_value() == has_devices) {
    return fail(Errc::invalid_input, "give exactly one of selector and devices");
  }
  if (*selector) {
    auto parsed = targets::parse_selector(**selector);
    if (!parsed) {
      return fail(Errc::invalid_input, "selector: " + parsed.error().message);
    }
    group.selector = targets::to_string(*parsed);
    return group;
  }
  const auto* devices = body->raw().at("devices").if_array();
  if (devices == nullptr || devices->size() > kMaxMembers) {
    return fail(Errc::invalid_input,
                fmt::format("devices: expected an array of at most {} device ids", kMaxMembers));
  }
  tasks::Target target;
  for (const auto& d : *devices) {
    if (!d.is_string()) {
      return fail(Errc::invalid_input, "devices: expected an array of device ids");
    }
    target.devices.emplace_back(d.get_string());
  }
  if (!target.devices.empty()) {
    // Each must be a device of this tenant: the same check (and message) as a task's target.
    auto resolved = state.deps.tasks->resolve(tenant, target);
    if (!resolved) {
      auto e = resolved.error();
      if (e.message.rfind("target.", 0) == 0) {
        e.message.erase(0, 7);
      }
      return tl::unexpected(e);
    }
  }
  std::sort(target.devices.begin(), target.devices.end());
  target.devices.erase(std::unique(target.devices.begin(), target.devices.end()),
                       target.devices.end());
  group.devices = std::move(target.devices);
  return group;
}

std::optional<std::size_t> resolved_count(State& state, const store::Group& g) {
  tasks::Target target;
  target.group = g.name;
  auto r = state.deps.tasks->resolve(g.tenant_id, target);
  return r ? std::optional<std::size_t>(r->size()) : std::nullopt;
}

net::Response unavailable() {
  return net::problem(503, "unavailable", "groups are not available on this server");
}

Result<store::Group> find_group(State& state, Call& call) {
  const std::string& id = call.param("id");
  if (!is_uuid(id) || state.deps.groups == nullptr) {
    return fail(Errc::not_found, "no group with this id");
  }
  return state.deps.groups->get(call.who->tenant_id, id);
}

}  // namespace

void add_group_routes(Router& router, State& state) {
  router.add({"GET",
              "/api/v1/groups",
              needs(auth::Role::viewer),
              "groups.list",
              [&state](Call& call) {
                if (state.deps.groups == nullptr) {
                  return unavailable();
                }
                auto groups = state.deps.groups->list(call.who->tenant_id);
                if (!groups) {
                  return problem_from(groups.error());
                }
                json::array items;
                for (const auto& g : *groups) {
                  items.push_back(group_json(g, std::nullopt));
                }
                return json_response(json::object{{"items", std::move(items)}});
              },
              {"The tenant's device groups", "", "GroupList"}});
  router.add({"POST",
              "/api/v1/groups",
              needs(auth::Role::operator_),
              "groups.create",
              [&state](Call& call) {
                if (state.deps.groups == nullptr || state.deps.tasks == nullptr) {
                  return unavailable();
                }
                auto group = read_group(state, call.who->tenant_id, call.req.body);
                if (!group) {
                  return problem_from(group.error());
                }
                group->id = random_uuid();
                group->created_at = state.deps.clock.now_ms();
                if (auto made = state.deps.groups->create(*group); !made) {
                  return problem_from(made.error());
                }
                call.audit_target = group->id;
                call.audit_detail = json::object{{"name", group->name}};
                return json_response(group_json(*group, resolved_count(state, *group)), 201);
              },
              {"Create a static or dynamic group", "GroupSpec", "Group", 201}});
  router.add({"GET",
              "/api/v1/groups/{id}",
              needs(auth::Role::viewer),
              "groups.get",
              [&state](Call& call) {
                auto group = find_group(state, call);
                if (!group) {
                  return problem_from(group.error());
                }
                return json_response(group_json(*group, resolved_count(state, *group)));
              },
              {"A group, with how many accepted devices it resolves to now", "", "Group"}});
  router.add({"PUT",
              "/api/v1/groups/{id}",
              needs(auth::Role::operator_),
              "groups.update",
              [&state](Call& call) {
                auto old = find_group(state, call);
                if (!old) {
                  return problem_from(old.error());
                }
                auto group = read_group(state, call.who->tenant_id, call.req.body);
                if (!group) {
                  return problem_from(group.error());
                }
                group->id = old->id;
                group->created_at = old->created_at;
                if (auto r = state.deps.groups->update(*group); !r) {
                  return problem_from(r.error());
                }
                call.audit_target = group->id;
                return json_response(group_json(*group, resolved_count(state, *group)));
              },
              {"Replace a group's name and members", "GroupSpec", "Group"}});
  router.add({"DELETE",
              "/api/v1/groups/{id}",
              needs(auth::Role::operator_),
              "groups.delete",
              [&state](Call& call) {
                auto group = find_group(state, call);
                if (!group) {
                  return problem_from(group.error());
                }
                if (auto r = state.deps.groups->remove(call.who->tenant_id, group->id); !r) {
                  return problem_from(r.error());
                }
                call.audit_target = group->id;
                return no_content();
              },
              {"Delete a group (tasks already made keep their runs)", "", "", 204}});
}

}  // namespace hecs::control::api
