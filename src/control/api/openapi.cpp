// GET /api/v1/openapi.json: an OpenAPI 3.1 document made from the route table itself, so a
// route cannot exist without being described; the schemas its docs name are below. make test
// lints the document with @redocly/cli and checks it against the routes (tests/openapi/).
#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include "control/api/routes.h"

namespace hecs::control::api {
namespace json = boost::json;

namespace {

// JSON Schema 2020-12 of every body the API takes or gives, by name.
constexpr std::string_view kSchemas = R"json({
  "TaskRequest": {"type": "object", "additionalProperties": false,
    "required": ["target", "command"],
    "properties": {"target": {"type": "object", "additionalProperties": false,
        "description": "exactly one of devices, group, selector",
        "properties": {"devices": {"type": "array", "items": {"$ref": "#/components/schemas/Id"}},
          "group": {"type": "string"}, "selector": {"type": "string"}}},
      "command": {"type": "object", "description": "argv, script with interpreter, or builtin",
        "properties": {"argv": {"type": "array", "items": {"type": "string"}, "minItems": 1},
          "script": {"type": "string"}, "interpreter": {"type": "string"},
          "interpreter_args": {"type": "array", "items": {"type": "string"}},
          "builtin": {"type": "string",
            "enum": ["reboot", "restart-agent", "collect-logs", "inventory-refresh"]},
          "args": {"type": "object"}}},
      "env": {"type": "object", "additionalProperties": {"type": "string"}},
      "cwd": {"type": "string"}, "user": {"type": "string"},
      "timeout_s": {"type": "integer", "minimum": 1, "maximum": 86400},
      "output_cap_bytes": {"type": "integer", "minimum": 1024, "maximum": 16777216},
      "deadline_s": {"type": "integer", "minimum": 60, "maximum": 2592000},
      "rate": {"type": "object", "additionalProperties": false,
        "properties": {"max_in_flight": {"type": "integer", "minimum": 1},
          "per_minute": {"type": "integer", "minimum": 1}}},
      "abort": {"type": "object", "additionalProperties": false, "required": ["failure_percent"],
        "properties": {"failure_percent": {"type": "integer", "minimum": 0, "maximum": 100},
          "min_finished": {"type": "integer", "minimum": 1}}},
      "confirm": {"type": "boolean"}}},
  "Task": {"type": "object", "required": ["id", "state", "created_at", "target", "spec", "total"],
    "properties": {"id": {"$ref": "#/components/schemas/Id"},
      "state": {"type": "string", "enum": ["running", "finished", "cancelled", "aborted"]},
      "created_at": {"$ref": "#/components/schemas/Time"}, "created_by": {"type": "string"},
      "expires_at": {"$ref": "#/components/schemas/Time"},
      "finished_at": {"$ref": "#/components/schemas/MaybeTime"},
      "origin": {"type": "string", "enum": ["api", "schedule", "local-schedule"]},
      "target": {"type": "object"}, "spec": {"type": "object"}, "total": {"type": "integer"},
      "rate": {"type": "object"}, "abort": {"type": ["object", "null"]},
      "counts": {"type": "object", "additionalProperties": {"type": "integer"}}}},
  "TaskPage": {"type": "object", "required": ["items", "next"],
    "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Task"}},
      "next": {"type": ["string", "null"]}}},
  "Run": {"type": "object", "required": ["device", "state"],
    "properties": {"device": {"$ref": "#/components/schemas/Id"},
      "state": {"type": "string", "enum": ["queued", "sent", "running", "succeeded", "failed",
        "timed_out", "cancelled", "interrupted", "expired"]},
      "position": {"type": "integer"}, "cancel_requested": {"type": "boolean"},
      "sent_at": {"$ref": "#/components/schemas/MaybeTime"},
      "started_at": {"$ref": "#/components/schemas/MaybeTime"},
      "ended_at": {"$ref": "#/components/schemas/MaybeTime"},
      "exit_code": {"type": ["integer", "null"]}, "signal": {"type": ["integer", "null"]},
      "error": {"type": "string"}, "stdout_bytes": {"type": "integer"},
      "stderr_bytes": {"type": "integer"}, "truncated": {"type": "boolean"},
      "artifact": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Artifact"}]}}},
  "Artifact": {"type": "object", "required": ["name", "size", "sha256", "state", "received"],
    "description": "a file the run made (collect-logs); download it from .../artifact",
    "properties": {"name": {"type": "string"}, "size": {"type": "integer"},
      "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
      "state": {"type": "string", "enum": ["receiving", "complete", "corrupt"]},
      "received": {"type": "integer"}, "error": {"type": "string"}}},
  "RunPage": {"type": "object", "required": ["items", "next"],
    "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Run"}},
      "next": {"type": ["string", "null"]}}},
  "TargetPreview": {"type": "object",
    "required": ["count", "devices", "confirm_required", "confirm_above", "max_targets"],
    "properties": {"count": {"type": "integer"},
      "devices": {"type": "array", "maxItems": 20, "items": {"type": "object",
        "required": ["id", "hostname", "online"],
        "properties": {"id": {"$ref": "#/components/schemas/Id"}, "hostname": {"type": "string"},
          "online": {"type": "boolean"}}}},
      "confirm_required": {"type": "boolean",
        "description": "a task with this target needs \"confirm\": true"},
      "confirm_above": {"type": "integer"}, "max_targets": {"type": "integer"}}},
  "GroupSpec": {"type": "object", "additionalProperties": false, "required": ["name"],
    "description": "name and exactly one of selector and devices",
    "properties": {"name": {"type": "string", "maxLength": 64}, "selector": {"type": "string"},
      "devices": {"type": "array", "items": {"$ref": "#/components/schemas/Id"}}}},
  "Group": {"type": "object", "required": ["id", "name", "kind", "devices"],
    "properties": {"id": {"$ref": "#/components/schemas/Id"}, "name": {"type": "string"},
      "kind": {"type": "string", "enum": ["static", "dynamic"]},
      "selector": {"type": ["string", "null"]},
      "devices": {"type": "array", "items": {"$ref": "#/components/schemas/Id"}},
      "created_at": {"$ref": "#/components/schemas/Time"},
      "resolved": {"type": "integer", "description": "accepted devices it resolves to now"}}},
  "GroupList": {"type": "object", "required": ["items"],
    "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Group"}}}},
  "ScheduleSpec": {"type": "object", "additionalProperties": false,
    "description": "name, cron and task are required when creating",
    "properties": {"name": {"type": "string", "maxLength": 64},
      "cron": {"type": "string", "description": "5 fields or @hourly-style names"},
      "timezone": {"type": "string", "default": "UTC"},
      "missed": {"type": "string", "enum": ["skip", "once", "all"], "default": "skip"},
      "max_catchup": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
      "enabled": {"type": "boolean", "default": true},
      "task": {"$ref": "#/components/schemas/TaskRequest"}}},
  "Schedule": {"type": "object", "required": ["id", "name", "cron", "timezone", "missed", "enabled"],
    "properties": {"id": {"$ref": "#/components/schemas/Id"}, "name": {"type": "string"},
      "cron": {"type": "string"}, "timezone": {"type": "string"}, "missed": {"type": "string"},
      "max_catchup": {"type": "integer"}, "enabled": {"type": "boolean"},
      "task": {"type": "object"}, "next_fire": {"$ref": "#/components/schemas/MaybeTime"},
      "last_fire": {"$ref": "#/components/schemas/MaybeTime"},
      "last_task": {"type": ["string", "null"]}, "last_error": {"type": "string"},
      "created_at": {"$ref": "#/components/schemas/Time"}, "created_by": {"type": "string"}}},
  "ScheduleList": {"type": "object", "required": ["items"],
    "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Schedule"}}}},
  "Tags": {"type": "object", "additionalProperties": false, "required": ["tags"],
    "properties": {"tags": {"type": "array", "items": {"type": "string"}, "maxItems": 64}}},
  "DeviceTags": {"type": "object", "required": ["id", "tags"],
    "properties": {"id": {"$ref": "#/components/schemas/Id"},
      "tags": {"type": "array", "items": {"type": "string"}}}},
  "Problem": {"type": "object", "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "code"],
    "properties": {"type": {"type": "string"}, "title": {"type": "string"},
      "status": {"type": "integer"}, "detail": {"type": "string"},
      "code": {"type": "string", "description": "stable error code",
        "enum": ["invalid_input", "unauthorized", "forbidden", "not_found", "conflict",
                 "unavailable", "timeout", "corrupt", "internal", "rate_limited",
                 "confirmation_required"]},
      "devices": {"type": "integer", "description": "confirmation_required: the target's size"},
      "confirm_above": {"type": "integer"}}},
  "Time": {"type": "string", "format": "date-time"},
  "MaybeTime": {"type": ["string", "null"], "format": "date-time"},
  "Id": {"type": "string", "format": "uuid"},
  "Role": {"type": "string", "enum": ["viewer", "operator", "admin", "owner", "superadmin"]},
  "Status": {"type": "object", "required": ["status"],
    "properties": {"status": {"type": "string"}}},
  "Device": {"type": "object",
    "required": ["id", "tenant_id", "hostname", "online", "state", "first_seen", "last_seen"],
    "properties": {"id": {"$ref": "#/components/schemas/Id"},
      "tenant_id": {"$ref": "#/components/schemas/Id"}, "hostname": {"type": "string"},
      "online": {"type": "boolean"}, "session": {"type": "integer", "minimum": 0},
      "first_seen": {"$ref": "#/components/schemas/Time"},
      "last_seen": {"$ref": "#/components/schemas/Time"},
      "inventory": {"description": "the latest hello body, null before one"},
      "telemetry": {"description": "the newest telemetry body, null before one"},
      "telemetry_at": {"$ref": "#/components/schemas/MaybeTime"},
      "state": {"type": "string", "enum": ["pending", "accepted", "rejected", "revoked"]},
      "tags": {"type": "array", "items": {"type": "string"}}}},
  "DevicePage": {"type": "object", "required": ["items", "next_cursor", "total"],
    "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Device"}},
      "next_cursor": {"type": ["string", "null"]}, "total": {"type": "integer", "minimum": 0}}},
  "DeviceCounts": {"type": "object", "required": ["online", "offline", "pending", "total"],
    "description": "data of a devices.events 'counts' event; online and offline count accepted devices only",
    "properties": {"online": {"type": "integer", "minimum": 0},
      "offline": {"type": "integer", "minimum": 0}, "pending": {"type": "integer", "minimum": 0},
      "total": {"type": "integer", "minimum": 0}}},
  "DeviceEvent": {"type": "object", "required": ["id", "hostname", "online", "state", "last_seen"],
    "description": "data of a devices.events 'device' event",
    "properties": {"id": {"$ref": "#/components/schemas/Id"}, "hostname": {"type": "string"},
      "online": {"type": "boolean"},
      "state": {"type": "string", "enum": ["pending", "accepted", "rejected", "revoked"]},
      "last_seen": {"$ref": "#/components/schemas/Time"}}},
  "TelemetryPage": {"type": "object", "required": ["items"],
    "properties": {"items": {"type": "array", "items": {"type": "object",
      "required": ["id", "ts", "body"], "properties": {"id": {"type": "string"},
        "ts": {"$ref": "#/components/schemas/Time"}, "body": {}}}}}},
  "EnrolRequest": {"type": "object", "additionalProperties": false, "required": ["token", "csr"],
    "properties": {"token": {"type": "string"},
      "csr": {"type": "string", "description": "PEM PKCS#10, CN = the device's UUID"}}},
  "EnrolReply": {"type": "object", "required": ["device_id", "state", "tags"],
    "properties": {"device_id": {"$ref": "#/components/schemas/Id"}, "state": {"type": "string"},
      "tags": {"type": "array", "items": {"type": "string"}},
      "retry_after_s": {"type": "integer"}, "certificate": {"type": "string"},
      "ca": {"type": "string"}, "mqtt_url": {"type": "string"},
      "command_keys": {"type": "array", "items": {"type": "object"}}}},
  "TokenSpec": {"type": "object", "additionalProperties": false,
    "properties": {"expires_in_s": {"type": "integer"}, "max_uses": {"type": "integer", "minimum": 1},
      "auto_approve": {"type": "boolean"}, "description": {"type": "string"},
      "tags": {"type": "array", "items": {"type": "string"}}}},
  "Token": {"type": "object", "required": ["id", "prefix", "max_uses", "uses", "expires_at"],
    "properties": {"id": {"$ref": "#/components/schemas/Id"}, "prefix": {"type": "string"},
      "description": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}},
      "auto_approve": {"type": "boolean"}, "max_uses": {"type": "integer"},
      "uses": {"type": "integer"}, "created_at": {"$ref": "#/components/schemas/Time"},
      "expires_at": {"$ref": "#/components/schemas/Time"},
      "revoked_at": {"$ref": "#/components/schemas/MaybeTime"}}},
  "NewToken": {"allOf": [{"$ref": "#/components/schemas/Token"}, {"type": "object",
    "required": ["token", "ca_sha256"], "properties": {"token": {"type": "string",
      "description": "shown only in this answer"}, "ca_sha256": {"type": "string"}}}]},
  "TokenList": {"type": "object", "required": ["items"],
    "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Token"}}}},
  "Decision": {"type": "object", "required": ["device_id", "state"],
    "properties": {"device_id": {"$ref": "#/components/schemas/Id"}, "state": {"type": "string"}}},
  "SigningKeyList": {"type": "object", "required": ["items"],
    "properties": {"items": {"type": "array", "items": {"type": "object",
      "required": ["kid", "public_key", "state"], "properties": {"kid": {"type": "string"},
        "public_key": {"type": "string"}, "state": {"type": "string", "enum": ["next", "active", "retired"]},
        "created_at": {"$ref": "#/components/schemas/Time"}}}}}},
  "LoginRequest": {"type": "object", "additionalProperties": false,
    "required": ["username", "password"],
    "properties": {"username": {"type": "string", "maxLength": 128},
      "password": {"type": "string", "maxLength": 1024},
      "mode": {"type": "string", "enum": ["cookie", "token"], "default": "cookie"}}},
  "Session": {"type": "object", "required": ["id", "user_id", "kind", "expires_at", "current"],
    "properties": {"id": {"$ref": "#/components/schemas/Id"},
      "user_id": {"$ref": "#/components/schemas/Id"},
      "kind": {"type": "string", "enum": ["cookie", "bearer"]},
      "created_at": {"$ref": "#/components/schemas/Time"},
      "last_seen_at": {"$ref": "#/components/schemas/Time"},
      "expires_at": {"$ref": "#/components/schemas/Time"}, "source": {"type": "string"},
      "user_agent": {"type": "string"}, "current": {"type": "boolean"}}},
  "SessionList": {"type": "object", "required": ["items"],
    "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Session"}}}},
  "LoginReply": {"type": "object", "required": ["user", "session", "csrf_token"],
    "properties": {"user": {"type": "object", "properties": {"id": {"$ref": "#/components/schemas/Id"},
        "username": {"type": "string"}, "role": {"$ref": "#/components/schemas/Role"},
        "tenant_id": {"$ref": "#/components/schemas/Id"}}},
      "session": {"$ref": "#/components/schemas/Session"},
      "csrf_token": {"type": "string", "description": "send as X-CSRF-Token with every state change made with the cookie"},
      "token": {"type": "string", "description": "mode token only: the bearer token"}}},
  "Me": {"type": "object", "required": ["kind", "tenant_id", "role"],
    "properties": {"kind": {"type": "string", "enum": ["session", "api_key"]},
      "tenant_id": {"$ref": "#/components/schemas/Id"}, "tenant_name": {"type": "string"},
      "role": {"$ref": "#/components/schemas/Role"}, "user_id": {"type": "string"},
      "username": {"type": "string"}, "session_id": {"type": "string"}, "key_id": {"type": "string"}}},
  "PasswordChange": {"type": "object", "additionalProperties": false,
    "required": ["current_password", "new_password"],
    "properties": {"current_password": {"type": "string"},
      "new_password": {"type": "string", "minLength": 12, "maxLength": 1024}}},
  "User": {"type": "object", "required": ["id", "tenant_id", "username", "role"],
    "properties": {"id": {"$ref": "#/components/schemas/Id"},
      "tenant_id": {"$ref": "#/components/schemas/Id"}, "username": {"type": "string"},
      "role": {"$ref": "#/components/schemas/Role"},
      "created_at": {"$ref": "#/components/schemas/Time"},
      "password_changed_at": {"$ref": "#/components/schemas/Time"},
      "disabled_at": {"$ref": "#/components/schemas/MaybeTime"}}},
  "UserList": {"type": "object", "required": ["items"],
    "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/User"}}}},
  "NewUser": {"type": "object", "additionalProperties": false,
    "required": ["username", "password", "role"],
    "properties": {"username": {"type": "string", "maxLength": 128},
      "password": {"type": "string", "minLength": 12, "maxLength": 1024},
      "role": {"$ref": "#/components/schemas/Role"}}},
  "UserUpdate": {"type": "object", "additionalProperties": false,
    "properties": {"role": {"$ref": "#/components/schemas/Role"}, "disabled": {"type": "boolean"},
      "password": {"type": "string", "minLength": 12, "maxLength": 1024}}},
  "Key": {"type": "object", "required": ["id", "name", "prefix", "role", "state"],
    "properties": {"id": {"$ref": "#/components/schemas/Id"}, "name": {"type": "string"},
      "prefix": {"type": "string"}, "role": {"$ref": "#/components/schemas/Role"},
      "state": {"type": "string", "enum": ["active", "rotating", "expired", "revoked"]},
      "created_at": {"$ref": "#/components/schemas/Time"}, "created_by": {"type": "string"},
      "expires_at": {"$ref": "#/components/schemas/MaybeTime"},
      "last_used_at": {"$ref": "#/components/schemas/MaybeTime"},
      "revoked_at": {"$ref": "#/components/schemas/MaybeTime"},
      "replaced_by": {"type": ["string", "null"]}}},
  "KeyList": {"type": "object", "required": ["items"],
    "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Key"}}}},
  "NewKey": {"type": "object", "additionalProperties": false, "required": ["name", "role"],
    "properties": {"name": {"type": "string", "maxLength": 64},
      "role": {"$ref": "#/components/schemas/Role"},
      "expires_in_s": {"type": "integer", "minimum": 60, "maximum": 63244800, "default": 7776000}}},
  "CreatedKey": {"allOf": [{"$ref": "#/components/schemas/Key"}, {"type": "object",
    "required": ["key"], "properties": {"key": {"type": "string", "description": "shown only in this answer"},
      "replaces": {"type": "string"}, "old_key_expires_at": {"$ref": "#/components/schemas/Time"}}}]},
  "KeyRotation": {"type": "object", "additionalProperties": false,
    "properties": {"overlap_s": {"type": "integer", "minimum": 0, "maximum": 2592000, "default": 86400},
      "expires_in_s": {"type": "integer", "minimum": 60, "maximum": 63244800}}},
  "Tenant": {"type": "object", "required": ["id", "name"],
    "properties": {"id": {"$ref": "#/components/schemas/Id"}, "name": {"type": "string"},
      "created_at": {"$ref": "#/components/schemas/Time"},
      "disabled_at": {"$ref": "#/components/schemas/MaybeTime"},
      "owner": {"$ref": "#/components/schemas/User"}}},
  "TenantList": {"type": "object", "required": ["items"],
    "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Tenant"}}}},
  "NewTenant": {"type": "object", "additionalProperties": false, "required": ["name"],
    "properties": {"name": {"type": "string", "maxLength": 64}, "owner": {"type": "object",
      "additionalProperties": false, "required": ["username", "password"],
      "properties": {"username": {"type": "string"}, "password": {"type": "string"}}}}},
  "TenantUpdate": {"type": "object", "additionalProperties": false,
    "properties": {"name": {"type": "string", "maxLength": 64}, "disabled": {"type": "boolean"}}},
  "AuditRecord": {"type": "object",
    "required": ["tenant_id", "seq", "ts", "actor", "action", "target", "source", "outcome",
                 "request_id", "detail", "prev_hash", "hash"],
    "properties": {"tenant_id": {"type": "string"}, "seq": {"type": "integer", "minimum": 1},
      "ts": {"type": "integer", "description": "unix ms"}, "actor": {"type": "string"},
      "action": {"type": "string"}, "target": {"type": "string"}, "source": {"type": "string"},
      "outcome": {"type": "string", "enum": ["success", "failure", "denied"]},
      "request_id": {"type": "string"},
      "detail": {"type": "string", "description": "JSON text, exactly as hashed"},
      "prev_hash": {"type": "string"}, "hash": {"type": "string"}}},
  "AuditPage": {"type": "object", "required": ["items", "next_cursor"],
    "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/AuditRecord"}},
      "next_cursor": {"type": ["string", "null"]}}},
  "Checkpoint": {"type": "object", "required": ["tenant_id", "seq", "head", "ts", "key_id", "signature"],
    "properties": {"tenant_id": {"type": "string"}, "seq": {"type": "integer", "minimum": 0},
      "head": {"type": "string"}, "ts": {"type": "integer"}, "key_id": {"type": "string"},
      "signature": {"type": "string", "description": "Ed25519, base64url"}}},
  "CheckpointList": {"type": "object", "required": ["items"],
    "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Checkpoint"}}}},
  "AuditKeyList": {"type": "object", "required": ["items"],
    "properties": {"items": {"type": "array", "items": {"type": "object",
      "required": ["key_id", "public_key"], "properties": {"key_id": {"type": "string"},
        "public_key": {"type": "string", "description": "Ed25519, base64url"}}}}}}
})json";

