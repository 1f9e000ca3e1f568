// Tenant isolation (S36), roles on mutating routes (S38) and mass assignment (S37), walked
// over the route table itself so that a new route is covered the day it is registered.
#include <map>
#include <set>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/crypto/crypto.h"
#include "control/api/api_fixture.h"

namespace hecs::control::api::test {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;

class Isolation : public ApiFixture {
 protected:
  void SetUp() override {
    ApiFixture::SetUp();
    a_ = make_tenant("acme");
    b_ = make_tenant("globex");
    // One object of each kind in tenant A.
    store::IngestItem hello;
    hello.kind = store::IngestItem::Kind::hello;
    hello.tenant_id = a_.id;
    hello.device_id = "6f1c1a52-2f47-4a8e-9b7e-0123456789ab";
    hello.message_id = random_uuid();
    hello.ts = hello.received_at = clock_.now;
    hello.session = 1;
    hello.hostname = "acme-pi";
    hello.body = R"({"hostname":"acme-pi"})";
    ASSERT_TRUE(devices_->ingest(std::span(&hello, 1)));
    ids_["devices"] = hello.device_id;
    auto key = post("/api/v1/keys", a_.owner, json::object{{"name", "ci"}, {"role", "viewer"}});
    ASSERT_EQ(key.status, 201);
    ids_["keys"] = std::string(key.body.at("id").as_string());
    a_key_ = Cred{std::string(key.body.at("key").as_string()), "", ""};
    ids_["users"] = a_.owner_user_id;
    auto sessions = get("/api/v1/sessions", a_.owner_session);
    ASSERT_EQ(sessions.status, 200);
    ids_["sessions"] = std::string(sessions.body.at("items").at(0).at("id").as_string());
    auto token = post("/api/v1/enrollment-tokens", a_.admin, json::object{{"max_uses", 1}});
    ASSERT_EQ(token.status, 201) << token.raw.body;
    ids_["enrollment-tokens"] = std::string(token.body.at("id").as_string());
    auto task =
        post("/api/v1/tasks", a_.owner,
             json::object{{"target", json::object{{"devices", json::array{ids_["devices"]}}}},
                          {"command", json::object{{"argv", json::array{"true"}}}}});
    ASSERT_EQ(task.status, 201) << task.raw.body;
    ids_["tasks"] = std::string(task.body.at("id").as_string());
    auto group = post("/api/v1/groups", a_.owner,
                      json::object{{"name", "acme-gateways"}, {"selector", "role=gateway"}});
    ASSERT_EQ(group.status, 201) << group.raw.body;
    ids_["groups"] = std::string(group.body.at("id").as_string());
    auto schedule =
        post("/api/v1/schedules", a_.owner,
             json::object{
                 {"name", "nightly"},
                 {"cron", "0 3 * * *"},
                 {"task", json::object{{"target", json::object{{"group", "acme-gateways"}}},
                                       {"command", json::object{{"argv", json::array{"true"}}}}}}});
    ASSERT_EQ(schedule.status, 201) << schedule.raw.body;
    ids_["schedules"] = std::string(schedule.body.at("id").as_string());
  }

  // The pattern with {id} replaced by tenant A's object of the route's kind.
  std::string target_of(const Route& route) {
    std::string pattern(route.pattern);
    const std::string prefix = "/api/v1/";
    auto kind = pattern.substr(prefix.size(), pattern.find('/', prefix.size()) - prefix.size());
    auto it = ids_.find(kind);
    if (it == ids_.end()) {
      ADD_FAILURE() << "no object of tenant A for " << route.pattern << ": add one to the fixture";
      return pattern;
    }
    return pattern.replace(pattern.find("{id}"), 4, it->second);
  }

  // Everything of A's still as it was.
  void expect_tenant_a_intact() {
    EXPECT_EQ(get("/api/v1/auth/me", a_key_).status, 200);
    auto device = get("/api/v1/devices/" + ids_["devices"], a_.owner);
    EXPECT_EQ(device.status, 200);
    EXPECT_EQ(device.body.at("state"), "accepted");
    auto user = get("/api/v1/users/" + ids_["users"], a_.owner);
    EXPECT_EQ(user.body.at("role"), "owner");
    EXPECT_TRUE(user.body.at("disabled_at").is_null());
    EXPECT_EQ(get("/api/v1/auth/me", a_.owner_session).status, 200);
    auto tokens = get("/api/v1/enrollment-tokens", a_.admin);
    EXPECT_TRUE(tokens.body.at("items").at(0).at("revoked_at").is_null());
  }

