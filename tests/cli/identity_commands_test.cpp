// hecsctl keys, users, tenants and sessions against a canned HTTP server on loopback: the
// requests they send and what the operator sees.
#include <sstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "cli/cli.h"
#include "cli/cli_harness.h"
#include "support/tempdir.h"

namespace hecs::cli {
namespace {

namespace json = boost::json;
using test::CannedHttpServer;
using test::CannedResponse;

constexpr std::int64_t kNow = 1795633200000;  // 2026-11-25T19:00:00Z
constexpr const char* kKeyId = "1f0c7a52-9d3e-4b8a-a6f1-2e5d7c9b0a14";
constexpr const char* kApiKey = R"({"id": "1f0c7a52-9d3e-4b8a-a6f1-2e5d7c9b0a14", "name": "ci",
  "prefix": "hecs_Ab3dE9", "role": "operator", "state": "active",
  "created_at": "2026-11-25T19:00:00.000Z", "created_by": "user:u1",
  "expires_at": "2027-02-23T19:00:00.000Z", "last_used_at": null, "revoked_at": null,
  "replaced_by": null})";
constexpr const char* kAlice = R"({"id": "5b2e8c1d-0a4f-4e6b-9c3d-7f1a2b3c4d5e",
  "tenant_id": "t1", "username": "alice", "role": "operator",
  "created_at": "2026-11-20T19:00:00.000Z", "password_changed_at": "2026-11-20T19:00:00.000Z",
  "disabled_at": null})";
constexpr const char* kAliceId = "5b2e8c1d-0a4f-4e6b-9c3d-7f1a2b3c4d5e";
constexpr const char* kAcme = R"({"id": "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "name": "acme",
  "created_at": "2026-11-24T19:00:00.000Z", "disabled_at": null})";
constexpr const char* kAcmeId = "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";

CannedResponse problem(int status, const std::string& title, const std::string& detail) {
  return {.status = status,
          .content_type = "application/problem+json",
          .body = json::serialize(json::object{
              {"type", "about:blank"}, {"title", title}, {"status", status}, {"detail", detail}})};
}

std::string with(const char* object, const json::object& more) {
  json::value value = json::parse(object);
  for (const auto& member : more) {
    value.as_object()[member.key()] = member.value();
  }
  return json::serialize(value);
}

std::string list_of(std::initializer_list<const char*> items) {
  json::array out;
  for (const char* item : items) {
    out.push_back(json::parse(item));
  }
  return json::serialize(json::object{{"items", std::move(out)}});
}

class HecsctlIdentity : public ::testing::Test {
 protected:
  test::Outcome run_cli(std::vector<std::string> args, const std::string& stdin_text = "") {
    args.insert(args.end(), {"--api-key", "k3y"});
    std::istringstream in(stdin_text);
    return test::run_cli(args, {.clock = clock_, .in = &in});
  }

  hecs::test::TempDir home_{"cli-home"};
  test::ScopedEnv env_{{{"HOME", home_.path().string()},
                        {"XDG_CONFIG_HOME", std::nullopt},
                        {"HECS_URL", std::nullopt},
                        {"HECS_API_KEY", std::nullopt},
                        {"HECS_CA_FILE", std::nullopt},
                        {"no_proxy", "127.0.0.1"}}};
  test::FixedClock clock_{kNow};
};

TEST_F(HecsctlIdentity, KeysCreatePostsNameRoleAndNinetyDaysAndPrintsTheKeyOnce) {
  CannedHttpServer server([](const std::string&) {
    return CannedResponse{.status = 201,
                          .body = with(kApiKey, {{"key", "hecs_Ab3dE9secretsecret"}})};
  });
  auto outcome =
      run_cli({"keys", "create", "--name", "ci", "--role", "operator", "--url", server.url()});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  auto request = server.requests().at(0);
  EXPECT_EQ(request.request_line, "POST /api/v1/keys HTTP/1.1");
  EXPECT_EQ(json::parse(request.body),
            json::parse(R"({"name": "ci", "role": "operator", "expires_in_s": 7776000})"));
  EXPECT_EQ(outcome.out.rfind("API key (shown only now: hecs-control keeps just its hash and "
                              "cannot show it again):\n\n  hecs_Ab3dE9secretsecret\n\n",
                              0),
            0u)
      << outcome.out;
  EXPECT_NE(outcome.out.find("Expires:  2027-02-23T19:00:00.000Z (in 90d)\n"), std::string::npos)
      << outcome.out;
}

