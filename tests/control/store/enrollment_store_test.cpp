#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "control/store/store.h"
#include "store_fixture.h"

namespace hecs::control::store {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr const char* kDevice1 = "aaaaaaaa-0000-4000-8000-000000000001";
constexpr const char* kDevice2 = "aaaaaaaa-0000-4000-8000-000000000002";
constexpr std::int64_t kNow = 1'000'000;

class Enrolment : public Store {
 protected:
  void SetUp() override {
    Store::SetUp();
    ASSERT_TRUE(identity_->create_tenant(
        {.id = kTenantA, .name = "a", .created_at = 1, .disabled_at = {}}));
    ASSERT_TRUE(identity_->create_tenant(
        {.id = kTenantB, .name = "b", .created_at = 1, .disabled_at = {}}));
  }

  EnrollmentToken token(const std::string& id, std::uint64_t max_uses = 5,
                        bool auto_approve = false, const std::string& tenant = kTenantA) {
    EnrollmentToken t;
    t.id = id;
    t.tenant_id = tenant;
    t.prefix = "hecs_et_" + id.substr(0, 4);
    t.hash = "hash-" + id;
    t.description = "line 3";
    t.tags = {"site=haguenau", "line=3"};
    t.auto_approve = auto_approve;
    t.max_uses = max_uses;
    t.created_at = kNow - 10;
    t.expires_at = kNow + 1000;
    EXPECT_TRUE(enrolment_->create_token(t));
    return t;
  }

  static EnrolRequest request(const std::string& token_id, const std::string& device,
                              const std::string& key, std::int64_t now = kNow) {
    EnrolRequest r;
    r.token_hash = "hash-" + token_id;
    r.device_id = device;
    r.public_key_sha256 = "sha-" + key;
    r.public_key_pem = "pem-" + key;
    r.now = now;
    return r;
  }

  std::uint64_t uses(const std::string& id) {
    auto tokens = enrolment_->list_tokens(kTenantA);
    EXPECT_TRUE(tokens);
    for (const auto& t : *tokens) {
      if (t.id == id) {
        return t.uses;
      }
    }
    return 0;
  }
};

TEST_P(Enrolment, MakesAPendingDeviceWithTheTokensTagsAndCountsOneUse) {
  token("t1");
  auto enrolled = enrolment_->enrol(request("t1", kDevice1, "k1"));
  ASSERT_TRUE(enrolled) << enrolled.error().message;
  EXPECT_TRUE(enrolled->created);
  EXPECT_EQ(enrolled->credential.state, DeviceState::pending);
  EXPECT_EQ(enrolled->credential.tenant_id, kTenantA);
  EXPECT_THAT(enrolled->credential.tags, ElementsAre("site=haguenau", "line=3"));
  EXPECT_EQ(uses("t1"), 1u);
  auto listed = devices_->get(kTenantA, kDevice1);
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->state, "pending");
  EXPECT_EQ(listed->tags, R"(["site=haguenau","line=3"])");
}

TEST_P(Enrolment, AutoApprovingTokenMakesAnAcceptedDevice) {
  token("t1", 5, /*auto_approve=*/true);
  auto enrolled = enrolment_->enrol(request("t1", kDevice1, "k1"));
  ASSERT_TRUE(enrolled);
  EXPECT_EQ(enrolled->credential.state, DeviceState::accepted);
  EXPECT_TRUE(enrolled->credential.decided_at);
}

TEST_P(Enrolment, TheSameKeyAgainFindsItsDeviceWithoutUsingTheToken) {
  token("t1");
  ASSERT_TRUE(enrolment_->enrol(request("t1", kDevice1, "k1")));
  auto again = enrolment_->enrol(request("t1", kDevice1, "k1"));
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->credential.device_id, kDevice1);
  EXPECT_EQ(uses("t1"), 1u);
}

