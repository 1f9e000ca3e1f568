// The audit trail over the API and in the database (S44–S47): every mutating call and every
// security event is recorded, the chain verifies, and edits made directly in the database
// are found, also a consistent rewrite of the whole chain, against the signed checkpoints
// kept outside it.
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <soci/soci.h>

#include "common/crypto/crypto.h"
#include "control/api/api_fixture.h"

namespace hecs::control::api::test {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

class AuditTrail : public ApiFixture {
 protected:
  void SetUp() override {
    ApiFixture::SetUp();
    t_ = make_tenant("acme");  // tenant, owner login, four keys: six records
    post("/api/v1/enrollment-tokens", t_.admin, json::object{{"max_uses", 2}});
    login("acme-owner", "wrong password");
    post("/api/v1/keys", t_.viewer, json::object{{"name", "x"}, {"role", "viewer"}});  // denied
  }

  std::vector<audit::Record> records() {
    auto r = audit_->range(t_.id, 1, 0);
    EXPECT_TRUE(r);
    return r ? *r : std::vector<audit::Record>{};
  }
  std::vector<audit::Checkpoint> saved_checkpoints() {
    auto c = signer_->list(t_.id);
    EXPECT_TRUE(c);
    return c ? *c : std::vector<audit::Checkpoint>{};
  }
  audit::Verification verify() {
    auto rs = records();
    auto cs = saved_checkpoints();
    return audit::verify(t_.id, rs, cs, signer_->keys());
  }
  void sql(const std::string& statement) {
    ASSERT_TRUE(db_->transact([&](soci::session& s) -> Result<void> {
      s << statement;
      return {};
    }));
  }
  audit::Checkpoint checkpoint() {
    auto r = post("/api/v1/audit/checkpoints", t_.admin, json::object{});
    EXPECT_EQ(r.status, 201) << r.raw.body;
    auto c = audit::checkpoint_from_json(r.body);
    EXPECT_TRUE(c);
    return c ? *c : audit::Checkpoint{};
  }

  TenantCreds t_;
};

TEST_F(AuditTrail, RecordsEveryMutatingCallAndSecurityEventWithWhoWhatWhereAndOutcome) {
  auto page = get("/api/v1/audit?limit=1000", t_.owner);
  ASSERT_EQ(page.status, 200);
  std::vector<std::string> actions;
  for (const auto& r : page.body.at("items").as_array()) {
    actions.emplace_back(r.at("action").as_string());
    EXPECT_EQ(r.at("source"), "198.51.100.7:40000");
    EXPECT_FALSE(r.at("request_id").as_string().empty());
  }
  EXPECT_THAT(actions, ::testing::ElementsAre("tenants.create", "auth.login", "keys.create",
                                              "keys.create", "keys.create", "keys.create",
                                              "tokens.create", "auth.login_failed", "keys.create"));
  const auto& items = page.body.at("items").as_array();
  EXPECT_EQ(items.at(1).at("actor"), json::value("user:" + t_.owner_user_id));
  EXPECT_EQ(items.at(7).at("outcome"), "denied");
  EXPECT_EQ(items.at(8).at("outcome"), "denied");  // a viewer's attempt is recorded too
  auto filtered = get("/api/v1/audit?action=keys.&outcome=success", t_.owner);
  EXPECT_EQ(filtered.body.at("items").as_array().size(), 4u);
  auto paged = get("/api/v1/audit?limit=4", t_.owner);
  ASSERT_TRUE(paged.body.at("next_cursor").is_string());
  auto next =
      get("/api/v1/audit?limit=4&cursor=" + std::string(paged.body.at("next_cursor").as_string()),
          t_.owner);
  EXPECT_EQ(next.body.at("items").at(0).at("seq"), 5);
  EXPECT_EQ(get("/api/v1/audit?since=x", t_.owner).status, 400);
  EXPECT_EQ(get("/api/v1/audit?action=%27%20OR%201%3D1%20--", t_.owner)
                .body.at("items")
                .as_array()
                .size(),
            0u);
  EXPECT_EQ(get("/api/v1/audit", t_.operator_).status, 403);
}

TEST_F(AuditTrail, AnEnrolmentIsRecordedInTheDevicesTenantAsTheDevice) {
  auto token = post("/api/v1/enrollment-tokens", t_.admin, json::object{{"auto_approve", true}});
  ASSERT_EQ(token.status, 201);
  const std::string device = random_uuid();
  auto key = crypto::generate_p256_key();
  auto csr = crypto::make_csr(key.private_pem, device);
  ASSERT_TRUE(csr);
  auto enrolled =
      post("/api/v1/enroll", {}, json::object{{"token", token.body.at("token")}, {"csr", *csr}});
  ASSERT_EQ(enrolled.status, 201) << enrolled.raw.body;
  auto audit = get("/api/v1/audit?action=enrol.enrol", t_.owner);
  ASSERT_EQ(audit.body.at("items").as_array().size(), 1u);
  EXPECT_EQ(audit.body.at("items").at(0).at("actor"), json::value("device:" + device));
  EXPECT_EQ(audit.body.at("items").at(0).at("target"), json::value(device));
}

TEST_F(AuditTrail, TheChainVerifiesWithItsCheckpoints) {
  checkpoint();
  post("/api/v1/keys", t_.owner, json::object{{"name", "later"}, {"role", "viewer"}});
  checkpoint();
  auto v = verify();
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.checkpoints, 2u);
  auto listed = get("/api/v1/audit/checkpoints", t_.admin);
  EXPECT_EQ(listed.body.at("items").as_array().size(), 2u);
}