TEST_F(HecsctlIdentity, KeysCreateRefusesABadRoleOrLifetimeBeforeAnyRequest) {
  CannedHttpServer server([](const std::string&) { return CannedResponse{}; });
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"--role", "root", "--expires-in", "7d"},
        {"--role", "viewer", "--expires-in", "733d"},
        {"--role", "viewer", "--expires-in", "30s"},
        {"--role", "viewer", "--expires-in", "1w"}}) {
    std::vector<std::string> args{"keys", "create", "--name", "x", "--url", server.url()};
    args.insert(args.end(), bad.begin(), bad.end());
    auto outcome = run_cli(args);
    EXPECT_EQ(outcome.exit_code, kExitUsage) << bad[1] << " " << bad[3];
  }
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(HecsctlIdentity, KeysListPrintsATableWithoutSecrets) {
  CannedHttpServer server(
      [](const std::string&) { return CannedResponse{.body = list_of({kApiKey})}; });
  auto outcome = run_cli({"keys", "list", "--url", server.url()});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(server.requests().at(0).request_line, "GET /api/v1/keys HTTP/1.1");
  EXPECT_EQ(outcome.out,
            "ID                                     NAME   PREFIX        ROLE       STATE    "
            "EXPIRES   LAST USED\n"
            "1f0c7a52-9d3e-4b8a-a6f1-2e5d7c9b0a14   ci     hecs_Ab3dE9   operator   active   "
            "in 90d    -\n");
}

TEST_F(HecsctlIdentity, KeysRotateSendsTheOverlapAndSaysUntilWhenTheOldKeyWorks) {
  CannedHttpServer server([](const std::string&) {
    return CannedResponse{
        .status = 201,
        .body = with(kApiKey, {{"key", "hecs_new"},
                               {"replaces", "0a0a0a0a-0000-4000-8000-000000000000"},
                               {"old_key_expires_at", "2026-11-25T20:00:00.000Z"}})};
  });
  auto outcome = run_cli({"keys", "rotate", kKeyId, "--overlap", "1h", "--url", server.url()});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  auto request = server.requests().at(0);
  EXPECT_EQ(request.request_line, std::string("POST /api/v1/keys/") + kKeyId + "/rotate HTTP/1.1");
  EXPECT_EQ(json::parse(request.body), json::parse(R"({"overlap_s": 3600})"));
  EXPECT_NE(outcome.out.find("Replaces:  0a0a0a0a-0000-4000-8000-000000000000, which keeps "
                             "working until 2026-11-25T20:00:00.000Z (in 1h)\n"),
            std::string::npos)
      << outcome.out;
  EXPECT_NE(outcome.out.find("\n  hecs_new\n"), std::string::npos);
}

TEST_F(HecsctlIdentity, KeysRotateWithoutOverlapDefaultsToADayAndAcceptsZero) {
  CannedHttpServer server([](const std::string&) {
    return CannedResponse{.status = 201, .body = with(kApiKey, {{"key", "hecs_new"}})};
  });
  ASSERT_EQ(run_cli({"keys", "rotate", kKeyId, "--url", server.url()}).exit_code, kExitOk);
  ASSERT_EQ(run_cli({"keys", "rotate", kKeyId, "--overlap", "0s", "--expires-in", "30d", "--url",
                     server.url()})
                .exit_code,
            kExitOk);
  auto requests = server.requests();
  EXPECT_EQ(json::parse(requests.at(0).body), json::parse(R"({"overlap_s": 86400})"));
  EXPECT_EQ(json::parse(requests.at(1).body),
            json::parse(R"({"overlap_s": 0, "expires_in_s": 2592000})"));
}

TEST_F(HecsctlIdentity, KeysRevokeSendsDeleteAndSaysWhatItDid) {
  CannedHttpServer server([](const std::string&) {
    return CannedResponse{
        .body = with(kApiKey, {{"state", "revoked"}, {"revoked_at", "2026-11-25T19:00:00.000Z"}})};
  });
  auto outcome = run_cli({"keys", "revoke", kKeyId, "--url", server.url()});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(server.requests().at(0).request_line,
            std::string("DELETE /api/v1/keys/") + kKeyId + " HTTP/1.1");
  EXPECT_EQ(outcome.out, std::string("API key ") + kKeyId +
                             " (ci, hecs_Ab3dE9) revoked: hecs-control refuses it from now on\n");
}