TEST_P(Enrolment, RefusesUnknownExpiredRevokedAndUsedUpTokensAndWritesNothing) {
  token("t1", /*max_uses=*/1);
  auto unknown = enrolment_->enrol(request("nope", kDevice1, "k1"));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::unauthorized);

  auto expired = enrolment_->enrol(request("t1", kDevice1, "k1", kNow + 1000));
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code, Errc::unauthorized);
  EXPECT_THAT(expired.error().message, ::testing::HasSubstr("expired"));

  ASSERT_TRUE(enrolment_->enrol(request("t1", kDevice1, "k1")));
  auto used_up = enrolment_->enrol(request("t1", kDevice2, "k2"));
  ASSERT_FALSE(used_up);
  EXPECT_THAT(used_up.error().message, ::testing::HasSubstr("used up"));

  token("t2");
  ASSERT_TRUE(enrolment_->revoke_token(kTenantA, "t2", kNow));
  auto revoked = enrolment_->enrol(request("t2", kDevice2, "k2"));
  ASSERT_FALSE(revoked);
  EXPECT_THAT(revoked.error().message, ::testing::HasSubstr("revoked"));

  EXPECT_FALSE(devices_->get(kTenantA, kDevice2));
  EXPECT_EQ(enrolment_->find(kDevice2).error().code, Errc::not_found);
}

TEST_P(Enrolment, AnotherKeyCannotTakeAnEnrolledDeviceId) {
  token("t1");
  ASSERT_TRUE(enrolment_->enrol(request("t1", kDevice1, "k1")));
  auto taken = enrolment_->enrol(request("t1", kDevice1, "k2"));
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, Errc::conflict);
  EXPECT_EQ(uses("t1"), 1u);
  EXPECT_EQ(enrolment_->find(kDevice1)->public_key_sha256, "sha-k1");
}

TEST_P(Enrolment, TokensAndDevicesOfAnotherTenantAreNotFound) {
  token("t1");
  ASSERT_TRUE(enrolment_->enrol(request("t1", kDevice1, "k1")));
  EXPECT_EQ(enrolment_->revoke_token(kTenantB, "t1", kNow).error().code, Errc::not_found);
  EXPECT_THAT(*enrolment_->list_tokens(kTenantB), IsEmpty());
  EXPECT_EQ(enrolment_->find(kTenantB, kDevice1).error().code, Errc::not_found);
  auto decided = enrolment_->decide(kTenantB, kDevice1, DeviceState::accepted, kNow);
  ASSERT_FALSE(decided);
  EXPECT_EQ(decided.error().code, Errc::not_found);
  EXPECT_EQ(enrolment_->find(kDevice1)->state, DeviceState::pending);
}

TEST_P(Enrolment, DecisionsFollowTheStateMachine) {
  token("t1");
  ASSERT_TRUE(enrolment_->enrol(request("t1", kDevice1, "k1")));
  ASSERT_TRUE(enrolment_->enrol(request("t1", kDevice2, "k2")));
  auto accepted = enrolment_->decide(kTenantA, kDevice1, DeviceState::accepted, kNow);
  ASSERT_TRUE(accepted);
  EXPECT_EQ(accepted->state, DeviceState::accepted);
  EXPECT_EQ(enrolment_->decide(kTenantA, kDevice1, DeviceState::rejected, kNow).error().code,
            Errc::conflict);
  ASSERT_TRUE(enrolment_->decide(kTenantA, kDevice2, DeviceState::rejected, kNow));
  EXPECT_EQ(enrolment_->decide(kTenantA, kDevice2, DeviceState::accepted, kNow).error().code,
            Errc::conflict);
  ASSERT_TRUE(enrolment_->decide(kTenantA, kDevice1, DeviceState::revoked, kNow));
  EXPECT_EQ(enrolment_->decide(kTenantA, kDevice1, DeviceState::accepted, kNow).error().code,
            Errc::conflict);
  EXPECT_EQ(devices_->get(kTenantA, kDevice1)->state, "revoked");
}

