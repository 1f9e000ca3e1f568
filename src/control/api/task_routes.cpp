// Creating and cancelling tasks, target previews and device tags (docs/tasks.md); the read
// side is in task_query_routes.cpp.
#include <charconv>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "control/api/routes.h"
#include "control/targets/targets.h"

namespace hecs::control::api {
namespace json = boost::json;

namespace {

constexpr std::size_t kPreviewShown = 20;     // devices a target preview names
constexpr std::size_t kMaxPreviewIds = 1000;  // ids a preview takes in its query

Result<std::vector<std::string>> string_array(const json::object& o, std::string_view key,
                                              std::size_t max) {
  std::vector<std::string> out;
  const auto* v = o.if_contains(key);
  if (v == nullptr) {
    return out;
  }
  const auto* a = v->if_array();
  if (a == nullptr) {
    return fail(Errc::invalid_input, fmt::format("{}: expected an array of strings", key));
  }
  if (a->size() > max) {
    return fail(Errc::invalid_input, fmt::format("{}: more than {} items", key, max));
  }
  for (const auto& item : *a) {
    if (!item.is_string()) {
      return fail(Errc::invalid_input, fmt::format("{}: expected an array of strings", key));
    }
    out.emplace_back(item.get_string());
  }
  return out;
}

}  // namespace

Result<tasks::TaskRequest> parse_task_request(const std::string& text) {
  auto body = Body::parse(text, {"target", "command", "env", "cwd", "user", "timeout_s",
                                 "output_cap_bytes", "deadline_s", "rate", "abort", "confirm"});
  if (!body) {
    return tl::unexpected(body.error());
  }
  tasks::TaskRequest request;
  auto target = body->object("target", {"devices", "group", "selector"});
  if (!target) {
    return tl::unexpected(target.error());
  }
  if (!*target) {
    return fail(Errc::invalid_input, "target: required");
  }
  auto ids = string_array(**target, "devices", 100000);
  if (!ids) {
    return fail(Errc::invalid_input, "target." + ids.error().message);
  }
  request.target.devices = std::move(*ids);
  for (auto [key, out] : {std::pair{"group", &request.target.group},
                          std::pair{"selector", &request.target.selector}}) {
    if (const auto* v = (*target)->if_contains(key)) {
      if (!v->is_string()) {
        return fail(Errc::invalid_input, fmt::format("target.{}: expected a string", key));
      }
      *out = std::string(v->get_string());
    }
  }
  if ((*target)->contains("devices") && request.target.devices.empty()) {
    return fail(Errc::invalid_input, "target.devices: must not be empty");
  }
  // The command and its options are read by the same parser the agent uses.
  json::object spec_body;
  spec_body["task"] = random_uuid();  // replaced by the service
  for (const char* key : {"command", "env", "cwd", "user", "timeout_s", "output_cap_bytes"}) {
    if (const auto* v = body->raw().if_contains(key)) {
      spec_body[key] = *v;
    }
  }
  if (!spec_body.contains("command")) {
    return fail(Errc::invalid_input, "command: required");
  }
  if (const auto* cmd = spec_body["command"].if_object(); cmd != nullptr && cmd->contains("argv") &&
                                                          cmd->at("argv").is_array() &&
                                                          cmd->at("argv").get_array().empty()) {
    return fail(Errc::invalid_input, "command.argv: must not be empty");
  }
  if (const auto* t = spec_body.if_contains("timeout_s");
      t != nullptr && t->is_int64() && t->get_int64() < 1) {
    return fail(Errc::invalid_input, "timeout_s: must be 1..86400");
  }
  auto spec = proto::parse_task(spec_body);
  if (!spec) {
    auto message = spec.error().message;
    if (message.rfind("body.", 0) == 0) {
      message.erase(0, 5);
    }
    return fail(Errc::invalid_input, message);
  }
  request.spec = std::move(*spec);
  auto deadline = body->integer("deadline_s", 60, 30LL * 86400);
  auto confirm = body->boolean("confirm");
  auto rate = body->object("rate", {"max_in_flight", "per_minute"});
  auto abort = body->object("abort", {"failure_percent", "min_finished"});
  if (!deadline || !confirm || !rate || !abort) {
    return tl::unexpected(!deadline  ? deadline.error()
                          : !confirm ? confirm.error()
                          : !rate    ? rate.error()
                                     : abort.error());
  }
  request.deadline_s = deadline->value_or(86400);
  request.confirm = confirm->value_or(false);
  auto int_member = [](const json::object& o, std::string_view key, std::int64_t min,
                       std::int64_t max, std::string_view path) -> Result<std::optional<int>> {
    const auto* v = o.if_contains(key);
    if (v == nullptr) {
      return std::optional<int>();
    }
    if (!v->is_int64() || v->get_int64() < min || v->get_int64() > max) {
      return fail(Errc::invalid_input,
                  fmt::format("{}.{}: expected an integer {}..{}", path, key, min, max));
    }
    return std::optional<int>(static_cast<int>(v->get_int64()));
  };
  if (*rate) {
    auto mif = int_member(**rate, "max_in_flight", 1, 10000, "rate");
    auto pm = int_member(**rate, "per_minute", 1, 100000, "rate");
    if (!mif || !pm) {
      return tl::unexpected(!mif ? mif.error() : pm.error());
    }
    request.max_in_flight = mif->value_or(0);
    request.per_minute = pm->value_or(0);
  }
  if (*abort) {
    auto percent = int_member(**abort, "failure_percent", 0, 100, "abort");
    auto min = int_member(**abort, "min_finished", 1, 100000, "abort");
    if (!percent || !min) {
      return tl::unexpected(!percent ? percent.error() : min.error());
    }
    if (!*percent) {
      return fail(Errc::invalid_input, "abort.failure_percent: required");
    }
    request.abort_percent = **percent;
    request.abort_min = min->value_or(1);
  }
  return request;
}

namespace {

// A target larger than tasks_confirm_above without "confirm": its own code, with the count,
// so that a client can ask its user and repeat the request confirmed.
net::Response confirmation_required(std::size_t devices, std::size_t confirm_above) {
  auto r =
      net::problem(400, "confirmation_required", "confirmation required",
                   fmt::format("target: {} devices, more than {}: repeat with \"confirm\": true",
                               devices, confirm_above));
  auto body = json::parse(r.body).as_object();
  body["devices"] = devices;
  body["confirm_above"] = confirm_above;
  r.body = json::serialize(body);
  return r;
}

net::Response create_task(State& state, Call& call) {
  auto request = parse_task_request(call.req.body);
  if (!request) {
    return problem_from(request.error());
  }
  if (!request->confirm) {
    auto resolved = state.deps.tasks->resolve(call.who->tenant_id, request->target);
    if (!resolved) {
      return problem_from(resolved.error());
    }
    const auto above = state.deps.tasks->limits().confirm_above;
    if (resolved->size() > above && resolved->size() <= state.deps.tasks->limits().max_targets) {
      return confirmation_required(resolved->size(), above);
    }
  }
  auto task = state.deps.tasks->create(call.who->tenant_id, call.who->actor(), std::move(*request));
  if (!task) {
    return problem_from(task.error());
  }
  call.audit_target = task->id;
  call.audit_detail = json::object{{"target", parse_or_null(task->target)},
                                   {"command", parse_or_null(task->spec).as_object()["command"]},
                                   {"devices", task->total}};
  return json_response(task_json(*task, nullptr), 201);
}

// GET /api/v1/targets?devices=a,b|group=g|selector=s: what a task with that target would hit.
net::Response preview_target(State& state, Call& call) {
  tasks::Target target;
  const auto* devices = call.req.query_param("devices");
  const auto* group = call.req.query_param("group");
  const auto* selector = call.req.query_param("selector");
  if ((devices != nullptr) + (group != nullptr) + (selector != nullptr) != 1) {
    return problem_from(
        Error{Errc::invalid_input, "give exactly one of devices, group and selector"});
  }
  if (devices != nullptr) {
    std::string_view rest = *devices;
    while (!rest.empty() && target.devices.size() <= kMaxPreviewIds) {
      const auto comma = rest.find(',');
      target.devices.emplace_back(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    if (target.devices.empty() || target.devices.size() > kMaxPreviewIds) {
      return problem_from(
          Error{Errc::invalid_input,
                fmt::format("devices: 1 to {} comma-separated ids", kMaxPreviewIds)});
    }
  }
  target.group = group != nullptr ? *group : "";
  target.selector = selector != nullptr ? *selector : "";
  auto resolved = state.deps.tasks->resolve(call.who->tenant_id, target);
  if (!resolved) {
    return problem_from(resolved.error());
  }
  json::array shown;
  for (std::size_t i = 0; i < resolved->size() && i < kPreviewShown; ++i) {
    auto device = state.deps.devices.get(call.who->tenant_id, (*resolved)[i]);
    if (!device) {
      return problem_from(device.error());
    }
    shown.push_back(json::object{
        {"id", device->id}, {"hostname", device->hostname}, {"online", device->online}});
  }
  const auto& limits = state.deps.tasks->limits();
  return json_response(json::object{{"count", resolved->size()},
                                    {"devices", std::move(shown)},
                                    {"confirm_required", resolved->size() > limits.confirm_above},
                                    {"confirm_above", limits.confirm_above},
                                    {"max_targets", limits.max_targets}});
}

net::Response cancel_task(State& state, Call& call, bool one) {
  auto task = find_task(state, call);
  if (!task) {
    return problem_from(task.error());
  }
  std::optional<std::string> device;
  if (one) {
    device = call.param("device");
    if (!is_uuid(*device)) {
      return problem_from(Error{Errc::not_found, "no run for this device"});
    }
  }
  auto n = state.deps.tasks->cancel(call.who->tenant_id, task->id, device);
  if (!n) {
    return problem_from(n.error());
  }
  if (one && *n == 0) {
    return problem_from(Error{Errc::conflict, "this run has already ended"});
  }
  call.audit_target = device ? task->id + "/" + *device : task->id;
  auto counts = state.deps.task_store->counts(task->id);
  auto fresh = state.deps.task_store->get(call.who->tenant_id, task->id);
  return json_response(task_json(fresh ? *fresh : *task, counts ? &*counts : nullptr));
}

}  // namespace

Result<store::TaskRow> find_task(State& state, Call& call) {
  const std::string& id = call.param("id");
  if (!is_uuid(id) || state.deps.task_store == nullptr) {
    return fail(Errc::not_found, "no task with this id");
  }
  return state.deps.task_store->get(call.who->tenant_id, id);
}

void add_task_routes(Router& router, State& state) {
  router.add({"POST",
              "/api/v1/tasks",
              needs(auth::Role::operator_),
              "tasks.create",
              [&state](Call& call) {
                return state.deps.tasks == nullptr ? no_tasks() : create_task(state, call);
              },
              {"Run a command, script or builtin on devices", "TaskRequest", "Task", 201}});
  add_task_query_routes(router, state);
  router.add({"GET",
              "/api/v1/targets",
              needs(auth::Role::viewer),
              "targets.preview",
              [&state](Call& call) {
                return state.deps.tasks == nullptr ? no_tasks() : preview_target(state, call);
              },
              {"The accepted devices a task target resolves to now: the count and the first 20",
               "",
               "TargetPreview",
               200,
               {"devices", "group", "selector"}}});
  router.add({"POST",
              "/api/v1/tasks/{id}/cancel",
              needs(auth::Role::operator_),
              "tasks.cancel",
              [&state](Call& call) { return cancel_task(state, call, false); },
              {"Cancel every unfinished run of a task", "", "Task"}});
  router.add({"POST",
              "/api/v1/tasks/{id}/runs/{device}/cancel",
              needs(auth::Role::operator_),
              "tasks.cancel_run",
              [&state](Call& call) { return cancel_task(state, call, true); },
              {"Cancel one device's run", "", "Task"}});
  router.add({"PUT",
              "/api/v1/devices/{id}/tags",
              needs(auth::Role::operator_),
              "devices.tag",
              [&state](Call& call) {
                auto body = Body::parse(call.req.body, {"tags"});
                if (!body) {
                  return problem_from(body.error());
                }
                auto texts = string_array(body->raw(), "tags", 64);
                if (!texts) {
                  return problem_from(texts.error());
                }
                auto tags = targets::parse_tags(*texts);
                if (!tags) {
                  return problem_from(Error{Errc::invalid_input, "tags: " + tags.error().message});
                }
                json::array out;
                for (const auto& t : *tags) {
                  out.emplace_back(targets::to_string(t));
                }
                const std::string& id = call.param("id");
                auto set = is_uuid(id) ? state.deps.devices.set_tags(call.who->tenant_id, id,
                                                                     json::serialize(out))
                                       : Result<void>(fail(Errc::not_found, "no such device"));
                if (!set) {
                  return problem_from(set.error());
                }
                call.audit_target = id;
                call.audit_detail = json::object{{"tags", out}};
                return json_response(json::object{{"id", id}, {"tags", std::move(out)}});
              },
              {"Replace a device's tags", "Tags", "DeviceTags"}});
}

}  // namespace hecs::control::api