std::string_view tag_of(std::string_view action) { return action.substr(0, action.find('.')); }

json::object problem_response(std::string_view description) {
  return json::object{
      {"description", description},
      {"content",
       json::object{
           {"application/problem+json",
            json::object{{"schema", json::object{{"$ref", "#/components/schemas/Problem"}}}}}}}};
}

json::object operation(const Route& route) {
  json::object op;
  std::string id(route.action);
  for (char& c : id) {
    c = c == '.' ? '_' : c;
  }
  op["operationId"] = id;
  op["summary"] = route.doc.summary;
  op["tags"] = json::array{tag_of(route.action)};
  std::string role = route.access.kind == Access::Kind::open ? "none"
                     : route.access.kind == Access::Kind::platform
                         ? "superadmin"
                         : std::string(auth::role_name(route.access.role));
  op["description"] =
      fmt::format("{} Needs: {}.", route.doc.summary,
                  role == "none" ? "no credentials" : "the role " + role + " or above");
  op["x-hecs-role"] = role;
  json::array params;
  // Every {name} of the pattern is a path parameter.
  for (std::string_view rest = route.pattern;;) {
    auto open = rest.find('{');
    auto close = rest.find('}', open);
    if (open == std::string_view::npos || close == std::string_view::npos) {
      break;
    }
    params.push_back(json::object{{"name", rest.substr(open + 1, close - open - 1)},
                                  {"in", "path"},
                                  {"required", true},
                                  {"schema", json::object{{"type", "string"}}}});
    rest.remove_prefix(close + 1);
  }
  for (auto q : route.doc.query) {
    params.push_back(json::object{{"name", q},
                                  {"in", "query"},
                                  {"required", false},
                                  {"schema", json::object{{"type", "string"}}}});
  }
  if (!params.empty()) {
    op["parameters"] = std::move(params);
  }
  if (!route.doc.request_schema.empty()) {
    op["requestBody"] = json::object{
        {"required", true},
        {"content",
         json::object{
             {"application/json",
              json::object{
                  {"schema", json::object{{"$ref", fmt::format("#/components/schemas/{}",
                                                               route.doc.request_schema)}}}}}}}};
  }
  json::object responses;
  json::object ok{{"description", "success"}};
  if (!route.doc.response_schema.empty()) {
    ok["content"] = json::object{
        {"application/json",
         json::object{{"schema", json::object{{"$ref", fmt::format("#/components/schemas/{}",
                                                                   route.doc.response_schema)}}}}}};
  } else if (route.action == "metrics.get") {
    ok["content"] =
        json::object{{"text/plain", json::object{{"schema", json::object{{"type", "string"}}}}}};
  } else if (route.action == "tasks.events") {
    ok["content"] = json::object{
        {"text/event-stream", json::object{{"schema", json::object{{"type", "string"}}}}}};
  } else if (route.action == "devices.events") {
    // Server-sent events: the data of each is one of these (docs/api.md, "Device events");
    // OpenAPI 3.1 has no keyword for the items of a stream.
    ok["content"] = json::object{
        {"text/event-stream",
         json::object{
             {"schema",
              json::object{
                  {"description",
                   "server-sent events; the data of `counts` is a DeviceCounts, of `device` a "
                   "DeviceEvent"},
                  {"oneOf",
                   json::array{json::object{{"$ref", "#/components/schemas/DeviceCounts"}},
                               json::object{{"$ref", "#/components/schemas/DeviceEvent"}}}}}}}}};
  } else if (route.action == "tasks.output") {
    ok["content"] =
        json::object{{"text/plain", json::object{{"schema", json::object{{"type", "string"}}}}}};
  } else if (route.action == "tasks.artifact") {
    ok["content"] = json::object{
        {"application/gzip",
         json::object{{"schema", json::object{{"type", "string"}, {"format", "binary"}}}}}};
    ok["headers"] = json::object{
        {"X-Content-SHA256", json::object{{"description", "sha256 of the body, lower-case hex"},
                                          {"schema", json::object{{"type", "string"}}}}},
        {"Repr-Digest", json::object{{"description", "RFC 9530: sha-256=:<base64>:"},
                                     {"schema", json::object{{"type", "string"}}}}}};
  } else if (route.action == "enrol.ca") {
    ok["content"] = json::object{
        {"application/x-pem-file", json::object{{"schema", json::object{{"type", "string"}}}}}};
  }
  responses[std::to_string(route.doc.success_status)] = std::move(ok);
  responses["400"] = problem_response("invalid request: the problem's detail names the field");
  if (route.access.kind != Access::Kind::open) {
    responses["401"] = problem_response("no valid API key or session");
    responses["403"] = problem_response("the caller's role may not do this, or CSRF failed");
  }
  if (std::string_view(route.pattern).find("{id}") != std::string_view::npos) {
    responses["404"] = problem_response("no such object in the caller's tenant");
  }
  if (route.action == "auth.login") {
    responses["429"] = problem_response("too many failed logins: see Retry-After");
  }
  op["responses"] = std::move(responses);
  if (route.access.kind == Access::Kind::open) {
    op["security"] = json::array{};
  }
  return op;
}

}  // namespace

