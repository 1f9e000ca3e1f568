// GET /api/v1/openapi.json: an OpenAPI 3.1 document made from the route table itself, so a
// route cannot exist without being described; the schemas its docs name are in
// openapi_schemas.cpp. make test lints the document with @redocly/cli and checks it against the
// routes (tests/openapi/).
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
  components["schemas"] = json::parse(openapi_schemas());
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
