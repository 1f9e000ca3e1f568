// hecsctl audit against a canned HTTP server on loopback that serves a log made with the real
// chain and signatures of common/audit: what verify finds, what export and checkpoint write.
#include <fstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "cli/audit_format.h"
#include "cli/cli.h"
#include "cli/cli_harness.h"
#include "cli/text.h"
#include "common/audit/audit.h"
#include "common/crypto/crypto.h"
#include "support/tempdir.h"

namespace hecs::cli {
namespace {

namespace json = boost::json;
using test::CannedHttpServer;
using test::CannedResponse;

constexpr std::int64_t kNow = 1795633200000;  // 2026-11-25T19:00:00Z
constexpr const char* kTenant = "3e1f5a7c-9b2d-4e6f-8a1c-5d7e9f0b2c4d";

// A tenant's log: records 1..n chained, checkpoints signed by `key`, served page by page.
struct Log {
  crypto::Ed25519Key key = crypto::Ed25519Key::generate();
  std::vector<audit::Record> records;
  std::vector<audit::Checkpoint> checkpoints;
  std::size_t page_size = 1000;

  explicit Log(std::size_t n) {
    std::string prev = audit::genesis_hash();
    for (std::uint64_t seq = 1; seq <= n; ++seq) {
      audit::Record r;
      r.tenant_id = kTenant;
      r.seq = seq;
      r.ts = kNow - 3600000 + static_cast<std::int64_t>(seq) * 1000;
      r.actor = "user:u1";
      r.action = seq == 1 ? "auth.login" : "keys.create";
      r.outcome = "success";
      records.push_back(audit::link(r, prev));
      prev = records.back().hash;
    }
  }
  audit::Checkpoint checkpoint_at(std::uint64_t seq) const {
    audit::Checkpoint c;
    c.tenant_id = kTenant;
    c.seq = seq;
    c.head = seq == 0 ? audit::genesis_hash() : records.at(seq - 1).hash;
    c.ts = kNow;
    return audit::sign(c, key);
  }
  audit::PublicKey public_key() const {
    return {audit::key_id_of(key.public_key()), key.public_key()};
  }

  CannedResponse answer(const std::string& target) const {
    if (target == "/api/v1/auth/me") {
      return {.body = json::serialize(
                  json::object{{"kind", "api_key"}, {"tenant_id", kTenant}, {"role", "admin"}})};
    }
    if (target == "/api/v1/audit/checkpoints") {
      json::array items;
      for (const auto& c : checkpoints) {
        items.push_back(audit::to_json(c));
      }
      return {.body = json::serialize(json::object{{"items", std::move(items)}})};
    }
    if (target == "/api/v1/audit/keys") {
      json::array items{json::object{{"key_id", public_key().key_id},
                                     {"public_key", crypto::base64url_encode(key.public_key())}}};
      return {.body = json::serialize(json::object{{"items", std::move(items)}})};
    }
    if (target.starts_with("/api/v1/audit?")) {  // limit=1000[&cursor=<seq>]
      std::size_t after = 0;
      if (auto at = target.find("cursor="); at != std::string::npos) {
        after = std::stoul(target.substr(at + 7));
      }
      json::array items;
      for (std::size_t i = after; i < records.size() && items.size() < page_size; ++i) {
        items.push_back(audit::to_json(records[i]));
      }
      std::size_t last = after + items.size();
      json::value next =
          last < records.size() ? json::value(std::to_string(last)) : json::value(nullptr);
      return {.body = json::serialize(
                  json::object{{"items", std::move(items)}, {"next_cursor", next}})};
    }
    return {.status = 404, .body = "{}"};
  }
};

class HecsctlAudit : public ::testing::Test {
 protected:
  test::Outcome run_cli(std::vector<std::string> args) {
    args.insert(args.end(), {"--api-key", "k3y"});
    return test::run_cli(args, {.clock = clock_});
  }
  test::Outcome run_against(const Log& log, std::vector<std::string> args) {
    CannedHttpServer server([&log](const std::string& target) { return log.answer(target); });
    args.insert(args.end(), {"--url", server.url()});
    return run_cli(args);
  }

