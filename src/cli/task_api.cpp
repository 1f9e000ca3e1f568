#include "cli/task_api.h"

#include <algorithm>
#include <set>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/json_view.h"

namespace hecs::cli {

namespace json = boost::json;

namespace {

// A server that keeps inventing cursors must not keep us paging forever: 100000 devices is the
// most one task may have, 1000 pages of the largest size.
constexpr int kMaxPages = 2000;

std::string task_path(std::string_view id) { return "/api/v1/tasks/" + url_encode(id); }

Result<json::value> with_items(HttpClient& http, Result<json::value> answer,
                               const std::string& target) {
  if (answer && get_array(*answer, "items") == nullptr) {
    return tl::unexpected(missing_member(http, target, "an \"items\" array"));
  }
  return answer;
}

}  // namespace

bool is_final_run_state(std::string_view state) {
  return std::find(std::begin(kFinalRunStates), std::end(kFinalRunStates), state) !=
         std::end(kFinalRunStates);
}

std::string runs_target(std::string_view task_id, const RunQuery& query) {
  std::string target = task_path(task_id) + "/runs";
  char sep = '?';
  auto add = [&](std::string_view key, std::string_view value) {
    if (!value.empty()) {
      target += fmt::format("{}{}={}", sep, key, url_encode(value));
      sep = '&';
    }
  };
  add("limit", query.limit > 0 ? std::to_string(query.limit) : "");
  add("after", query.after);
  add("state", query.state);
  add("device", query.device);
  return target;
}

Result<json::value> TasksApi::create(const json::value& request,
                                     std::optional<std::int64_t>* confirm_devices) {
  const std::string target = "/api/v1/tasks";
  json::value problem;
  auto task = call_api(http_, Method::post, target, &request, &problem);
  if (!task && confirm_devices != nullptr && task.error().code == Errc::invalid_input &&
      get_string(problem, "code") == std::optional<std::string_view>("confirmation_required")) {
    boost::system::error_code ec;
    const auto* devices = problem.as_object().if_contains("devices");
    const auto count = devices != nullptr ? devices->to_number<std::int64_t>(ec) : 0;
    *confirm_devices = devices != nullptr && !ec && count > 0 ? count : 0;
  }
  if (task && !get_string(*task, "id")) {
    return tl::unexpected(missing_member(http_, target, "an \"id\""));
  }
  return task;
}

Result<json::value> TasksApi::list(std::string_view state, std::string_view origin, int limit,
                                   std::string_view after) {
  std::string target = "/api/v1/tasks";
  char sep = '?';
  for (auto [key, value] : {std::pair<std::string_view, std::string>{"state", std::string(state)},
                            {"origin", std::string(origin)},
                            {"limit", limit > 0 ? std::to_string(limit) : ""},
                            {"after", std::string(after)}}) {
    if (!value.empty()) {
      target += fmt::format("{}{}={}", sep, key, url_encode(value));
      sep = '&';
    }
  }
  return with_items(http_, call_api(http_, Method::get, target), target);
}

Result<json::value> TasksApi::get(std::string_view id) {
  std::string target = task_path(id);
  auto task = call_api(http_, Method::get, target);
  if (task && get_object(*task, "counts") == nullptr) {
    return tl::unexpected(missing_member(http_, target, "a \"counts\" object"));
  }
  return task;
}

Result<json::value> TasksApi::runs_page(std::string_view id, const RunQuery& query) {
  std::string target = runs_target(id, query);
  return with_items(http_, call_api(http_, Method::get, target), target);
}

Result<json::value> TasksApi::runs_all(std::string_view id, RunQuery query) {
  json::array items;
  std::set<std::string> seen_cursors;
  for (int pages = 0; pages < kMaxPages; ++pages) {
    auto page = runs_page(id, query);
    if (!page) {
      return page;
    }
    for (const json::value& item : *get_array(*page, "items")) {
      items.push_back(item);
    }
    auto next = get_string(*page, "next");
    if (!next || next->empty()) {
      return json::value(json::object{{"items", std::move(items)}});
    }
    if (!seen_cursors.emplace(*next).second) {
      return fail(Errc::corrupt, "the server sent the same next cursor twice; stopped paging");
    }
    query.after = std::string(*next);
  }
  return fail(Errc::corrupt, fmt::format("more than {} pages of runs; stopped paging", kMaxPages));
}

Result<std::string> TasksApi::output(std::string_view id, std::string_view device,
                                     std::string_view stream, std::uint64_t offset) {
  std::string target = fmt::format("{}/runs/{}/output?stream={}", task_path(id), url_encode(device),
                                   url_encode(stream));
  if (offset > 0) {
    target += fmt::format("&offset={}", offset);
  }
  return call_text(http_, target);
}

Result<std::string> TasksApi::artifact(std::string_view id, std::string_view device) {
  return call_text(http_, fmt::format("{}/runs/{}/artifact", task_path(id), url_encode(device)));
}

Result<json::value> TasksApi::cancel(std::string_view id,
                                     const std::optional<std::string>& device) {
  std::string target = task_path(id);
  if (device) {
    target += "/runs/" + url_encode(*device);
  }
  target += "/cancel";
  return call_api(http_, Method::post, target);
}

}  // namespace hecs::cli