TEST_F(AuditTrail, OneAlteredFieldIsFoundAndNamesItsSequenceNumber) {  // S44
  for (const std::string column : {"actor", "action", "target", "source", "outcome", "detail"}) {
    SCOPED_TRACE(column);
    sql("UPDATE audit_log SET " + column + " = " + column + " || 'x' WHERE tenant_id = '" + t_.id +
        "' AND seq = 4");
    auto v = verify();
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.first_bad_seq, 4u) << v.reason;
    sql("UPDATE audit_log SET " + column + " = substr(" + column + ", 1, length(" + column +
        ") - 1) WHERE tenant_id = '" + t_.id + "' AND seq = 4");
    EXPECT_TRUE(verify().ok);
  }
  sql("UPDATE audit_log SET ts = ts + 1 WHERE tenant_id = '" + t_.id + "' AND seq = 6");
  EXPECT_EQ(verify().first_bad_seq, 6u);
}

TEST_F(AuditTrail, ADeletedOrReorderedRowIsFound) {  // S44
  sql("DELETE FROM audit_log WHERE tenant_id = '" + t_.id + "' AND seq = 3");
  EXPECT_EQ(verify().first_bad_seq, 3u);
}

TEST_F(AuditTrail, SwappedRowsAreFound) {  // S44
  sql("UPDATE audit_log SET seq = 100 WHERE tenant_id = '" + t_.id + "' AND seq = 2");
  sql("UPDATE audit_log SET seq = 2 WHERE tenant_id = '" + t_.id + "' AND seq = 5");
  sql("UPDATE audit_log SET seq = 5 WHERE tenant_id = '" + t_.id + "' AND seq = 100");
  EXPECT_EQ(verify().first_bad_seq, 2u);
}

TEST_F(AuditTrail, TheLastRowsDeletedOrTheTableTruncatedAreFoundByTheCheckpoint) {  // S45
  auto c = checkpoint();
  const auto n = records().size();
  ASSERT_GT(n, 3u);
  sql("DELETE FROM audit_log WHERE tenant_id = '" + t_.id + "' AND seq > " +
      std::to_string(c.seq - 3));
  auto v = verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, c.seq - 2) << v.reason;
  sql("DELETE FROM audit_log");
  EXPECT_EQ(verify().first_bad_seq, 1u);
}

TEST_F(AuditTrail, AConsistentRewriteOfTheWholeChainIsFoundBySignedCheckpoints) {  // S46
  checkpoint();
  // Someone with the database, but not the master key, rewrites record 2 and re-links all.
  auto rs = records();
  std::string prev = audit::genesis_hash();
  sql("DELETE FROM audit_log WHERE tenant_id = '" + t_.id + "'");
  for (auto r : rs) {
    if (r.seq == 2) {
      r.actor = "user:someone-else";
    }
    r = audit::link(std::move(r), prev);
    prev = r.hash;
    ASSERT_TRUE(db_->transact([&](soci::session& s) -> Result<void> {
      const long long seq = static_cast<long long>(r.seq);
      const long long ts = r.ts;
      s << "INSERT INTO audit_log (tenant_id, seq, ts, actor, action, target, source, outcome, "
           "request_id, detail, prev_hash, hash) VALUES (:a, :b, :c, :d, :e, :f, :g, :h, :i, :j, "
           ":k, :l)",
          soci::use(r.tenant_id), soci::use(seq), soci::use(ts), soci::use(r.actor),
          soci::use(r.action), soci::use(r.target), soci::use(r.source), soci::use(r.outcome),
          soci::use(r.request_id), soci::use(r.detail), soci::use(r.prev_hash), soci::use(r.hash);
      return {};
    }));
  }
  // The chain alone is consistent again...
  auto alone = audit::verify(t_.id, records(), {}, signer_->keys());
  EXPECT_TRUE(alone.ok);
  // ...but not with the checkpoint signed before, which the database does not hold.
  auto v = verify();
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.reason, HasSubstr("checkpoint"));
}

TEST_F(AuditTrail, ATenantVerifiesItsOwnLogOfflineAcrossAKeyRotation) {  // S47
  auto first = checkpoint();
  ASSERT_TRUE(signer_->rotate());
  post("/api/v1/keys", t_.owner, json::object{{"name", "later"}, {"role", "viewer"}});
  auto second = checkpoint();
  EXPECT_NE(first.key_id, second.key_id);
  // What a tenant exports: its own records, its checkpoints, the public keys.
  audit::Bundle bundle{t_.id, records(), saved_checkpoints(), signer_->keys()};
  auto parsed = audit::parse_bundle(audit::to_json_text(bundle));
  ASSERT_TRUE(parsed) << parsed.error().message;
  for (const auto& r : parsed->records) {
    EXPECT_EQ(r.tenant_id, t_.id);  // nobody else's rows
  }
  auto v = audit::verify(t_.id, parsed->records, parsed->checkpoints, parsed->keys);
  EXPECT_TRUE(v.ok) << v.reason;
  std::vector<audit::Record> segment(
      parsed->records.begin() + static_cast<std::ptrdiff_t>(first.seq),
      parsed->records.begin() + static_cast<std::ptrdiff_t>(second.seq));
  EXPECT_TRUE(audit::verify_consistency(first, second, segment, parsed->keys));
  segment.pop_back();
  EXPECT_FALSE(audit::verify_consistency(first, second, segment, parsed->keys));
  // Another tenant's checkpoints are not served to this one.
  auto other = make_tenant("globex");
  EXPECT_EQ(get("/api/v1/audit/checkpoints", other.admin).body.at("items").as_array().size(), 0u);
}

}  // namespace
}  // namespace hecs::control::api::test
