// What the route handlers of the API share, and the functions that register them, a file per
// area. Private to src/control/api (api.h is the public header).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "common/clock.h"
#include "common/net/http_types.h"
#include "control/api/api.h"
#include "control/api/router.h"

namespace hecs::control::api {

struct Api::State {
  explicit State(Deps d) : deps(std::move(d)), throttle(deps.login_limits) {}
  Deps deps;
  auth::KeyCache keys;
  auth::SessionCache sessions;
  auth::LoginThrottle throttle;
};
using State = Api::State;

net::Response json_response(const boost::json::value& v, int status = 200);
net::Response no_content();
// A JSON object body, nested at most 8 levels; Errc::invalid_input otherwise.
Result<boost::json::object> parse_body_object(const std::string& body);
std::string format_time(std::int64_t unix_ms);  // RFC 3339 with milliseconds
boost::json::value optional_time(const std::optional<std::int64_t>& unix_ms);

// A request body read strictly: a JSON object whose members are all in `allowed` (anything
// else, tenant_id, id or created_at included, is refused: no mass assignment, S37), each read
// with its type and bounds checked. Errors name the member.
class Body {
 public:
  static Result<Body> parse(const std::string& text,
                            std::initializer_list<std::string_view> allowed);
  bool has(std::string_view name) const { return object_.contains(name); }
  Result<std::optional<std::string>> text(std::string_view name, std::size_t max_chars) const;
  Result<std::optional<std::int64_t>> integer(std::string_view name, std::int64_t min,
                                              std::int64_t max) const;
  Result<std::optional<bool>> boolean(std::string_view name) const;
  Result<std::optional<boost::json::object>> object(
      std::string_view name, std::initializer_list<std::string_view> allowed) const;
  const boost::json::object& raw() const { return object_; }

 private:
  explicit Body(boost::json::object o) : object_(std::move(o)) {}
  boost::json::object object_;
};

// A name for tenants, users and keys: 1..64 printable characters, no control characters.
Result<void> check_name(std::string_view what, std::string_view name, std::size_t max = 64);

// "__Host-hecs_session" over HTTPS (S41), "hecs_session" on plain HTTP, where browsers refuse
// the __Host- prefix.
std::string_view session_cookie_name(bool tls);

// Appends the audit record of a call (api.cpp); a failure is logged and counted, never thrown
// at the caller, whose change is already made.
void record_audit(State& state, const Call& call, std::string_view action, int status,
                  const std::string& request_id);

// Tasks (task_query_routes.cpp): 503 when the server runs without tasks; a stored JSON text
// or null; a task (with its counts per run state when given) and a run as the API shows them.
net::Response no_tasks();
boost::json::value parse_or_null(const std::string& text);
boost::json::object task_json(const store::TaskRow& t, const std::map<std::string, int>* counts);
boost::json::object run_json(const store::RunRow& r, const store::ArtifactRow* artifact);
// The task named by the path's {id}, in the caller's tenant; not_found otherwise (S36).
Result<store::TaskRow> find_task(State& state, Call& call);
// A run's artifact as the API shows it: name, size, sha256, state, error.
boost::json::object artifact_json(const store::ArtifactRow& artifact);

// A device as the API shows it (docs/api.md, "Device object").
boost::json::object device_json(const store::Device& d);

// Each registers the routes of one area.
void add_health_routes(Router& router, State& state);
void add_device_routes(Router& router, State& state);  // with add_device_list_routes
void add_device_list_routes(Router& router, State& state);
void add_device_history_routes(Router& router, State& state);  // presence, telemetry series
void add_enrol_routes(Router& router, State& state);
void add_auth_routes(Router& router, State& state);
void add_user_routes(Router& router, State& state);
void add_key_routes(Router& router, State& state);
void add_tenant_routes(Router& router, State& state);
void add_audit_routes(Router& router, State& state);  // with add_audit_verify_route
void add_audit_verify_route(Router& router, State& state);
void add_task_routes(Router& router, State& state);  // with add_task_query_routes
void add_task_query_routes(Router& router, State& state);
void add_artifact_routes(Router& router, State& state);
void add_task_event_route(Router& router, State& state);
void add_device_event_route(Router& router, State& state);
void add_group_routes(Router& router, State& state);
void add_schedule_routes(Router& router, State& state);
// GET /api/v1/openapi.json, made from `router` at each call; register it last.
void add_openapi_route(Router& router);
boost::json::object openapi_document(const Router& router);
// The document's components.schemas, as JSON text (openapi_schemas.cpp).
std::string_view openapi_schemas();

}  // namespace hecs::control::api
