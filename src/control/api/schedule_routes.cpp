// Cron schedules (docs/tasks.md, "Schedules"): a task body fired at each time of a cron
// expression in a time zone, with a policy for fires missed while the control plane was down.
#include <charconv>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "control/api/routes.h"

namespace hecs::control::api {
namespace json = boost::json;

namespace {

json::object schedule_json(const store::ScheduleRow& s) {
  boost::system::error_code ec;
  auto task = json::parse(s.task, ec);
  return json::object{
      {"id", s.id},
      {"name", s.name},
      {"cron", s.cron},
      {"timezone", s.timezone},
      {"missed", s.missed},
      {"max_catchup", s.max_catchup},
      {"enabled", s.enabled},
      {"task", ec ? json::value(nullptr) : task},
      {"next_fire", optional_time(s.next_fire)},
      {"last_fire", optional_time(s.last_fire)},
      {"last_task", s.last_task.empty() ? json::value(nullptr) : json::value(s.last_task)},
      {"last_error", s.last_error},
      {"created_at", format_time(s.created_at)},
      {"created_by", s.created_by}};
}

// Reads a POST body, or a PATCH body over `base`.
Result<store::ScheduleRow> read_schedule(State& state, const Call& call, store::ScheduleRow base,
                                         bool patch) {
  auto body = Body::parse(call.req.body,
                          {"name", "cron", "timezone", "missed", "max_catchup", "enabled", "task"});
  if (!body) {
    return tl::unexpected(body.error());
  }
  auto name = body->text("name", 64);
  auto cron = body->text("cron", 256);
  auto tz = body->text("timezone", 64);
  auto missed = body->text("missed", 8);
  auto catchup = body->integer("max_catchup", 1, 100);
  auto enabled = body->boolean("enabled");
  if (!name || !cron || !tz || !missed || !catchup || !enabled) {
    return tl::unexpected(!name      ? name.error()
                          : !cron    ? cron.error()
                          : !tz      ? tz.error()
                          : !missed  ? missed.error()
                          : !catchup ? catchup.error()
                                     : enabled.error());
  }
  if (!patch && (!*name || !*cron || !body->has("task"))) {
    return fail(Errc::invalid_input, "name, cron and task are required");
  }
  if (*name) {
    if (auto ok = check_name("name", **name); !ok) {
      return tl::unexpected(ok.error());
    }
    base.name = **name;
  }
  if (*cron) {
    base.cron = **cron;
  }
  if (*tz) {
    base.timezone = **tz;
  }
  if (*missed) {
    if (**missed != "skip" && **missed != "once" && **missed != "all") {
      return fail(Errc::invalid_input, "missed: expected skip, once or all");
    }
    base.missed = **missed;
  }
  if (*catchup) {
    base.max_catchup = static_cast<int>(**catchup);
  }
  if (*enabled) {
    base.enabled = **enabled;
  }
  if (body->has("task")) {
    const auto* task = body->raw().at("task").if_object();
    if (task == nullptr) {
      return fail(Errc::invalid_input, "task: expected a task body (as POST /api/v1/tasks)");
    }
    auto text = json::serialize(*task);
    auto request = parse_task_request(text);
    if (!request) {
      return fail(Errc::invalid_input, "task." + request.error().message);
    }
    // The target must make sense now; it is resolved again at each fire.
    if (auto resolved = state.deps.tasks->resolve(call.who->tenant_id, request->target);
        !resolved) {
      return fail(Errc::invalid_input, "task." + resolved.error().message);
    }
    base.task = std::move(text);
  }
  auto next = tasks::Scheduler::next_fire(base.cron, base.timezone, state.deps.clock.now_ms());
  if (!next) {
    return tl::unexpected(next.error());
  }
  if (!*next) {
    return fail(Errc::invalid_input, "cron: never fires");
  }
  base.next_fire = base.enabled ? *next : std::nullopt;
  return base;
}

Result<store::ScheduleRow> find_schedule(State& state, Call& call) {
  const std::string& id = call.param("id");
  if (!is_uuid(id) || state.deps.schedules == nullptr) {
    return fail(Errc::not_found, "no schedule with this id");
  }
  return state.deps.schedules->get(call.who->tenant_id, id);
}

constexpr std::int64_t kPreviewDefault = 5;
constexpr std::int64_t kPreviewMax = 20;

// GET /api/v1/schedules/preview: the next fires of a cron expression, by the code that
// schedules use (Scheduler::next_fire), so that a form shows what the server will do.
net::Response preview(State& state, const Call& call) {
  std::string cron;
  std::string timezone = "UTC";
  std::int64_t count = kPreviewDefault;
  bool has_cron = false;
  for (const auto& [key, value] : call.req.query) {
    if (key == "cron") {
      cron = value;
      has_cron = true;
    } else if (key == "timezone") {
      timezone = value;
    } else if (key == "count") {
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), count);
      if (ec != std::errc() || p != value.data() + value.size() || count < 1 ||
          count > kPreviewMax) {
        return problem_from(
            Error{Errc::invalid_input, fmt::format("count: expected 1..{}", kPreviewMax)});
      }
    } else {
      return problem_from(
          Error{Errc::invalid_input, fmt::format("bad query parameter '{}'", key.substr(0, 64))});
    }
  }
  if (!has_cron) {
    return problem_from(Error{Errc::invalid_input, "cron: required"});
  }
  json::array next;
  std::int64_t after = state.deps.clock.now_ms();
  while (static_cast<std::int64_t>(next.size()) < count) {
    auto fire = tasks::Scheduler::next_fire(cron, timezone, after);
    if (!fire) {
      return problem_from(fire.error());
    }
    if (!*fire) {
      if (next.empty()) {
        return problem_from(Error{Errc::invalid_input, "cron: never fires"});
      }
      break;
    }
    next.emplace_back(format_time(**fire));
    after = **fire;
  }
  return json_response(json::object{{"next", std::move(next)}});
}