TEST_F(HecsctlIdentity, KeysShowOfAnUnknownKeyExitsOne) {
  CannedHttpServer server(
      [](const std::string&) { return problem(404, "not found", "no API key with this id"); });
  auto outcome = run_cli({"keys", "show", "nope", "--url", server.url()});
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_EQ(outcome.err, "hecsctl: not found: no API key with this id (HTTP 404)\n");
}

TEST_F(HecsctlIdentity, UsersCreateSendsThePasswordFromStdinAndTheRole) {
  CannedHttpServer server(
      [](const std::string&) { return CannedResponse{.status = 201, .body = kAlice}; });
  auto outcome = run_cli({"users", "create", "--username", "alice", "--role", "operator",
                          "--password-stdin", "--url", server.url()},
                         "s3cret pass phrase\n");
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  auto request = server.requests().at(0);
  EXPECT_EQ(request.request_line, "POST /api/v1/users HTTP/1.1");
  EXPECT_EQ(json::parse(request.body),
            json::parse(R"({"username": "alice", "password": "s3cret pass phrase",
                            "role": "operator"})"));
  EXPECT_EQ(outcome.out.rfind("user alice created with the role operator", 0), 0u) << outcome.out;
}

TEST_F(HecsctlIdentity, UsersSetRoleFindsTheUserByNameThenPatchesTheRole) {
  CannedHttpServer server([](const std::string& target) {
    if (target == "/api/v1/users") {
      return CannedResponse{.body = list_of({kAlice})};
    }
    return CannedResponse{.body = with(kAlice, {{"role", "admin"}})};
  });
  auto outcome = run_cli({"users", "set-role", "alice", "admin", "--url", server.url()});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].request_line, std::string("PATCH /api/v1/users/") + kAliceId + " HTTP/1.1");
  EXPECT_EQ(requests[1].content_type, "application/json");
  EXPECT_EQ(json::parse(requests[1].body), json::parse(R"({"role": "admin"})"));
  EXPECT_EQ(outcome.out, "user alice now has the role admin\n");
}

TEST_F(HecsctlIdentity, UsersDisableAndEnableByIdPatchOnlyTheFlag) {
  CannedHttpServer server([](const std::string&) { return CannedResponse{.body = kAlice}; });
  ASSERT_EQ(run_cli({"users", "disable", kAliceId, "--url", server.url()}).exit_code, kExitOk);
  ASSERT_EQ(run_cli({"users", "enable", kAliceId, "--url", server.url()}).exit_code, kExitOk);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);  // an id needs no lookup
  EXPECT_EQ(json::parse(requests[0].body), json::parse(R"({"disabled": true})"));
  EXPECT_EQ(json::parse(requests[1].body), json::parse(R"({"disabled": false})"));
}

TEST_F(HecsctlIdentity, AnUnknownUsernameExitsOneBeforeAnyChange) {
  CannedHttpServer server(
      [](const std::string&) { return CannedResponse{.body = list_of({kAlice})}; });
  auto outcome = run_cli(
      {"users", "reset-password", "bob", "--password-stdin", "--url", server.url()}, "pw\n");
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_EQ(outcome.err, "hecsctl: no user with the id or username bob\n");
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(HecsctlIdentity, UsersResetPasswordPatchesThePassword) {
  CannedHttpServer server([](const std::string&) { return CannedResponse{.body = kAlice}; });
  auto outcome =
      run_cli({"users", "reset-password", kAliceId, "--password-stdin", "--url", server.url()},
              "new pass phrase\n");
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(json::parse(server.requests().at(0).body),
            json::parse(R"({"password": "new pass phrase"})"));
  EXPECT_EQ(outcome.out, "password of alice reset; their sessions ended\n");
}

TEST_F(HecsctlIdentity, UsersListShowsStateAndRole) {
  CannedHttpServer server(
      [](const std::string&) { return CannedResponse{.body = list_of({kAlice})}; });
  auto outcome = run_cli({"users", "list", "--url", server.url()});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(outcome.out,
            "ID                                     USERNAME   ROLE       STATE    CREATED   "
            "PASSWORD CHANGED\n"
            "5b2e8c1d-0a4f-4e6b-9c3d-7f1a2b3c4d5e   alice      operator   active   5d ago    "
            "5d ago\n");
}

TEST_F(HecsctlIdentity, TenantsCreateWithAnOwnerSendsTheOwnersPassword) {
  CannedHttpServer server([](const std::string&) {
    return CannedResponse{.status = 201, .body = with(kAcme, {{"owner", json::parse(kAlice)}})};
  });
  auto outcome = run_cli({"tenants", "create", "--name", "acme", "--owner", "alice",
                          "--owner-password-stdin", "--url", server.url()},
                         "owner pass phrase\n");
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(json::parse(server.requests().at(0).body),
            json::parse(R"({"name": "acme", "owner": {"username": "alice",
                                                      "password": "owner pass phrase"}})"));
  EXPECT_NE(outcome.out.find("Owner:    alice (5b2e8c1d-0a4f-4e6b-9c3d-7f1a2b3c4d5e)\n"),
            std::string::npos)
      << outcome.out;
}

