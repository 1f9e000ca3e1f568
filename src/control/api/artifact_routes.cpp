// The artifact of a task's run (the collect-logs bundle, docs/tasks.md "Builtins").
#include <fmt/format.h>

#include "common/crypto/crypto.h"
#include "control/api/routes.h"

namespace hecs::control::api {
namespace json = boost::json;

json::object artifact_json(const store::ArtifactRow& artifact) {
  json::object o{{"name", artifact.name},
                 {"size", artifact.size},
                 {"sha256", artifact.sha256},
                 {"state", artifact.state},
                 {"received", artifact.received}};
  if (!artifact.error.empty()) {
    o["error"] = artifact.error;
  }
  return o;
}

void add_artifact_routes(Router& router, State& state) {
  router.add(
      {"GET",
       "/api/v1/tasks/{id}/runs/{device}/artifact",
       needs(auth::Role::viewer),
       "tasks.artifact",
       [&state](Call& call) {
         auto task = find_task(state, call);
         if (!task) {
           return problem_from(task.error());
         }
         const std::string& device = call.param("device");
         if (!is_uuid(device)) {
           return problem_from(Error{Errc::not_found, "this run has no artifact"});
         }
         auto artifact =
             state.deps.task_store->artifact_bytes(call.who->tenant_id, task->id, device);
         if (!artifact) {
           return problem_from(artifact.error());
         }
         const auto& [row, bytes] = *artifact;
         net::Response r;
         r.content_type = "application/gzip";
         r.headers.emplace_back("Content-Disposition",
                                fmt::format("attachment; filename=\"{}\"", row.name));
         // RFC 9530, and the hex form the run's JSON shows.
         r.headers.emplace_back(
             "Repr-Digest",
             fmt::format("sha-256=:{}:", crypto::base64_encode(*crypto::hex_decode(row.sha256))));
         r.headers.emplace_back("X-Content-SHA256", row.sha256);
         r.body = bytes;
         return r;
       },
       {"The artifact a device's run made (collect-logs: a tar.gz), checked against its sha256", "",
        ""}});
}

}  // namespace hecs::control::api
