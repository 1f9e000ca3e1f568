// S38: every route declares who may call it, where it is registered; the table below is the
// spec that the route table must match, both ways.
#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "control/api/api_fixture.h"

namespace hecs::control::api::test {
namespace {

// action → access: "open", "platform", or the least tenant role.
const std::map<std::string, std::string>& spec() {
  static const std::map<std::string, std::string> kSpec = {
      {"health.live", "open"},
      {"health.ready", "open"},
      {"metrics.get", "open"},
      {"enrol.enrol", "open"},
      {"enrol.ca", "open"},
      {"auth.login", "open"},
      {"auth.logout", "viewer"},
      {"auth.me", "viewer"},
      {"auth.password", "viewer"},
      {"sessions.list", "viewer"},
      {"sessions.revoke", "viewer"},
      {"devices.list", "viewer"},
      {"devices.get", "viewer"},
      {"devices.events", "viewer"},
      {"devices.facets", "viewer"},
      {"devices.telemetry", "viewer"},
      {"devices.telemetry_series", "viewer"},
      {"devices.presence", "viewer"},
      {"devices.accept", "admin"},
      {"devices.reject", "admin"},
      {"devices.revoke", "admin"},
      {"tokens.list", "admin"},
      {"tokens.create", "admin"},
      {"tokens.revoke", "admin"},
      {"signing_keys.list", "viewer"},
      {"signing_keys.rotate", "platform"},
      {"signing_keys.activate", "platform"},
      {"users.list", "admin"},
      {"users.create", "admin"},
      {"users.get", "admin"},
      {"users.update", "admin"},
      {"keys.list", "admin"},
      {"keys.create", "admin"},
      {"keys.get", "admin"},
      {"keys.revoke", "admin"},
      {"keys.rotate", "admin"},
      {"tenants.list", "platform"},
      {"tenants.create", "platform"},
      {"tenants.get", "platform"},
      {"tenants.update", "platform"},
      {"audit.list", "admin"},
      {"audit.checkpoints", "admin"},
      {"audit.checkpoint", "admin"},
      {"audit.keys", "viewer"},
      {"audit.verify", "admin"},
      {"tasks.create", "operator"},
      {"tasks.list", "viewer"},
      {"tasks.get", "viewer"},
      {"tasks.runs", "viewer"},
      {"tasks.output", "viewer"},
      {"targets.preview", "viewer"},
      {"tasks.artifact", "viewer"},
      {"tasks.events", "viewer"},
      {"tasks.cancel", "operator"},
      {"tasks.cancel_run", "operator"},
      {"devices.tag", "operator"},
      {"groups.list", "viewer"},
      {"groups.create", "operator"},
      {"groups.get", "viewer"},
      {"groups.update", "operator"},
      {"groups.delete", "operator"},
      {"schedules.list", "viewer"},
      {"schedules.preview", "viewer"},
      {"schedules.create", "operator"},
      {"schedules.get", "viewer"},
      {"schedules.update", "operator"},
      {"schedules.delete", "operator"},
      {"openapi.get", "open"},
  };
  return kSpec;
}

std::string access_text(const Access& a) {
  switch (a.kind) {
    case Access::Kind::unset:
      return "unset";
    case Access::Kind::open:
      return "open";
    case Access::Kind::platform:
      return "platform";
    case Access::Kind::tenant:
      return std::string(auth::role_name(a.role));
  }
  return "unset";
}

using RouteTable = ApiFixture;

TEST_F(RouteTable, EveryRouteDeclaresTheAccessTheSpecGivesIt) {
  std::set<std::string> seen;
  for (const auto& route : api_->router().routes()) {
    const std::string action(route.action);
    EXPECT_NE(route.access.kind, Access::Kind::unset) << route.method << " " << route.pattern;
    auto it = spec().find(action);
    if (it == spec().end()) {
      ADD_FAILURE() << route.method << " " << route.pattern << " (" << action
                    << ") is not in the spec table: add it with its access";
      continue;
    }
    EXPECT_EQ(access_text(route.access), it->second) << route.method << " " << route.pattern;
    EXPECT_TRUE(seen.insert(action).second) << "two routes share the action " << action;
  }
  for (const auto& [action, access] : spec()) {
    EXPECT_TRUE(seen.contains(action)) << action << " is in the spec but not registered";
  }
}

TEST_F(RouteTable, NoMutatingRouteIsOpenToAViewerButTheCallersOwnSessionAndPassword) {
  const std::set<std::string> self_service = {"auth.logout", "auth.password", "sessions.revoke"};
  for (const auto& route : api_->router().routes()) {
    if (!is_mutating(route.method) || route.access.kind != Access::Kind::tenant) {
      continue;
    }
    if (route.access.role == auth::Role::viewer) {
      EXPECT_TRUE(self_service.contains(std::string(route.action))) << route.pattern;
    }
  }
}

TEST_F(RouteTable, ARouteRegisteredWithoutAccessIsRefusedToEveryone) {
  bool ran = false;
  api_->router().add({"GET",
                      "/api/v1/new-thing",
                      Access{},
                      "new.thing",
                      [&ran](Call&) {
                        ran = true;
                        return net::Response{};
                      },
                      {"", "", ""}});
  EXPECT_EQ(get("/api/v1/new-thing", super_).status, 403);  // even the superadmin
  EXPECT_EQ(get("/api/v1/new-thing", {}).status, 401);
  EXPECT_FALSE(ran);
}

TEST_F(RouteTable, LiteralSegmentsWinAndUnknownMethodsAnswer405WithAllow) {
  auto m = api_->router().match("POST", "/api/v1/audit/checkpoints");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->action, "audit.checkpoint");
  auto none = api_->router().match("PUT", "/api/v1/keys");
  EXPECT_EQ(none.route, nullptr);
  EXPECT_EQ(none.allow, "GET, POST");
  auto r = call("PUT", "/api/v1/keys", super_);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("Allow"), "GET, POST");
  EXPECT_EQ(call("PUT", "/api/v1/keys", {}).status, 401);  // nothing learnt without credentials
  EXPECT_EQ(get("/api/v1/keys/", super_).status, 404);
  EXPECT_EQ(get("/api/v1//keys", super_).status, 404);
}

TEST_F(RouteTable, TheOpenApiDocumentHasExactlyTheRegisteredRoutesAndResolvesEveryRef) {
  auto r = get("/api/v1/openapi.json", {});
  ASSERT_EQ(r.status, 200);
  std::set<std::string> documented;
  for (const auto& [path, item] : r.body.at("paths").as_object()) {
    for (const auto& [method, op] : item.as_object()) {
      documented.insert(std::string(method) + " " + std::string(path));
      EXPECT_FALSE(op.at("summary").as_string().empty()) << path;
    }
  }
  std::set<std::string> registered;
  for (const auto& route : api_->router().routes()) {
    std::string method(route.method);
    for (char& c : method) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    registered.insert(method + " " + std::string(route.pattern));
  }
  EXPECT_EQ(documented, registered);
  // Every "$ref" names a schema that exists.
  const auto& schemas = r.body.at("components").at("schemas").as_object();
  std::string text = r.raw.body;
  const std::string marker = "\"$ref\":\"#/components/schemas/";
  for (auto at = text.find(marker); at != std::string::npos; at = text.find(marker, at + 1)) {
    auto start = at + marker.size();
    auto name = text.substr(start, text.find('"', start) - start);
    EXPECT_TRUE(schemas.contains(name)) << name;
  }
}

}  // namespace
}  // namespace hecs::control::api::test
