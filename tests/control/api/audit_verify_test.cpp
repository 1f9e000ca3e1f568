// POST /api/v1/audit/verify: the server runs audit::verify over the caller's tenant's whole
// chain, read in pages, against its signed checkpoints, and names the first bad record.
#include <string>

#include <gtest/gtest.h>
#include <soci/soci.h>

#include "control/api/api_fixture.h"

namespace hecs::control::api::test {
namespace {

namespace json = boost::json;

class AuditVerify : public ApiFixture {
 protected:
  void SetUp() override {
    ApiFixture::SetUp();
    t_ = make_tenant("acme");
    post("/api/v1/enrollment-tokens", t_.admin, json::object{{"max_uses", 2}});
    auto c = post("/api/v1/audit/checkpoints", t_.admin, json::object{});
    ASSERT_EQ(c.status, 201) << c.raw.body;
  }

  std::uint64_t record_count(const std::string& tenant) {
    auto head = audit_->head(tenant);
    EXPECT_TRUE(head);
    return head ? head->first : 0;
  }
  void sql(const std::string& statement) {
    ASSERT_TRUE(db_->transact([&](soci::session& s) -> Result<void> {
      s << statement;
      return {};
    }));
  }
  Reply verify(const Cred& cred) { return post("/api/v1/audit/verify", cred, json::object{}); }

  TenantCreds t_;
};

TEST_F(AuditVerify, ACleanChainIsOkWithItsCountsAndTheCheckIsAudited) {
  const auto records = record_count(t_.id);
  auto r = verify(t_.admin);
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(r.body.at("ok"), true);
  EXPECT_EQ(r.body.at("records"), records);
  EXPECT_EQ(r.body.at("checkpoints"), 1);
  EXPECT_TRUE(r.body.at("first_bad_seq").is_null());
  EXPECT_EQ(r.body.at("reason"), "");
  EXPECT_EQ(r.body.at("tenant_id"), json::value(t_.id));
  auto audited = get("/api/v1/audit?action=audit.verify", t_.owner);
  ASSERT_EQ(audited.body.at("items").as_array().size(), 1u);
  EXPECT_EQ(audited.body.at("items").at(0).at("outcome"), "success");
}

TEST_F(AuditVerify, ReadsAChainLongerThanOnePage) {
  for (int i = 0; i < 1100; ++i) {
    audit::Record r;
    r.tenant_id = t_.id;
    r.ts = clock_.now;
    r.actor = "system";
    r.action = "test.filler";
    r.outcome = "success";
    ASSERT_TRUE(audit_->append(r));
  }
  const auto records = record_count(t_.id);
  auto r = verify(t_.owner);
  EXPECT_EQ(r.body.at("ok"), true) << r.raw.body;
  EXPECT_EQ(r.body.at("records"), records);
  sql("UPDATE audit_log SET target = 'forged' WHERE tenant_id = '" + t_.id + "' AND seq = 1050");
  auto bad = verify(t_.owner);
  EXPECT_EQ(bad.body.at("ok"), false);
  EXPECT_EQ(bad.body.at("first_bad_seq"), 1050);
}

TEST_F(AuditVerify, ARecordTamperedInTheDatabaseIsNamed) {
  sql("UPDATE audit_log SET actor = 'user:someone-else' WHERE tenant_id = '" + t_.id +
      "' AND seq = 3");
  auto r = verify(t_.admin);
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(r.body.at("ok"), false);
  EXPECT_EQ(r.body.at("first_bad_seq"), 3);
  EXPECT_EQ(r.body.at("records"), 3);  // examined up to the bad one, which is counted
  EXPECT_NE(r.body.at("reason").as_string().find("record 3"), json::string::npos) << r.raw.body;
}

TEST_F(AuditVerify, ARecordDeletedAfterTheCheckpointIsFound) {
  const auto records = record_count(t_.id);
  sql("DELETE FROM audit_log WHERE tenant_id = '" + t_.id +
      "' AND seq = " + std::to_string(records - 1));
  auto r = verify(t_.admin);
  EXPECT_EQ(r.body.at("ok"), false);
  EXPECT_EQ(r.body.at("first_bad_seq"), records - 1) << r.raw.body;
}

TEST_F(AuditVerify, AnotherTenantsRecordsNeitherCountNorSpoilTheResult) {
  auto other = make_tenant("globex");
  post("/api/v1/keys", other.owner, json::object{{"name", "x"}, {"role", "viewer"}});
  sql("UPDATE audit_log SET actor = 'user:forged' WHERE tenant_id = '" + other.id +
      "' AND seq = 2");
  const auto mine = record_count(t_.id);
  auto r = verify(t_.admin);
  EXPECT_EQ(r.body.at("ok"), true) << r.raw.body;
  EXPECT_EQ(r.body.at("records"), mine);
  EXPECT_EQ(r.body.at("checkpoints"), 1);
  auto theirs = verify(other.admin);
  EXPECT_EQ(theirs.body.at("ok"), false);
  EXPECT_EQ(theirs.body.at("first_bad_seq"), 2);
  EXPECT_EQ(theirs.body.at("checkpoints"), 0);  // acme's checkpoint is not globex's
}

TEST_F(AuditVerify, AViewerOrOperatorIsRefusedAndTheAttemptRecorded) {
  EXPECT_EQ(verify(t_.viewer).status, 403);
  EXPECT_EQ(verify(t_.operator_).status, 403);
  EXPECT_EQ(call("GET", "/api/v1/audit/verify", t_.admin).status, 405);
  auto denied = get("/api/v1/audit?action=audit.verify&outcome=denied", t_.owner);
  EXPECT_EQ(denied.body.at("items").as_array().size(), 2u);
}

TEST_F(AuditVerify, ASessionMustSendItsCsrfToken) {
  auto session = session_of(login("acme-owner", "correct horse battery acme"));
  ASSERT_FALSE(session.csrf.empty());
  Cred without = session;
  without.csrf.clear();
  EXPECT_EQ(verify(without).status, 403);
  EXPECT_EQ(verify(session).status, 200);
}

}  // namespace
}  // namespace hecs::control::api::test
