// ?tenant= on the event streams (docs/api.md, "Tenants"): EventSource cannot send
// X-HECS-Tenant, so a superadmin's stream names the tenant in the query, under the header's
// rules; nobody else gains anything by it, and no other route reads it.
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>

#include <gmock/gmock.h>

#include "control/api/api_fixture.h"

namespace hecs::control::api::test {
namespace {
namespace json = boost::json;
using ::testing::HasSubstr;

constexpr const char* kDeviceA = "6f1c1a52-2f47-4a8e-9b7e-0000000000a1";
constexpr const char* kDeviceA2 = "6f1c1a52-2f47-4a8e-9b7e-0000000000a2";
constexpr const char* kDeviceB = "6f1c1a52-2f47-4a8e-9b7e-0000000000b1";

class TenantQuery : public ApiFixture {
 protected:
  void SetUp() override {
    ApiFixture::SetUp();
    a_ = make_tenant("acme");
    b_ = make_tenant("globex");
    hello(a_.id, kDeviceA, "acme-1");
    hello(a_.id, kDeviceA2, "acme-2");
    hello(b_.id, kDeviceB, "globex-1");
  }

  void hello(const std::string& tenant, const std::string& device, const std::string& host) {
    store::IngestItem item;
    item.kind = store::IngestItem::Kind::hello;
    item.tenant_id = tenant;
    item.device_id = device;
    item.hostname = host;
    item.session = 1;
    item.message_id = random_uuid();
    item.ts = item.received_at = clock_.now;
    item.body = json::serialize(json::object{{"hostname", host}});
    ASSERT_TRUE(devices_->ingest(std::span(&item, 1)));
  }

  // The first piece a stream sends.
  static std::string first_piece(net::BodyStream& stream) {
    auto promise = std::make_shared<std::promise<std::optional<std::string>>>();
    auto future = promise->get_future();
    stream.pull([promise](std::optional<std::string> piece) { promise->set_value(piece); });
    if (future.wait_for(std::chrono::seconds(2)) != std::future_status::ready) {
      return "(nothing)";
    }
    auto piece = future.get();
    return piece ? *piece : "(ended)";
  }

  std::string device_events(const std::string& tenant) {
    auto r = get("/api/v1/devices/events?tenant=" + tenant, super_);
    EXPECT_EQ(r.status, 200) << r.raw.body;
    if (!r.raw.stream) {
      return "";
    }
    auto text = first_piece(*r.raw.stream);
    r.raw.stream->close();
    return text;
  }

  TenantCreds a_, b_;
};

TEST_F(TenantQuery, ASuperadminStreamsAnotherTenantsDeviceEvents) {
  EXPECT_THAT(device_events(a_.id), HasSubstr(R"("total":2)"));
  EXPECT_THAT(device_events(b_.id), HasSubstr(R"("total":1)"));
  EXPECT_THAT(device_events(default_tenant_), HasSubstr(R"("total":0)"));
}

TEST_F(TenantQuery, ASuperadminStreamsAnotherTenantsTaskEvents) {
  auto made = post("/api/v1/tasks", a_.operator_,
                   json::object{{"target", json::object{{"devices", json::array{kDeviceA}}}},
                                {"command", json::object{{"argv", json::array{"true"}}}}});
  ASSERT_EQ(made.status, 201) << made.raw.body;
  const std::string events =
      "/api/v1/tasks/" + std::string(made.body.at("id").as_string()) + "/events";
  EXPECT_EQ(get(events, super_).status, 404);  // not in the superadmin's own tenant
  auto r = get(events + "?tenant=" + a_.id, super_);
  ASSERT_EQ(r.status, 200) << r.raw.body;
  ASSERT_TRUE(r.raw.stream);
  EXPECT_THAT(first_piece(*r.raw.stream), HasSubstr(kDeviceA));
  r.raw.stream->close();
  EXPECT_EQ(get(events + "?tenant=" + b_.id, super_).status, 404);
}

TEST_F(TenantQuery, AnOwnerCannotStreamAnotherTenant) {
  for (const Cred* cred : {&a_.owner, &a_.owner_session, &a_.viewer}) {
    auto r = get("/api/v1/devices/events?tenant=" + b_.id, *cred);
    EXPECT_EQ(r.status, 403) << r.raw.body;
    EXPECT_FALSE(r.raw.stream);
    EXPECT_EQ(r.body.at("detail"), "tenant: only a superadmin acts in another tenant");
  }
  // Naming its own tenant does not help either: the parameter is the superadmin's alone.
  EXPECT_EQ(get("/api/v1/devices/events?tenant=" + a_.id, a_.owner).status, 403);
}

TEST_F(TenantQuery, FollowsTheHeadersRulesForUnknownAndDisabledTenants) {
  auto unknown = get("/api/v1/devices/events?tenant=6f1c1a52-2f47-4a8e-9b7e-ffffffffffff", super_);
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(unknown.body.at("detail"), "tenant: no such tenant");
  EXPECT_EQ(get("/api/v1/devices/events?tenant=acme", super_).status, 400);
  EXPECT_EQ(get("/api/v1/devices/events?tenant=", super_).status, 400);
  ASSERT_EQ(call("PATCH", "/api/v1/tenants/" + b_.id, super_,
                 json::serialize(json::object{{"disabled", true}}))
                .status,
            200);
  auto disabled = get("/api/v1/devices/events?tenant=" + b_.id, super_);
  EXPECT_EQ(disabled.status, 409);
  EXPECT_EQ(disabled.body.at("detail"), "tenant: this tenant is disabled");
}

TEST_F(TenantQuery, TheHeaderAndTheParameterMustAgree) {
  const std::string target = "/api/v1/devices/events?tenant=" + a_.id;
  auto differ = call("GET", target, super_, "", {{"x-hecs-tenant", b_.id}});
  EXPECT_EQ(differ.status, 400);
  EXPECT_FALSE(differ.raw.stream);
  EXPECT_THAT(std::string(differ.body.at("detail").as_string()), HasSubstr("differ"));
  auto twice = get(target + "&tenant=" + b_.id, super_);
  EXPECT_EQ(twice.status, 400);
  auto agree = call("GET", target, super_, "", {{"x-hecs-tenant", a_.id}});
  EXPECT_EQ(agree.status, 200) << agree.raw.body;
  ASSERT_TRUE(agree.raw.stream);
  agree.raw.stream->close();
}

TEST_F(TenantQuery, NoOtherRouteReadsTheParameter) {
  // The device list refuses a parameter it does not know; /auth/me ignores its query.
  EXPECT_EQ(get("/api/v1/devices?tenant=" + a_.id, super_).status, 400);
  auto me = get("/api/v1/auth/me?tenant=" + a_.id, super_);
  ASSERT_EQ(me.status, 200) << me.raw.body;
  EXPECT_EQ(me.body.at("tenant_id").as_string(), default_tenant_);
}

}  // namespace
}  // namespace hecs::control::api::test
