// Task results (proto.h, last section; docs/tasks.md): the up/result body (a state, a piece of
// output or of an artifact) and the names of the run states.
#include <array>
#include <utility>

#include <fmt/format.h>

#include "common/clock.h"
#include "proto/json_read.h"
#include "proto/proto.h"

namespace hecs::proto {
namespace {

using detail::read_string;
using detail::read_uint;

constexpr std::array<std::string_view, 9> kStateNames = {"queued",    "sent",        "running",
                                                         "succeeded", "failed",      "timed_out",
                                                         "cancelled", "interrupted", "expired"};

tl::unexpected<Error> invalid(std::string message) {
  return fail(Errc::invalid_input, std::move(message));
}

}  // namespace

std::string_view run_state_name(RunState state) {
  return kStateNames.at(static_cast<std::size_t>(state));
}

Result<RunState> parse_run_state(std::string_view name) {
  for (std::size_t i = 0; i < kStateNames.size(); ++i) {
    if (kStateNames[i] == name) {
      return static_cast<RunState>(i);
    }
  }
  return invalid(
      fmt::format("unknown run state (expected one of queued, sent, running, "
                  "succeeded, failed, timed_out, cancelled, interrupted, expired)"));
}

bool is_final(RunState state) {
  return state != RunState::queued && state != RunState::sent && state != RunState::running;
}

Result<TaskResult> parse_task_result(const boost::json::object& body) {
  TaskResult result;
  auto task = read_string(body, "task", "body", true);
  if (!task) {
    return tl::unexpected(task.error());
  }
  if (!is_uuid(*task)) {
    return invalid("body.task: expected a UUID");
  }
  result.task = std::move(*task);
  if (const auto* local = body.if_contains("local")) {
    if (!local->is_object()) {
      return invalid("body.local: expected an object");
    }
    auto run = parse_local_run(local->get_object());
    if (!run) {
      return tl::unexpected(run.error());
    }
    result.local = std::move(*run);
  }
  if (const auto* a = body.if_contains("artifact")) {
    if (body.contains("state") || body.contains("output")) {
      return invalid("body: an artifact comes alone, without state or output");
    }
    const auto* o = a->if_object();
    if (o == nullptr) {
      return invalid("body.artifact: expected an object");
    }
    auto chunk = parse_artifact_chunk(*o);
    if (!chunk) {
      return tl::unexpected(chunk.error());
    }
    result.artifact = std::move(*chunk);
    return result;
  }
  const bool has_state = body.contains("state");
  const bool has_output = body.contains("output");
  if (!has_state && !has_output) {
    return invalid("body: expected state, output or both");
  }
  if (has_output) {
    const auto* o = body.at("output").if_object();
    if (o == nullptr) {
      return invalid("body.output: expected an object");
    }
    OutputChunk chunk;
    auto stream = read_string(*o, "stream", "body.output", true);
    auto data = read_string(*o, "data", "body.output", true);
    auto offset = read_uint(*o, "offset", "body.output", UINT64_MAX);
    if (!stream || !data || !offset) {
      return tl::unexpected(!stream ? stream.error() : !data ? data.error() : offset.error());
    }
    if (*stream != "stdout" && *stream != "stderr") {
      return invalid("body.output.stream: expected stdout or stderr");
    }
    if (*offset > kMaxOutputCap * 2) {
      return invalid("body.output.offset: missing or out of range");
    }
    // The marker that follows capped output makes a chunk slightly larger than the raw limit.
    if (data->empty() || data->size() > kMaxOutputChunkBytes * 4) {
      return invalid("body.output.data: empty or too long");
    }
    chunk.stream = std::move(*stream);
    chunk.offset = *offset;
    chunk.data = std::move(*data);
    result.output = std::move(chunk);
    if (!has_state) {
      return result;
    }
  }
  auto state_name = read_string(body, "state", "body", true);
  if (!state_name) {
    return tl::unexpected(state_name.error());
  }
  auto state = parse_run_state(*state_name);
  if (!state || *state == RunState::queued || *state == RunState::sent) {
    return invalid("body.state: expected running or a final state");
  }
  result.state = *state;
  detail::ObjectReader r(body, "body");
  if (body.contains("started_at")) {
    r.read("started_at", result.started_at);
  }
  if (body.contains("ended_at")) {
    r.read("ended_at", result.ended_at);
  }
  if (body.contains("stdout_bytes")) {
    r.read("stdout_bytes", result.stdout_bytes);
  }
  if (body.contains("stderr_bytes")) {
    r.read("stderr_bytes", result.stderr_bytes);
  }
  for (auto [key, out] :
       {std::pair{"exit_code", &result.exit_code}, std::pair{"signal", &result.signal}}) {
    if (const auto* v = body.if_contains(key); v != nullptr && !v->is_null()) {
      std::int64_t value = 0;
      r.read(key, value);
      *out = value;
    }
  }
  if (!r.ok()) {
    return tl::unexpected(r.result().error());
  }
  if (const auto* v = body.if_contains("truncated")) {
    if (!v->is_bool()) {
      return invalid("body.truncated: expected a boolean");
    }
    result.truncated = v->get_bool();
  }
  auto error = read_string(body, "error", "body", false);
  if (!error) {
    return tl::unexpected(error.error());
  }
  if (error->size() > kMaxErrorBytes) {
    error->resize(kMaxErrorBytes);  // a long reason is cut, not a reason to lose the result
  }
  result.error = std::move(*error);
  if (result.started_at < 0 || result.ended_at < 0) {
    return invalid("body.started_at: must not be negative");
  }
  return result;
}

boost::json::object to_json(const TaskResult& result) {
  boost::json::object body;
  body["task"] = result.task;
  if (result.local) {
    body["local"] = to_json(*result.local);
  }
  if (result.artifact) {
    body["artifact"] = to_json(*result.artifact);
    return body;
  }
  if (result.output) {
    boost::json::object o;
    o["stream"] = result.output->stream;
    o["offset"] = result.output->offset;
    o["data"] = result.output->data;
    body["output"] = std::move(o);
  }
  if (!result.state) {
    return body;
  }
  body["state"] = run_state_name(*result.state);
  if (result.started_at > 0) {
    body["started_at"] = result.started_at;
  }
  if (result.ended_at > 0) {
    body["ended_at"] = result.ended_at;
  }
  if (result.exit_code) {
    body["exit_code"] = *result.exit_code;
  }
  if (result.signal) {
    body["signal"] = *result.signal;
  }
  if (!result.error.empty()) {
    body["error"] = result.error;
  }
  if (result.state && is_final(*result.state)) {
    body["stdout_bytes"] = result.stdout_bytes;
    body["stderr_bytes"] = result.stderr_bytes;
    body["truncated"] = result.truncated;
  }
  return body;
}

}  // namespace hecs::proto