  hecs::test::TempDir home_{"cli-home"};
  hecs::test::TempDir dir_{"cli-audit"};
  test::ScopedEnv env_{{{"HOME", home_.path().string()},
                        {"XDG_CONFIG_HOME", std::nullopt},
                        {"HECS_URL", std::nullopt},
                        {"HECS_API_KEY", std::nullopt},
                        {"HECS_CA_FILE", std::nullopt},
                        {"no_proxy", "127.0.0.1"}}};
  test::FixedClock clock_{kNow};
};

TEST_F(HecsctlAudit, VerifySaysOkForAnIntactLogFetchedOverEveryPage) {
  Log log(5);
  log.page_size = 2;
  log.checkpoints = {log.checkpoint_at(3), log.checkpoint_at(5)};
  auto outcome = run_against(log, {"audit", "verify"});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(outcome.out,
            std::string("audit log of tenant ") + kTenant + ": 5 records, 2 checkpoints: OK\n");
  EXPECT_EQ(outcome.err, "");
}

TEST_F(HecsctlAudit, VerifyNamesTheFirstRecordThatWasChanged) {
  Log log(4);
  log.checkpoints = {log.checkpoint_at(4)};
  log.records[1].action = "x";  // as an UPDATE on the table would
  auto outcome = run_against(log, {"audit", "verify"});
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_EQ(outcome.out, "");
  EXPECT_EQ(outcome.err.rfind(
                std::string("hecsctl: audit log of tenant ") + kTenant + " does not verify: ", 0),
            0u)
      << outcome.err;
  EXPECT_NE(outcome.err.find(" (first bad record: seq 2)\n"), std::string::npos) << outcome.err;
}

TEST_F(HecsctlAudit, VerifyAsJsonGivesTheVerdictAndExitsOneWhenBad) {
  Log log(3);
  log.records[2].actor = "user:someone-else";
  auto outcome = run_against(log, {"audit", "verify", "-o", "json"});
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  json::value verdict = json::parse(outcome.out);
  EXPECT_EQ(verdict.at("ok"), false);
  EXPECT_EQ(verdict.at("first_bad_seq"), 3);
  EXPECT_EQ(verdict.at("tenant_id"), kTenant);
}

TEST_F(HecsctlAudit, SavedCheckpointsCatchRecordsDeletedFromTheEnd) {
  Log log(5);
  auto saved = log.checkpoint_at(5);
  std::ofstream(dir_.path() / checkpoint_file_name(saved))
      << json::serialize(audit::to_json(saved));
  log.records.resize(3);  // the server lost, or someone deleted, records 4 and 5
  log.checkpoints = {log.checkpoint_at(3)};
  auto fine = run_against(log, {"audit", "verify"});
  EXPECT_EQ(fine.exit_code, kExitOk) << fine.err;  // the server's own view is consistent
  auto outcome = run_against(log, {"audit", "verify", "--checkpoints", dir_.path().string()});
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_NE(outcome.err.find("(first bad record: seq 4)"), std::string::npos) << outcome.err;
}

TEST_F(HecsctlAudit, TrustLimitsWhichKeysMaySignCheckpoints) {
  Log log(2);
  log.checkpoints = {log.checkpoint_at(2)};
  std::string key_id = log.public_key().key_id;
  EXPECT_EQ(run_against(log, {"audit", "verify", "--trust", key_id}).exit_code, kExitOk);
  auto outcome = run_against(log, {"audit", "verify", "--trust", "0123456789abcdef"});
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_NE(outcome.err.find("the trusted key 0123456789abcdef is not among the server's keys"),
            std::string::npos)
      << outcome.err;
  EXPECT_NE(outcome.err.find("does not verify"), std::string::npos) << outcome.err;
}

TEST_F(HecsctlAudit, VerifyWithoutCheckpointsWarnsThatOnlyTheChainWasChecked) {
  Log log(2);
  auto outcome = run_against(log, {"audit", "verify"});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_NE(outcome.err.find("note: no checkpoint covers the log"), std::string::npos);
}

TEST_F(HecsctlAudit, ExportWritesABundleThatVerifiesOffline) {
  Log log(3);
  log.checkpoints = {log.checkpoint_at(3)};
  std::string file = (dir_.path() / "audit.json").string();
  auto exported = run_against(log, {"audit", "export", "--out", file});
  ASSERT_EQ(exported.exit_code, kExitOk) << exported.err;
  EXPECT_EQ(exported.out, std::string("exported 3 records, 1 checkpoint and 1 key of tenant ") +
                              kTenant + " to " + file + "\n");
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  auto bundle = audit::parse_bundle(text);
  ASSERT_TRUE(bundle) << bundle.error().message;
  EXPECT_EQ(bundle->records, log.records);
  EXPECT_EQ(bundle->keys, audit::KeyRing{log.public_key()});

  // Offline: no url and no key anywhere.
  auto offline = test::run_cli(
      {"audit", "verify", "--bundle", file, "--trust", log.public_key().key_id}, {.clock = clock_});
  ASSERT_EQ(offline.exit_code, kExitOk) << offline.err;
  EXPECT_EQ(offline.out,
            std::string("audit log of tenant ") + kTenant + ": 3 records, 1 checkpoint: OK\n");
}

TEST_F(HecsctlAudit, OfflineVerifyFindsARecordChangedInTheBundle) {
  Log log(3);
  log.checkpoints = {log.checkpoint_at(3)};
  audit::Bundle bundle{kTenant, log.records, log.checkpoints, {log.public_key()}};
  bundle.records[0].source = "203.0.113.9:4000";
  std::string file = (dir_.path() / "tampered.json").string();
  std::ofstream(file) << audit::to_json_text(bundle);
  auto outcome = test::run_cli({"audit", "verify", "--bundle", file}, {.clock = clock_});
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_NE(outcome.err.find("(first bad record: seq 1)"), std::string::npos) << outcome.err;
}

TEST_F(HecsctlAudit, OfflineVerifyOfAFileThatIsNoBundleExitsOne) {
  std::string file = (dir_.path() / "nope.json").string();
  std::ofstream(file) << R"({"format": "something-else"})";
  auto outcome = test::run_cli({"audit", "verify", "--bundle", file}, {.clock = clock_});
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_NE(outcome.err.find("is not a readable audit bundle"), std::string::npos) << outcome.err;
  auto missing =
      test::run_cli({"audit", "verify", "--bundle", file + ".missing"}, {.clock = clock_});
  EXPECT_EQ(missing.exit_code, kExitUsage);
}

TEST_F(HecsctlAudit, CheckpointSavesTheSignedHeadAsTenantAndSeq) {
  Log log(4);
  auto signed_head = log.checkpoint_at(4);
  CannedHttpServer server([&](const std::string&) {
    return CannedResponse{.status = 201, .body = json::serialize(audit::to_json(signed_head))};
  });
  std::string folder = (dir_.path() / "checkpoints").string();
  auto outcome = run_cli({"audit", "checkpoint", "--save", folder, "--url", server.url()});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(server.requests().at(0).request_line, "POST /api/v1/audit/checkpoints HTTP/1.1");
  std::string path = folder + "/" + kTenant + "-4.json";
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  auto saved = audit::checkpoint_from_json(json::parse(text));
  ASSERT_TRUE(saved) << saved.error().message;
  EXPECT_EQ(*saved, signed_head);
  EXPECT_NE(outcome.out.find("saved to " + path + "\n"), std::string::npos) << outcome.out;

  auto other = log.checkpoint_at(4);
  other.ts += 1;
  other = audit::sign(other, log.key);
  signed_head = other;  // the same seq signed again: the saved one is kept
  auto again = run_cli({"audit", "checkpoint", "--save", folder, "--url", server.url()});
  EXPECT_EQ(again.exit_code, kExitFailure);
  EXPECT_NE(again.err.find("holds another checkpoint; not overwritten"), std::string::npos);
}

TEST_F(HecsctlAudit, ListSendsTheFiltersAndPrintsATable) {
  Log log(2);
  CannedHttpServer server([&log](const std::string&) {
    json::array items{audit::to_json(log.records[1])};
    return CannedResponse{.body = json::serialize(
                              json::object{{"items", std::move(items)}, {"next_cursor", nullptr}})};
  });
  auto outcome =
      run_cli({"audit", "list", "--action", "keys.create", "--outcome", "success", "--since", "1h",
               "--until", "2026-11-25T19:00:00Z", "--limit", "10", "--url", server.url()});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(server.requests().at(0).target,
            "/api/v1/audit?limit=10&action=keys.create&outcome=success&since=1795629600000"
            "&until=1795633200000");
  EXPECT_EQ(outcome.out,
            "SEQ   TIME (UTC)             ACTOR     ACTION        TARGET   OUTCOME   SOURCE\n"
            "2     2026-11-25T18:00:02Z   user:u1   keys.create   -        success   -\n");
}

TEST_F(HecsctlAudit, ListRefusesATimeItCannotRead) {
  auto outcome = run_cli({"audit", "list", "--since", "yesterday", "--url", "http://127.0.0.1:9"});
  EXPECT_EQ(outcome.exit_code, kExitUsage);
  EXPECT_NE(outcome.err.find("--since"), std::string::npos) << outcome.err;
}

}  // namespace
}  // namespace hecs::cli