TEST_P(Enrolment, RevokingAnOnlineDeviceRecordsItOfflineInItsHistory) {
  token("t1", 5, true);
  ASSERT_TRUE(enrolment_->enrol(request("t1", kDevice1, "k1")));
  ASSERT_TRUE(enrolment_->enrol(request("t1", kDevice2, "k2")));
  ingest({status(kDevice1, 1, true, kNow - 1000, kTenantA)});
  ASSERT_TRUE(enrolment_->decide(kTenantA, kDevice1, DeviceState::revoked, kNow));
  ASSERT_TRUE(enrolment_->decide(kTenantA, kDevice2, DeviceState::revoked, kNow));
  auto online = telemetry_->presence(kTenantA, kDevice1, 0, 10);
  ASSERT_TRUE(online) << online.error().message;
  ASSERT_EQ(online->items.size(), 2u);
  EXPECT_TRUE(online->items[0].online);
  EXPECT_EQ(online->items[1].ts, kNow);
  EXPECT_FALSE(online->items[1].online) << "a revoked device cannot say it went offline itself";
  auto offline = telemetry_->presence(kTenantA, kDevice2, 0, 10);
  ASSERT_TRUE(offline);
  EXPECT_TRUE(offline->items.empty()) << "a device that was offline changes nothing";
}

TEST_P(Enrolment, RevokedDevicesListEveryUnexpiredCertificateForTheCrl) {
  token("t1", 5, true);
  ASSERT_TRUE(enrolment_->enrol(request("t1", kDevice1, "k1")));
  ASSERT_TRUE(enrolment_->enrol(request("t1", kDevice2, "k2")));
  ASSERT_TRUE(enrolment_->record_certificate(kDevice1, "0a", "pem-a", 10, 100, "sha-k1", "k1"));
  ASSERT_TRUE(enrolment_->record_certificate(kDevice1, "0b", "pem-b", 50, 200, "sha-k3", "k3"));
  ASSERT_TRUE(enrolment_->record_certificate(kDevice1, "0c", "pem-c", 1, 20, "sha-k3", "k3"));
  ASSERT_TRUE(enrolment_->record_certificate(kDevice2, "0d", "pem-d", 50, 200, "sha-k2", "k2"));
  EXPECT_THAT(*enrolment_->revoked_serials(60), IsEmpty());

  ASSERT_TRUE(enrolment_->decide(kTenantA, kDevice1, DeviceState::revoked, kNow));
  EXPECT_THAT(*enrolment_->revoked_serials(60), ElementsAre("0a", "0b"));
  EXPECT_THAT(*enrolment_->revoked_devices(), ElementsAre(kDevice1));
  auto current = enrolment_->find(kDevice1);
  ASSERT_TRUE(current);
  EXPECT_EQ(current->cert_serial, "0c");
  EXPECT_EQ(current->public_key_sha256, "sha-k3");
}

TEST_P(Enrolment, ARevokedDeviceIsOfflineBecauseItCanNoLongerSaySo) {
  token("t1", 5, true);
  ASSERT_TRUE(enrolment_->enrol(request("t1", kDevice1, "k1")));
  ingest({status(kDevice1, 1, true, kNow + 1)});
  ASSERT_TRUE(device(kDevice1).online);
  ASSERT_TRUE(enrolment_->decide(kTenantA, kDevice1, DeviceState::revoked, kNow + 2));
  EXPECT_FALSE(device(kDevice1).online);
}

TEST_P(Enrolment, IngestKeepsTheStateAndTagsOfAnEnrolledDevice) {
  token("t1", 5, true);
  ASSERT_TRUE(enrolment_->enrol(request("t1", kDevice1, "k1")));
  ingest({hello(kDevice1, 1, kNow + 1, "pi-1")});
  auto stored = device(kDevice1);
  EXPECT_EQ(stored.hostname, "pi-1");
  EXPECT_EQ(stored.state, "accepted");
  EXPECT_EQ(stored.tags, R"(["site=haguenau","line=3"])");
}

HECS_STORE_ON_BOTH_BACKENDS(Enrolment);

}  // namespace
}  // namespace hecs::control::store
