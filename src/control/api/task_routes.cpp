// Tasks, their runs and output, groups and device tags (docs/tasks.md).
#include <charconv>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "control/api/routes.h"
#include "control/targets/targets.h"

namespace hecs::control::api {
namespace json = boost::json;

namespace {

constexpr std::size_t kMaxPage = 500;

net::Response no_tasks() {
  return net::problem(503, "unavailable", "tasks are not available on this server");
}

json::value parse_or_null(const std::string& text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  return ec ? json::value(nullptr) : v;
}

json::object counts_json(const std::map<std::string, int>& counts) {
  json::object o;
  for (const char* state : {"queued", "sent", "running", "succeeded", "failed", "timed_out",
                            "cancelled", "interrupted", "expired"}) {
    auto it = counts.find(state);
    o[state] = it == counts.end() ? 0 : it->second;
  }
  return o;
}

json::object task_json(const store::TaskRow& t, const std::map<std::string, int>* counts) {
  json::object o{{"id", t.id},
                 {"state", t.state},
                 {"created_at", format_time(t.created_at)},
                 {"created_by", t.created_by},
                 {"expires_at", format_time(t.expires_at)},
                 {"finished_at", optional_time(t.finished_at)},
                 {"target", parse_or_null(t.target)},
                 {"spec", parse_or_null(t.spec)},
                 {"total", t.total}};
  json::object rate;
  if (t.max_in_flight > 0) {
    rate["max_in_flight"] = t.max_in_flight;
  }
  if (t.per_minute > 0) {
    rate["per_minute"] = t.per_minute;
  }
  o["rate"] = std::move(rate);
  o["abort"] = t.abort_percent >= 0 ? json::value(json::object{{"failure_percent", t.abort_percent},
                                                               {"min_finished", t.abort_min}})
                                    : json::value(nullptr);
  o["origin"] = t.origin;
  if (!t.schedule_id.empty()) {
    o["schedule_id"] = t.schedule_id;
  }
  if (counts != nullptr) {
    o["counts"] = counts_json(*counts);
  }
  return o;
}

json::value optional_int(const std::optional<std::int64_t>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

json::object run_json(const store::RunRow& r, const store::ArtifactRow* artifact) {
  json::value a = nullptr;
  if (artifact != nullptr) {
    a = artifact_json(*artifact);
  }
  return json::object{{"device", r.device_id},
                      {"artifact", std::move(a)},
                      {"state", r.state},
                      {"position", r.position},
                      {"cancel_requested", r.cancel_requested},
                      {"sent_at", optional_time(r.sent_at)},
                      {"started_at", optional_time(r.started_at)},
                      {"ended_at", optional_time(r.ended_at)},
                      {"exit_code", optional_int(r.exit_code)},
                      {"signal", optional_int(r.signal)},
                      {"error", r.error},
                      {"stdout_bytes", r.stdout_bytes},
                      {"stderr_bytes", r.stderr_bytes},
                      {"truncated", r.truncated}};
}

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

// limit and after from the query; Errc::invalid_input for a bad value.
Result<std::pair<std::size_t, std::string>> page_params(const net::Request& req,
                                                        std::size_t fallback) {
  std::size_t limit = fallback;
  std::string after;
  if (const auto* l = req.query_param("limit")) {
    char* end = nullptr;
    const auto n = std::strtoll(l->c_str(), &end, 10);
    if (l->empty() || *end != '\0' || n < 1 || n > static_cast<long long>(kMaxPage)) {
      return fail(Errc::invalid_input, fmt::format("limit must be 1..{}", kMaxPage));
    }
    limit = static_cast<std::size_t>(n);
  }
  if (const auto* a = req.query_param("after")) {
    after = *a;
  }
  return std::pair{limit, after};
}

net::Response create_task(State& state, Call& call) {
  auto request = parse_task_request(call.req.body);
  if (!request) {
    return problem_from(request.error());
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
  router.add({"GET",
              "/api/v1/tasks",
              needs(auth::Role::viewer),
              "tasks.list",
              [&state](Call& call) {
                if (state.deps.task_store == nullptr) {
                  return no_tasks();
                }
                auto page = page_params(call.req, 50);
                if (!page) {
                  return problem_from(page.error());
                }
                store::TaskFilter filter;
                filter.limit = page->first;
                filter.after = page->second;
                if (const auto* s = call.req.query_param("state")) {
                  filter.state = *s;
                }
                if (const auto* o = call.req.query_param("origin")) {
                  if (*o != "api" && *o != "schedule" && *o != "local-schedule") {
                    return problem_from(Error{Errc::invalid_input,
                                              "origin: expected api, schedule or local-schedule"});
                  }
                  filter.origin = *o;
                }
                if (!filter.after.empty() && !is_uuid(filter.after)) {
                  return problem_from(Error{Errc::invalid_input, "after: expected a task id"});
                }
                auto list = state.deps.task_store->list(call.who->tenant_id, filter);
                if (!list) {
                  return problem_from(list.error());
                }
                json::array items;
                for (const auto& t : *list) {
                  auto counts = state.deps.task_store->counts(t.id);
                  items.push_back(task_json(t, counts ? &*counts : nullptr));
                }
                json::value next = list->size() == filter.limit && !list->empty()
                                       ? json::value(list->back().id)
                                       : json::value(nullptr);
                return json_response(json::object{{"items", std::move(items)}, {"next", next}});
              },
              {"The tenant's tasks, newest first",
               "",
               "TaskPage",
               200,
               {"limit", "after", "state", "origin"}}});
  router.add({"GET",
              "/api/v1/tasks/{id}",
              needs(auth::Role::viewer),
              "tasks.get",
              [&state](Call& call) {
                auto task = find_task(state, call);
                if (!task) {
                  return problem_from(task.error());
                }
                auto counts = state.deps.task_store->counts(task->id);
                return json_response(task_json(*task, counts ? &*counts : nullptr));
              },
              {"A task with its counts per run state", "", "Task"}});
  router.add(
      {"GET",
       "/api/v1/tasks/{id}/runs",
       needs(auth::Role::viewer),
       "tasks.runs",
       [&state](Call& call) {
         auto task = find_task(state, call);
         if (!task) {
           return problem_from(task.error());
         }
         auto page = page_params(call.req, 100);
         if (!page) {
           return problem_from(page.error());
         }
         store::RunFilter filter;
         filter.limit = page->first;
         if (!page->second.empty()) {
           const auto& text = page->second;
           int position = -1;
           auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), position);
           if (ec != std::errc() || end != text.data() + text.size() || position < 0) {
             return problem_from(
                 Error{Errc::invalid_input, "after: expected a position (the \"next\" of a page)"});
           }
           filter.after_position = position;
         }
         if (const auto* s = call.req.query_param("state")) {
           filter.state = *s;
         }
         if (const auto* d = call.req.query_param("device")) {
           filter.device = *d;
         }
         auto runs = state.deps.task_store->runs(call.who->tenant_id, task->id, filter);
         if (!runs) {
           return problem_from(runs.error());
         }
         auto artifacts = state.deps.task_store->artifacts(call.who->tenant_id, task->id);
         if (!artifacts) {
           return problem_from(artifacts.error());
         }
         json::array items;
         for (const auto& r : *runs) {
           auto found = artifacts->find(r.device_id);
           items.push_back(run_json(r, found == artifacts->end() ? nullptr : &found->second));
         }
         json::value next = runs->size() == filter.limit && !runs->empty()
                                ? json::value(std::to_string(runs->back().position))
                                : json::value(nullptr);
         return json_response(json::object{{"items", std::move(items)}, {"next", next}});
       },
       {"The runs of a task, in dispatch order",
        "",
        "RunPage",
        200,
        {"limit", "after", "state", "device"}}});
  router.add(
      {"GET",
       "/api/v1/tasks/{id}/runs/{device}/output",
       needs(auth::Role::viewer),
       "tasks.output",
       [&state](Call& call) {
         auto task = find_task(state, call);
         if (!task) {
           return problem_from(task.error());
         }
         store::RunFilter one;
         one.device = call.param("device");
         one.limit = 1;
         auto run = state.deps.task_store->runs(call.who->tenant_id, task->id, one);
         if (!run) {
           return problem_from(run.error());
         }
         if (run->empty()) {
           return problem_from(Error{Errc::not_found, "no run of this task on that device"});
         }
         const auto* stream = call.req.query_param("stream");
         int which = 0;
         if (stream != nullptr && *stream == "stderr") {
           which = 1;
         } else if (stream != nullptr && *stream != "stdout") {
           return problem_from(Error{Errc::invalid_input, "stream: expected stdout or stderr"});
         }
         std::string text;
         std::int64_t after = 0;
         for (;;) {
           auto rows = state.deps.task_store->output(call.who->tenant_id, task->id,
                                                     call.param("device"), which, after, 1000);
           if (!rows) {
             return problem_from(rows.error());
           }
           for (const auto& r : *rows) {
             text += r.data;
             after = std::max(after, r.id);
           }
           if (rows->size() < 1000) {
             break;
           }
         }
         net::Response r;
         r.content_type = "text/plain; charset=utf-8";
         r.body = std::move(text);
         return r;
       },
       {"What a device's run wrote to stdout or stderr, as text", "", "", 200, {"stream"}}});
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
