// The task side of the hecs-control REST API that hecsctl drives (docs/tasks.md): create, list,
// show and cancel tasks, page through their runs, read a run's output.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "cli/api.h"
#include "common/result.h"

namespace hecs::cli {

// The run states that never change again, in the order hecsctl lists them.
inline constexpr std::string_view kFinalRunStates[] = {"succeeded",   "failed",  "timed_out",
                                                       "interrupted", "expired", "cancelled"};
bool is_final_run_state(std::string_view state);

// GET /api/v1/tasks/{id}/runs filters; empty for none.
struct RunQuery {
  std::string state{};
  std::string device{};
  std::string after{};  // a previous page's "next"
  int limit = 0;        // 0: the server's default (100); at most 500
};

// "/api/v1/tasks/<id>/runs?limit=500&state=failed" with each value percent-encoded.
std::string runs_target(std::string_view task_id, const RunQuery& query);

// Borrows the client, which must outlive it. Errors: those of call_api() (api.h); a 2xx answer
// without the members named below is Errc::corrupt.
class TasksApi {
 public:
  explicit TasksApi(HttpClient& http) : http_(http) {}

  // POST /tasks: the new task (with "id"). Errc::invalid_input for a spec or target the server
  // refuses. When the refusal is a target larger than tasks_confirm_above sent without
  // "confirm" (problem code "confirmation_required"), *confirm_devices (when given) is set to
  // the target's size, 0 if the server did not say.
  Result<boost::json::value> create(const boost::json::value& request,
                                    std::optional<std::int64_t>* confirm_devices = nullptr);
  // One page, newest first: {"items":[task],"next":id|null}; `after` is a previous "next".
  Result<boost::json::value> list(std::string_view state, std::string_view origin, int limit,
                                  std::string_view after);
  // The task with "counts" per run state.
  Result<boost::json::value> get(std::string_view id);
  // One page of runs in dispatch order: {"items":[run],"next":position|null}.
  Result<boost::json::value> runs_page(std::string_view id, const RunQuery& query);
  // Every page: {"items":[run]}.
  Result<boost::json::value> runs_all(std::string_view id, RunQuery query);
  // What the device's run wrote on `stream` ("stdout" or "stderr") so far, unescaped.
  // From byte `offset` of the stream on (the server cuts at it exactly).
  Result<std::string> output(std::string_view id, std::string_view device, std::string_view stream,
                             std::uint64_t offset = 0);
  // The bytes of the device's run artifact (collect-logs), unchecked: the caller compares
  // them with the run's artifact.sha256. Errc::conflict while it is incomplete or damaged.
  Result<std::string> artifact(std::string_view id, std::string_view device);
  // POST .../cancel for every unfinished run, or only `device`'s (Errc::conflict when it has
  // already ended): the task with its counts.
  Result<boost::json::value> cancel(std::string_view id, const std::optional<std::string>& device);

 private:
  HttpClient& http_;
};

}  // namespace hecs::cli