TEST_F(HecsctlIdentity, TenantsRenameAndDisableFindTheTenantByName) {
  CannedHttpServer server([](const std::string& target) {
    if (target == "/api/v1/tenants") {
      return CannedResponse{.body = list_of({kAcme})};
    }
    return CannedResponse{.body = with(kAcme, {{"disabled_at", "2026-11-25T19:00:00.000Z"}})};
  });
  ASSERT_EQ(run_cli({"tenants", "rename", "acme", "acme-gmbh", "--url", server.url()}).exit_code,
            kExitOk);
  auto disabled = run_cli({"tenants", "disable", "acme", "--url", server.url()});
  ASSERT_EQ(disabled.exit_code, kExitOk) << disabled.err;
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[1].request_line,
            std::string("PATCH /api/v1/tenants/") + kAcmeId + " HTTP/1.1");
  EXPECT_EQ(json::parse(requests[1].body), json::parse(R"({"name": "acme-gmbh"})"));
  EXPECT_EQ(json::parse(requests[3].body), json::parse(R"({"disabled": true})"));
  EXPECT_EQ(disabled.out.rfind("tenant acme (" + std::string(kAcmeId) + ") is disabled", 0), 0u)
      << disabled.out;
}

TEST_F(HecsctlIdentity, TenantsListNeedsASuperadminAndSaysSo) {
  CannedHttpServer server([](const std::string&) {
    return problem(403, "forbidden", "this needs the role superadmin");
  });
  auto outcome = run_cli({"tenants", "list", "--url", server.url()});
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_EQ(outcome.err, "hecsctl: forbidden: this needs the role superadmin (HTTP 403)\n");
}

TEST_F(HecsctlIdentity, SessionsListAllAsksForTheTenantsSessionsAndNamesTheirUsers) {
  CannedHttpServer server([](const std::string& target) {
    if (target == "/api/v1/users") {
      return CannedResponse{.body = list_of({kAlice})};
    }
    return CannedResponse{.body = R"({"items": [{"id": "s1",
        "user_id": "5b2e8c1d-0a4f-4e6b-9c3d-7f1a2b3c4d5e", "kind": "bearer",
        "created_at": "2026-11-25T18:00:00.000Z", "last_seen_at": "2026-11-25T18:59:00.000Z",
        "expires_at": "2026-11-26T06:00:00.000Z", "source": "10.0.0.7", "user_agent": "hecsctl/0.1",
        "current": false}]})"};
  });
  auto outcome = run_cli({"sessions", "list", "--all", "--url", server.url()});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(server.requests().at(0).target, "/api/v1/sessions?all=true");
  EXPECT_EQ(outcome.out,
            "ID   USER    KIND     SOURCE     CREATED   LAST SEEN   EXPIRES   CURRENT\n"
            "s1   alice   bearer   10.0.0.7   1h ago    1m ago      in 11h    no\n");
}

TEST_F(HecsctlIdentity, SessionsRevokeSendsDelete) {
  CannedHttpServer server([](const std::string&) {
    return CannedResponse{.body = R"({"id": "s1", "current": false})"};
  });
  auto outcome = run_cli({"sessions", "revoke", "s1", "--url", server.url()});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(server.requests().at(0).request_line, "DELETE /api/v1/sessions/s1 HTTP/1.1");
  EXPECT_EQ(outcome.out, "session s1 ended\n");
}

TEST_F(HecsctlIdentity, ANounWithoutAVerbListsItsVerbs) {
  auto outcome = run_cli({"keys"});
  EXPECT_EQ(outcome.exit_code, kExitUsage);
  EXPECT_EQ(outcome.err,
            "hecsctl: \"keys\" needs a verb: create, list, show, revoke, rotate (see hecsctl keys "
            "--help)\n");
}

}  // namespace
}  // namespace hecs::cli