net::Response unavailable() {
  return net::problem(503, "unavailable", "schedules are not available on this server");
}

}  // namespace

void add_schedule_routes(Router& router, State& state) {
  router.add({"GET",
              "/api/v1/schedules/preview",
              needs(auth::Role::viewer),
              "schedules.preview",
              [&state](Call& call) { return preview(state, call); },
              {"The next fire times of a cron expression in a time zone",
               "",
               "SchedulePreview",
               200,
               {"cron", "timezone", "count"}}});
  router.add({"GET",
              "/api/v1/schedules",
              needs(auth::Role::viewer),
              "schedules.list",
              [&state](Call& call) {
                if (state.deps.schedules == nullptr) {
                  return unavailable();
                }
                auto rows = state.deps.schedules->list(call.who->tenant_id);
                if (!rows) {
                  return problem_from(rows.error());
                }
                json::array items;
                for (const auto& s : *rows) {
                  items.push_back(schedule_json(s));
                }
                return json_response(json::object{{"items", std::move(items)}});
              },
              {"The tenant's schedules", "", "ScheduleList"}});
  router.add({"POST",
              "/api/v1/schedules",
              needs(auth::Role::operator_),
              "schedules.create",
              [&state](Call& call) {
                if (state.deps.schedules == nullptr || state.deps.tasks == nullptr) {
                  return unavailable();
                }
                store::ScheduleRow base;
                base.id = random_uuid();
                base.tenant_id = call.who->tenant_id;
                base.timezone = "UTC";
                base.missed = "skip";
                base.max_catchup = 10;
                base.created_at = state.deps.clock.now_ms();
                base.created_by = call.who->actor();
                auto row = read_schedule(state, call, std::move(base), false);
                if (!row) {
                  return problem_from(row.error());
                }
                if (auto made = state.deps.schedules->create(*row); !made) {
                  return problem_from(made.error());
                }
                call.audit_target = row->id;
                call.audit_detail = json::object{{"name", row->name}, {"cron", row->cron}};
                return json_response(schedule_json(*row), 201);
              },
              {"Create a cron schedule that fires a task", "ScheduleSpec", "Schedule", 201}});
  router.add({"GET",
              "/api/v1/schedules/{id}",
              needs(auth::Role::viewer),
              "schedules.get",
              [&state](Call& call) {
                auto row = find_schedule(state, call);
                if (!row) {
                  return problem_from(row.error());
                }
                return json_response(schedule_json(*row));
              },
              {"One schedule, with its next and last fire", "", "Schedule"}});
  router.add({"PATCH",
              "/api/v1/schedules/{id}",
              needs(auth::Role::operator_),
              "schedules.update",
              [&state](Call& call) {
                auto old = find_schedule(state, call);
                if (!old) {
                  return problem_from(old.error());
                }
                auto row = read_schedule(state, call, *old, true);
                if (!row) {
                  return problem_from(row.error());
                }
                if (auto r = state.deps.schedules->update(*row); !r) {
                  return problem_from(r.error());
                }
                call.audit_target = row->id;
                return json_response(schedule_json(*row));
              },
              {"Change a schedule (enabled: false pauses it)", "ScheduleSpec", "Schedule"}});
  router.add({"DELETE",
              "/api/v1/schedules/{id}",
              needs(auth::Role::operator_),
              "schedules.delete",
              [&state](Call& call) {
                auto row = find_schedule(state, call);
                if (!row) {
                  return problem_from(row.error());
                }
                if (auto r = state.deps.schedules->remove(call.who->tenant_id, row->id); !r) {
                  return problem_from(r.error());
                }
                call.audit_target = row->id;
                return no_content();
              },
              {"Delete a schedule (tasks it made stay)", "", "", 204}});
}

}  // namespace hecs::control::api
