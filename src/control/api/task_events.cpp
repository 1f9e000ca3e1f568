// GET /api/v1/tasks/{id}/events: a task's runs and output as server-sent events
// (docs/tasks.md, "Events"). The stream starts with the task and every run as they are, and the
// output stored so far; then it sends what changes, woken by tasks::Events, until no run is left
// unfinished.
#include <algorithm>
#include <map>

#include "control/api/hub_stream.h"
#include "control/api/routes.h"

namespace hecs::control::api {
namespace json = boost::json;

namespace {

constexpr std::size_t kOutputRowsPerPiece = 500;
// Runs are read again from a little before the last read: updates committed in the same
// millisecond by another writer are not missed (duplicates are filtered by their state).
constexpr std::int64_t kRunOverlapMs = 2000;

bool unfinished(const std::map<std::string, int>& counts) {
  for (const char* state : {"queued", "sent", "running"}) {
    if (auto it = counts.find(state); it != counts.end() && it->second > 0) {
      return true;
    }
  }
  return false;
}

class TaskEventStream final : public HubStream {
 public:
  TaskEventStream(State& state, std::string tenant, std::string task)
      : HubStream(state.deps.tasks->events(), std::move(task)),
        state_(state),
        tenant_(std::move(tenant)) {}

 private:
  bool ready() const override { return !started_ || more_; }
  bool finished() const override { return ended_; }

  // What changed since the last piece.
  std::string collect() override {
    started_ = true;
    auto& store = *state_.deps.task_store;
    std::string text;
    auto task = store.get(tenant_, task_);
    if (!task) {
      ended_ = true;
      return text;
    }
    auto counts = store.counts(task_);
    if (!sent_task_) {
      sent_task_ = true;
      text += sse_event(
          "task", json::object{{"id", task->id}, {"state", task->state}, {"total", task->total}});
    }
    const auto now = state_.deps.clock.now_ms();
    auto runs = store.runs_updated(task_, runs_since_ - kRunOverlapMs);
    if (runs) {
      runs_since_ = now;
      for (const auto& r : *runs) {
        auto& last = last_state_[r.device_id];
        if (last == r.state) {
          continue;
        }
        last = r.state;
        text += sse_event("run", json::object{{"device", r.device_id},
                                              {"state", r.state},
                                              {"exit_code", r.exit_code ? json::value(*r.exit_code)
                                                                        : json::value(nullptr)},
                                              {"error", r.error},
                                              {"truncated", r.truncated}});
      }
    }
    auto output = store.output_since(task_, output_after_, kOutputRowsPerPiece);
    more_ = false;
    if (output) {
      for (const auto& o : *output) {
        output_after_ = std::max(output_after_, o.id);
        text += sse_event("output", json::object{{"device", o.device_id},
                                                 {"stream", o.stream == 1 ? "stderr" : "stdout"},
                                                 {"offset", o.pos},
                                                 {"data", o.data}});
      }
      more_ = output->size() == kOutputRowsPerPiece;
    }
    if (!more_ && counts && !unfinished(*counts) && task->state != "running") {
      text += sse_event("end", json::object{{"state", task->state}});
      ended_ = true;
    }
    return text;
  }

  State& state_;
  const std::string tenant_;
  const std::string& task_ = key_;
  bool started_ = false, ended_ = false, more_ = false, sent_task_ = false;
  std::int64_t runs_since_ = 0;  // 0: every run, the first time
  std::int64_t output_after_ = 0;
  std::map<std::string, std::string> last_state_;
};

}  // namespace

void add_task_event_route(Router& router, State& state) {
  router.add({"GET",
              "/api/v1/tasks/{id}/events",
              needs(auth::Role::viewer),
              "tasks.events",
              [&state](Call& call) {
                const std::string& id = call.param("id");
                if (state.deps.tasks == nullptr || state.deps.task_store == nullptr ||
                    !is_uuid(id)) {
                  return problem_from(Error{Errc::not_found, "no task with this id"});
                }
                auto task = state.deps.task_store->get(call.who->tenant_id, id);
                if (!task) {
                  return problem_from(task.error());
                }
                net::Response r;
                r.content_type = "text/event-stream";
                r.stream = std::make_shared<TaskEventStream>(state, call.who->tenant_id, id);
                return r;
              },
              {"A task's runs and output as server-sent events, until it ends", "", ""}});
}

}  // namespace hecs::control::api