  TenantCreds a_, b_;
  std::map<std::string, std::string> ids_;
  Cred a_key_;
};

TEST_F(Isolation, TenantBGets404OnEveryRouteThatNamesTenantAsObject) {  // S36
  int walked = 0;
  for (const auto& route : api_->router().routes()) {
    if (route.access.kind != Access::Kind::tenant ||
        std::string_view(route.pattern).find("{id}") == std::string_view::npos) {
      continue;
    }
    const std::string target = target_of(route);
    for (const Cred* cred : {&b_.owner, &b_.owner_session}) {
      auto r = call(std::string(route.method), target, *cred, "{}");
      EXPECT_EQ(r.status, 404) << route.method << " " << target << ": " << r.raw.body;
      for (const auto& [kind, id] : ids_) {
        EXPECT_THAT(r.raw.body, Not(HasSubstr(id))) << route.method << " " << target;
      }
    }
    ++walked;
  }
  EXPECT_GE(walked, 12);
  expect_tenant_a_intact();
}

TEST_F(Isolation, TenantBCannotTargetTenantAsDevicesByIdTagOrGroup) {  // S36, issue 6
  ASSERT_EQ(call("PUT", "/api/v1/devices/" + ids_["devices"] + "/tags", a_.owner,
                 R"({"tags":["role=gateway"]})")
                .status,
            200);
  store::Group group;
  group.id = random_uuid();
  group.tenant_id = a_.id;
  group.name = "gateways";
  group.selector = "role=gateway";
  ASSERT_TRUE(groups_->create(group));
  const auto command = json::object{{"argv", json::array{"true"}}};
  for (const auto& target :
       {json::object{{"devices", json::array{ids_["devices"]}}},
        json::object{{"selector", "role=gateway"}}, json::object{{"group", "gateways"}}}) {
    // Tenant A can; tenant B cannot, and learns nothing of A's devices.
    auto mine =
        post("/api/v1/tasks", a_.owner, json::object{{"target", target}, {"command", command}});
    EXPECT_EQ(mine.status, 201) << json::serialize(target) << ": " << mine.raw.body;
    auto r =
        post("/api/v1/tasks", b_.owner, json::object{{"target", target}, {"command", command}});
    EXPECT_EQ(r.status, 400) << json::serialize(target) << ": " << r.raw.body;
    if (target.contains("devices")) {
      // Exactly what a device that does not exist gets: the id B sent, nothing of A's.
      const std::string none = "00000000-0000-4000-8000-000000000000";
      auto unknown = post("/api/v1/tasks", b_.owner,
                          json::object{{"target", json::object{{"devices", json::array{none}}}},
                                       {"command", command}});
      std::string expected = unknown.raw.body;
      ASSERT_NE(expected.find(none), std::string::npos) << expected;
      expected.replace(expected.find(none), none.size(), ids_["devices"]);
      EXPECT_EQ(r.raw.body, expected);
    } else {
      EXPECT_THAT(r.raw.body, Not(HasSubstr(ids_["devices"])));
    }
  }
  auto list = get("/api/v1/tasks", b_.owner);
  ASSERT_EQ(list.status, 200);
  EXPECT_TRUE(list.body.at("items").as_array().empty()) << list.raw.body;
}

// X-HECS-Tenant: the superadmin acts in another tenant (the panel's tenant switcher); the same
// header from anyone else is refused, never a way across tenants.
TEST_F(Isolation, OnlyASuperadminActsInAnotherTenantThroughTheHeader) {
  auto as = [](const std::string& tenant) {
    return std::vector<std::pair<std::string, std::string>>{{"x-hecs-tenant", tenant}};
  };
  auto devices = call("GET", "/api/v1/devices", super_, "", as(a_.id));
  ASSERT_EQ(devices.status, 200) << devices.raw.body;
  ASSERT_EQ(devices.body.at("items").as_array().size(), 1U);
  EXPECT_EQ(devices.body.at("items").at(0).at("hostname"), "acme-pi");
  auto me = call("GET", "/api/v1/auth/me", super_, "", as(a_.id));
  ASSERT_EQ(me.status, 200) << me.raw.body;
  // Owners of a tenant, and B's owner asking for A, are refused whatever the route.
  for (const Cred* cred : {&a_.owner, &b_.owner, &b_.viewer}) {
    for (const std::string& tenant : {a_.id, b_.id}) {
      auto r = call("GET", "/api/v1/devices", *cred, "", as(tenant));
      EXPECT_EQ(r.status, 403) << r.raw.body;
    }
  }
  EXPECT_EQ(call("GET", "/api/v1/devices", super_, "", as("not-a-tenant")).status, 400);
  EXPECT_EQ(call("GET", "/api/v1/devices", super_, "", as(random_uuid())).status, 400);
  // What the superadmin makes there belongs to that tenant, and its audit record is there too.
  auto key =
      call("POST", "/api/v1/keys", super_,
           json::serialize(json::object{{"name", "made-by-super"}, {"role", "viewer"}}), as(a_.id));
  ASSERT_EQ(key.status, 201) << key.raw.body;
  auto listed = get("/api/v1/keys", a_.owner);
  EXPECT_THAT(json::serialize(listed.body), HasSubstr("made-by-super"));
  EXPECT_THAT(json::serialize(get("/api/v1/keys", super_).body), Not(HasSubstr("made-by-super")));
  auto records = audit_->range(a_.id, 1, 0);
  ASSERT_TRUE(records);
  ASSERT_FALSE(records->empty());
  EXPECT_EQ(records->back().action, "keys.create");
  // A disabled tenant is not entered.
  ASSERT_EQ(call("PATCH", "/api/v1/tenants/" + b_.id, super_,
                 json::serialize(json::object{{"disabled", true}}))
                .status,
            200);
  EXPECT_EQ(call("GET", "/api/v1/devices", super_, "", as(b_.id)).status, 409);
}

TEST_F(Isolation, AViewerCannotRunTasks) {
  auto viewer = make_key(a_.owner, "viewer", "looker");
  auto r = post("/api/v1/tasks", viewer,
                json::object{{"target", json::object{{"devices", json::array{ids_["devices"]}}}},
                             {"command", json::object{{"argv", json::array{"true"}}}}});
  EXPECT_EQ(r.status, 403) << r.raw.body;
}

TEST_F(Isolation, TenantBsListsNeverShowTenantAsObjects) {  // S36
  for (const std::string target :
       {"/api/v1/devices", "/api/v1/keys", "/api/v1/users", "/api/v1/sessions?all=true",
        "/api/v1/tasks", "/api/v1/groups", "/api/v1/schedules", "/api/v1/enrollment-tokens",
        "/api/v1/audit?limit=1000"}) {
    auto r = get(target, b_.owner);
    ASSERT_EQ(r.status, 200) << target << ": " << r.raw.body;
    for (const auto& [kind, id] : ids_) {
      EXPECT_THAT(r.raw.body, Not(HasSubstr(id))) << target;
    }
    EXPECT_THAT(r.raw.body, Not(HasSubstr(a_.id))) << target;
  }
  EXPECT_EQ(get("/api/v1/devices", b_.owner).body.at("total"), 0);
  auto metrics = get("/metrics", {});
  EXPECT_THAT(metrics.raw.body, Not(HasSubstr(a_.id)));
  EXPECT_THAT(metrics.raw.body, Not(HasSubstr(ids_["devices"])));
}

TEST_F(Isolation, ViewersGet403OnEveryMutatingRouteAndOwnersOnPlatformRoutes) {  // S38
  const std::set<std::string_view> self_service = {"auth.logout", "auth.password",
                                                   "sessions.revoke"};
  int walked = 0;
  for (const auto& route : api_->router().routes()) {
    if (!is_mutating(route.method) || route.access.kind == Access::Kind::open ||
        self_service.contains(route.action)) {
      continue;
    }
    std::string target(route.pattern);
    if (target.find("{id}") != std::string::npos) {
      target = route.access.kind == Access::Kind::platform
                   ? target.replace(target.find("{id}"), 4, a_.id)
                   : target_of(route);
    }
    auto viewer = call(std::string(route.method), target, a_.viewer, "{}");
    EXPECT_EQ(viewer.status, 403) << route.method << " " << target << ": " << viewer.raw.body;
    if (route.access.kind == Access::Kind::platform) {
      EXPECT_EQ(call(std::string(route.method), target, a_.owner, "{}").status, 403) << target;
    }
    ++walked;
  }
  EXPECT_GE(walked, 15);
  expect_tenant_a_intact();
}

TEST_F(Isolation, ABodyThatSetsTenantRoleOrIdsIsRefusedAndChangesNothing) {  // S37
  const std::string user = "/api/v1/users/" + ids_["users"];
  struct Case {
    std::string method, target;
    json::object body;
  };
  std::vector<Case> cases = {
      {"POST", "/api/v1/keys", {{"name", "x"}, {"role", "viewer"}, {"tenant_id", b_.id}}},
      {"POST", "/api/v1/keys", {{"name", "x"}, {"role", "viewer"}, {"id", random_uuid()}}},
      {"POST", "/api/v1/keys", {{"name", "x"}, {"role", "viewer"}, {"created_at", 1}}},
      {"POST",
       "/api/v1/users",
       {{"username", "eve"},
        {"password", "a long enough password"},
        {"role", "viewer"},
        {"tenant_id", b_.id}}},
      {"PATCH", user, {{"tenant_id", b_.id}}},
      {"PATCH", user, {{"id", random_uuid()}}},
      {"PATCH", user, {{"username", "renamed"}}},
      {"POST", "/api/v1/enrollment-tokens", {{"tenant_id", b_.id}}},
      {"POST",
       "/api/v1/auth/login",
       {{"username", "acme-owner"}, {"password", "x"}, {"role", "owner"}}},
  };
  for (const auto& c : cases) {
    auto r = call(c.method, c.target, a_.owner, json::serialize(c.body));
    EXPECT_EQ(r.status, 400) << c.method << " " << c.target << " " << json::serialize(c.body);
    EXPECT_EQ(r.body.at("code"), "invalid_input");
  }
  auto super_tenant = call("POST", "/api/v1/tenants", super_,
                           json::serialize(json::object{{"name", "x"}, {"id", a_.id}}));
  EXPECT_EQ(super_tenant.status, 400);
  // Escalation through a role the caller does not hold.
  auto admin_made_owner = call("POST", "/api/v1/keys", a_.admin,
                               json::serialize(json::object{{"name", "x"}, {"role", "owner"}}));
  EXPECT_EQ(admin_made_owner.status, 403);
  auto super_key = call("POST", "/api/v1/keys", a_.owner,
                        json::serialize(json::object{{"name", "x"}, {"role", "superadmin"}}));
  EXPECT_EQ(super_key.status, 403);
  EXPECT_EQ(get("/api/v1/keys", a_.owner).body.at("items").as_array().size(), 5u);
  EXPECT_EQ(get("/api/v1/users", b_.owner).body.at("items").as_array().size(), 1u);
  expect_tenant_a_intact();
}

TEST_F(Isolation, ADisabledTenantsKeysUsersSessionsAndEnrolmentsAreRefusedUntilEnabled) {
  auto token = post("/api/v1/enrollment-tokens", b_.admin, json::object{{"max_uses", 5}});
  ASSERT_EQ(token.status, 201);
  auto enrol = [&] {
    auto key = crypto::generate_p256_key();
    auto csr = crypto::make_csr(key.private_pem, random_uuid());
    return post("/api/v1/enroll", {},
                json::object{{"token", token.body.at("token")}, {"csr", csr ? *csr : ""}});
  };
  auto disabled = call("PATCH", "/api/v1/tenants/" + b_.id, super_,
                       json::serialize(json::object{{"disabled", true}}));
  ASSERT_EQ(disabled.status, 200) << disabled.raw.body;
  EXPECT_EQ(get("/api/v1/devices", b_.owner).status, 401);
  EXPECT_EQ(get("/api/v1/devices", b_.owner_session).status, 401);
  EXPECT_EQ(login("globex-owner", "correct horse battery globex").status, 401);
  EXPECT_EQ(enrol().status, 401);
  EXPECT_EQ(get("/api/v1/devices", a_.owner).status, 200);  // nobody else is touched
  EXPECT_EQ(call("PATCH", "/api/v1/tenants/" + default_tenant_, super_,
                 json::serialize(json::object{{"disabled", true}}))
                .status,
            409);  // not its own
  ASSERT_EQ(call("PATCH", "/api/v1/tenants/" + b_.id, super_,
                 json::serialize(json::object{{"disabled", false}}))
                .status,
            200);
  EXPECT_EQ(get("/api/v1/devices", b_.owner).status, 200);
  EXPECT_EQ(login("globex-owner", "correct horse battery globex").status, 201);
  EXPECT_EQ(enrol().status, 202);  // pending: the token does not auto-approve
}

}  // namespace
}  // namespace hecs::control::api::test
