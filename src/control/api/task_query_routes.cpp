// The read side of tasks (docs/tasks.md): the list, one task, its runs and their output.
#include <algorithm>
#include <array>
#include <charconv>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include "control/api/routes.h"

namespace hecs::control::api {
namespace json = boost::json;

namespace {

constexpr std::size_t kMaxPage = 500;

json::object counts_json(const std::map<std::string, int>& counts) {
  json::object o;
  for (const char* state : {"queued", "sent", "running", "succeeded", "failed", "timed_out",
                            "cancelled", "interrupted", "expired"}) {
    auto it = counts.find(state);
    o[state] = it == counts.end() ? 0 : it->second;
  }
  return o;
}

json::value optional_int(const std::optional<std::int64_t>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

constexpr std::array<std::string_view, 4> kTaskStates = {"running", "finished", "cancelled",
                                                         "aborted"};
constexpr std::array<std::string_view, 9> kRunStates = {"queued",    "sent",        "running",
                                                        "succeeded", "failed",      "timed_out",
                                                        "cancelled", "interrupted", "expired"};

// ?state=failed,timed_out: each a known name (they reach the SQL), at most all of them.
template <std::size_t N>
Result<std::vector<std::string>> state_list(const net::Request& req,
                                            const std::array<std::string_view, N>& known) {
  std::vector<std::string> out;
  const auto* text = req.query_param("state");
  if (text == nullptr || text->empty()) {
    return out;
  }
  std::string_view rest = *text;
  while (true) {
    const auto comma = rest.find(',');
    const auto name = rest.substr(0, comma);
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string names;
      for (auto k : known) {
        names += names.empty() ? std::string(k) : ", " + std::string(k);
      }
      return fail(Errc::invalid_input,
                  fmt::format("state: expected one or more of {}, comma-separated", names));
    }
    if (std::find(out.begin(), out.end(), name) == out.end()) {
      out.emplace_back(name);
    }
    if (comma == std::string_view::npos) {
      return out;
    }
    rest.remove_prefix(comma + 1);
  }
}

// ?offset=N: a byte offset into the stream, 0 when absent.
Result<std::int64_t> offset_param(const net::Request& req) {
  const auto* text = req.query_param("offset");
  if (text == nullptr) {
    return std::int64_t{0};
  }
  std::int64_t offset = -1;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), offset);
  if (ec != std::errc() || end != text->data() + text->size() || offset < 0) {
    return fail(Errc::invalid_input, "offset: expected a byte offset (0 or more)");
  }
  return offset;
}

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

}  // namespace

net::Response no_tasks() {
  return net::problem(503, "unavailable", "tasks are not available on this server");
}

json::value parse_or_null(const std::string& text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  return ec ? json::value(nullptr) : v;
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

void add_task_query_routes(Router& router, State& state) {
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
                auto states = state_list(call.req, kTaskStates);
                if (!states) {
                  return problem_from(states.error());
                }
                filter.states = std::move(*states);
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
                std::vector<std::string> ids;
                for (const auto& t : *list) {
                  ids.push_back(t.id);
                }
                auto counts = state.deps.task_store->counts_of(ids);
                if (!counts) {
                  return problem_from(counts.error());
                }
                json::array items;
                const std::map<std::string, int> none;
                for (const auto& t : *list) {
                  auto found = counts->find(t.id);
                  items.push_back(task_json(t, found == counts->end() ? &none : &found->second));
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
         auto states = state_list(call.req, kRunStates);
         if (!states) {
           return problem_from(states.error());
         }
         filter.states = std::move(*states);
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
         auto offset = offset_param(call.req);
         if (!offset) {
           return problem_from(offset.error());
         }
         // Pieces in stream order from the one holding the offset; a piece's pos is its byte
         // offset in the stream, so the text is cut to begin exactly at the offset.
         std::string text;
         std::int64_t next = *offset;
         for (;;) {
           auto rows = state.deps.task_store->output_from(call.who->tenant_id, task->id,
                                                          call.param("device"), which, next, 1000);
           if (!rows) {
             return problem_from(rows.error());
           }
           std::size_t used = 0;
           for (const auto& r : *rows) {
             const std::int64_t end = r.pos + static_cast<std::int64_t>(r.data.size());
             if (end <= next) {
               continue;  // the piece before the offset, or one already taken
             }
             const auto skip = static_cast<std::size_t>(std::max<std::int64_t>(0, next - r.pos));
             text.append(r.data, skip);
             next = end;
             ++used;
           }
           if (rows->size() < 1000 || used == 0) {
             break;
           }
         }
         net::Response r;
         r.content_type = "text/plain; charset=utf-8";
         r.headers.emplace_back("X-Next-Offset", std::to_string(next));
         r.body = std::move(text);
         return r;
       },
       {"What a device's run wrote to stdout or stderr, as text, from a byte offset",
        "",
        "",
        200,
        {"stream", "offset"}}});
}

}  // namespace hecs::control::api