json::object openapi_document(const Router& router) {
  json::object paths;
  for (const auto& route : router.routes()) {
    std::string method(route.method);
    for (char& c : method) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    auto& item = paths[route.pattern];
    if (!item.is_object()) {
      item = json::object{};
    }
    item.as_object()[method] = operation(route);
  }
  json::array tags;
  std::vector<std::string> seen;
  for (const auto& route : router.routes()) {
    std::string tag(tag_of(route.action));
    if (std::find(seen.begin(), seen.end(), tag) == seen.end()) {
      seen.push_back(tag);
      tags.push_back(
          json::object{{"name", tag}, {"description", fmt::format("The {} routes", tag)}});
    }
  }
  json::object doc;
  doc["openapi"] = "3.1.0";
  doc["info"] = json::object{
      {"title", "HECS control plane API"},
      {"version", "1"},
      {"summary", "Devices, enrolment, tenants, users, API keys and the audit log of hecs-control"},
      {"description",
       "Every call but the open ones needs an API key or a session: Authorization: Bearer "
       "<key or session token>, or the session cookie plus X-CSRF-Token on state changes. "
       "Errors are RFC 9457 problems with a stable code. Lists take a cursor."},
      {"license", json::object{{"name", "Apache-2.0"}, {"identifier", "Apache-2.0"}}}};
  doc["servers"] = json::array{json::object{{"url", "/"}, {"description", "this hecs-control"}}};
  doc["security"] = json::array{json::object{{"bearer", json::array{}}},
                                json::object{{"session_cookie", json::array{}}}};
  doc["tags"] = std::move(tags);
  doc["paths"] = std::move(paths);
  json::object components;
  components["securitySchemes"] = json::object{
      {"bearer",
       json::object{
           {"type", "http"},
           {"scheme", "bearer"},
           {"description", "An API key (hecs_…) or a session token (hecss_…) from a token login"}}},
      {"session_cookie",
       json::object{{"type", "apiKey"},
                    {"in", "cookie"},
                    {"name", "__Host-hecs_session"},
                    {"description",
                     "From a cookie login; state changes also need the X-CSRF-Token header"}}}};
  components["schemas"] = json::parse(kSchemas);
  doc["components"] = std::move(components);
  return doc;
}

void add_openapi_route(Router& router) {
  router.add({"GET",
              "/api/v1/openapi.json",
              open_access(),
              "openapi.get",
              [&router](Call&) { return json_response(openapi_document(router)); },
              {"This document", "", ""}});
}

}  // namespace hecs::control::api
