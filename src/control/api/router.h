// The route table of the REST API: every route is registered here with its method, path
// pattern, who may call it, and its action name (the OpenAPI operationId and the audit log's
// action). Private to src/control/api; api.h is the public header.
//
// Access is declared where the route is registered, in one place (S38): a route registered
// without one is refused to everyone (403) and fails RouteTable's test.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "common/net/http_types.h"
#include "control/auth/auth.h"

namespace hecs::control::api {

struct Access {
  enum class Kind { unset, open, tenant, platform };
  Kind kind = Kind::unset;
  auth::Role role = auth::Role::superadmin;  // tenant: the least role that may call
};
inline constexpr Access open_access() { return {Access::Kind::open, auth::Role::viewer}; }
inline constexpr Access needs(auth::Role role) { return {Access::Kind::tenant, role}; }
inline constexpr Access platform_only() { return {Access::Kind::platform, auth::Role::superadmin}; }

// One request as a handler sees it.
struct Call {
  Call(const net::Request& r, std::vector<std::pair<std::string, std::string>> p)
      : req(r), params(std::move(p)) {}
  const net::Request& req;
  const auth::Principal* who = nullptr;                     // nullptr on open routes
  std::vector<std::pair<std::string, std::string>> params;  // {id} → value, already decoded

  const std::string& param(std::string_view name) const;

  // For the audit record of this call; the handler may fill them in.
  std::string audit_target;                 // default: the {id} parameter
  std::string audit_tenant;                 // default: the caller's tenant
  std::string audit_actor;                  // default: the caller
  std::optional<std::string> audit_action;  // default: the route's action
  boost::json::object audit_detail;
  bool audit_always = false;  // audit a GET too (security events)
};

using RouteHandler = std::function<net::Response(Call&)>;

// Documentation for the OpenAPI document (openapi.cpp).
struct RouteDoc {
  RouteDoc(std::string_view summary_, std::string_view request, std::string_view response,
           int status = 200, std::vector<std::string_view> query_ = {})
      : summary(summary_),
        request_schema(request),
        response_schema(response),
        success_status(status),
        query(std::move(query_)) {}
  std::string_view summary;
  std::string_view request_schema;   // a components/schemas name, "" for no body
  std::string_view response_schema;  // idem, for the success response
  int success_status = 200;
  std::vector<std::string_view> query;  // query parameter names it accepts
};

struct Route {
  std::string_view method;   // "GET", "POST", "PATCH", "DELETE"
  std::string_view pattern;  // "/api/v1/devices/{id}/telemetry"
  Access access;
  std::string_view action;  // "devices.telemetry"
  RouteHandler handler;
  RouteDoc doc;
};

class Router {
 public:
  void add(Route route);
  const std::vector<Route>& routes() const { return routes_; }

  struct Match {
    const Route* route = nullptr;  // nullptr: see allow
    std::vector<std::pair<std::string, std::string>> params;
    std::string allow;       // a path that exists with other methods: "GET, POST" (→ 405)
    bool open_path = false;  // one of those is an open route: its 405 needs no credentials
  };
  // The route for method and path; literal segments win over {parameters}.
  Match match(std::string_view method, std::string_view path) const;

 private:
  std::vector<Route> routes_;
};

bool is_mutating(std::string_view method);

}  // namespace hecs::control::api
