// hecsctl tokens, signing-keys and devices accept|reject|revoke against a canned HTTP server on
// loopback: the requests they send and what the operator sees for each answer.
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "cli/cli.h"
#include "cli/cli_harness.h"
#include "support/tempdir.h"

namespace hecs::cli {
namespace {

namespace json = boost::json;
using test::CannedHttpServer;
using test::CannedResponse;

constexpr std::int64_t kNow = 1795633200000;  // 2026-11-25T19:00:00Z
constexpr const char* kDevice = "6f1c2a4e-0b1d-4c3e-9f8a-2b7d5e4c1a90";
constexpr const char* kTokenId = "0b6e2f7a-3c1d-4e5f-8a9b-1c2d3e4f5a6b";
constexpr const char* kToken =
    R"({"id": "0b6e2f7a-3c1d-4e5f-8a9b-1c2d3e4f5a6b", "prefix": "hecs_et_Ab3dE9",
        "description": "", "tags": ["site=berlin"], "auto_approve": false, "max_uses": 1,
        "uses": 0, "created_at": "2026-11-25T19:00:00.000Z",
        "expires_at": "2026-11-26T19:00:00.000Z", "revoked_at": null})";
constexpr const char* kKeys =
    R"({"items": [{"kid": "k1", "public_key": "pubA", "state": "active",
                   "created_at": "2026-11-20T19:00:00.000Z"},
                  {"kid": "k2", "public_key": "pubB", "state": "next",
                   "created_at": "2026-11-25T18:59:00.000Z"}]})";

CannedResponse problem(int status, const std::string& title, const std::string& detail) {
  return {.status = status,
          .content_type = "application/problem+json",
          .body = json::serialize(json::object{
              {"type", "about:blank"}, {"title", title}, {"status", status}, {"detail", detail}})};
}

CannedResponse created_token(const std::string&) {
  json::value token = json::parse(kToken);
  token.as_object()["token"] = "hecs_et_Ab3dE9secretpart";
  token.as_object()["ca_sha256"] = "0123456789abcdef";
  return {.status = 201, .body = json::serialize(token)};
}

class HecsctlEnrolment : public ::testing::Test {
 protected:
  test::Outcome run_cli(std::vector<std::string> args) {
    args.insert(args.end(), {"--api-key", "k3y"});
    return test::run_cli(args, {.clock = clock_});
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

TEST_F(HecsctlEnrolment, TokensCreatePostsTheRequestedLimitsAsJson) {
  CannedHttpServer server(created_token);
  auto outcome = run_cli({"tokens", "create", "--url", server.url(), "--expires-in", "7d",
                          "--max-uses", "20", "--tag", "site=berlin", "--tag", "rack=2",
                          "--auto-approve", "--description", "berlin rack 2"});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  auto request = server.requests().at(0);
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/api/v1/enrollment-tokens");
  EXPECT_EQ(request.content_type, "application/json");
  EXPECT_EQ(json::parse(request.body), json::parse(R"({"expires_in_s": 604800, "max_uses": 20,
      "tags": ["site=berlin", "rack=2"], "auto_approve": true, "description": "berlin rack 2"})"));
}

TEST_F(HecsctlEnrolment, TokensCreateDefaultsToADayAndOneUse) {
  CannedHttpServer server(created_token);
  auto outcome = run_cli({"tokens", "create", "--url", server.url()});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(json::parse(server.requests().at(0).body),
            json::parse(R"({"expires_in_s": 86400, "max_uses": 1, "tags": [],
                            "auto_approve": false, "description": ""})"));
}

TEST_F(HecsctlEnrolment, TokensCreatePrintsTheTokenOnceAndTheEnrolmentFile) {
  CannedHttpServer server(created_token);
  auto outcome = run_cli({"tokens", "create", "--url", server.url()});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_NE(outcome.out.find("shown only now"), std::string::npos) << outcome.out;
  EXPECT_NE(outcome.out.find("\n  hecs_et_Ab3dE9secretpart\n"), std::string::npos);
  EXPECT_NE(outcome.out.find("CA SHA-256:    0123456789abcdef\n"), std::string::npos);
  std::string marker = "Save this as hecs-enroll.yaml on the node's boot partition:\n\n";
  auto snippet = outcome.out.find(marker);
  ASSERT_NE(snippet, std::string::npos) << outcome.out;
  YAML::Node file = YAML::Load(outcome.out.substr(snippet + marker.size()));
  EXPECT_EQ(file["token"].as<std::string>(), "hecs_et_Ab3dE9secretpart");
  EXPECT_EQ(file["control_url"].as<std::string>(), server.url());
  EXPECT_EQ(file["ca_sha256"].as<std::string>(), "0123456789abcdef");
  // 127.0.0.1 is no address for a node: the operator is told so, apart from the output.
  EXPECT_NE(outcome.err.find("note: control_url is " + server.url()), std::string::npos)
      << outcome.err;
}

TEST_F(HecsctlEnrolment, TokensCreateAsJsonIsTheServersObject) {
  CannedHttpServer server(created_token);
  auto outcome = run_cli({"tokens", "create", "-o", "json", "--url", server.url()});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(json::parse(outcome.out), json::parse(created_token("").body));
  EXPECT_EQ(outcome.err, "");
}

TEST_F(HecsctlEnrolment, TokensCreateRefusesABadDurationBeforeAnyRequest) {
  CannedHttpServer server(created_token);
  for (const char* bad : {"90", "30s", "366d", "1w"}) {
    auto outcome = run_cli({"tokens", "create", "--expires-in", bad, "--url", server.url()});
    EXPECT_EQ(outcome.exit_code, kExitUsage) << bad;
    EXPECT_NE(outcome.err.find("--expires-in"), std::string::npos) << outcome.err;
  }
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(HecsctlEnrolment, TokensCreateRefusesABadTagOrTooManyTags) {
  CannedHttpServer server(created_token);
  auto bad = run_cli({"tokens", "create", "--tag", "site berlin", "--url", server.url()});
  EXPECT_EQ(bad.exit_code, kExitUsage);
  EXPECT_NE(bad.err.find("--tag"), std::string::npos) << bad.err;
  std::vector<std::string> args{"tokens", "create", "--url", server.url()};
  for (int i = 0; i < 33; ++i) {
    args.insert(args.end(), {"--tag", "t" + std::to_string(i)});
  }
  auto many = run_cli(args);
  EXPECT_EQ(many.exit_code, kExitUsage);
  EXPECT_EQ(many.err, "hecsctl: at most 32 --tag options\n");
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(HecsctlEnrolment, TokensCreateShowsTheServersRejection) {
  CannedHttpServer server([](const std::string&) {
    return problem(400, "invalid request", "max_uses must be 1..100000");
  });
  auto outcome = run_cli({"tokens", "create", "--url", server.url()});
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_EQ(outcome.err, "hecsctl: invalid request: max_uses must be 1..100000 (HTTP 400)\n");
  EXPECT_EQ(outcome.out, "");
}

TEST_F(HecsctlEnrolment, TokensListPrintsATableWithoutSecrets) {
  CannedHttpServer server([](const std::string&) {
    return CannedResponse{.body = std::string(R"({"items": [)") + kToken + "]}"};
  });
  auto outcome = run_cli({"tokens", "list", "--url", server.url()});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(server.requests().at(0).request_line, "GET /api/v1/enrollment-tokens HTTP/1.1");
  EXPECT_EQ(outcome.out,
            "ID                                     PREFIX           USES   EXPIRES   AUTO-APPROVE"
            "   TAGS          STATE\n"
            "0b6e2f7a-3c1d-4e5f-8a9b-1c2d3e4f5a6b   hecs_et_Ab3dE9   0/1    in 1d     no          "
            "   site=berlin   active\n");
}

TEST_F(HecsctlEnrolment, TokensListSaysHowToMakeOneWhenThereAreNone) {
  CannedHttpServer server(
      [](const std::string&) { return CannedResponse{.body = R"({"items": []})"}; });
  auto outcome = run_cli({"tokens", "list", "--url", server.url()});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(outcome.out, "");
  EXPECT_EQ(outcome.err, "no enrollment tokens; make one with hecsctl tokens create\n");
}

TEST_F(HecsctlEnrolment, TokensListAsYamlKeepsTheServersFields) {
  CannedHttpServer server([](const std::string&) {
    return CannedResponse{.body = std::string(R"({"items": [)") + kToken + "]}"};
  });
  auto outcome = run_cli({"tokens", "list", "-o", "yaml", "--url", server.url()});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  YAML::Node list = YAML::Load(outcome.out);
  EXPECT_EQ(list["items"][0]["prefix"].as<std::string>(), "hecs_et_Ab3dE9");
  EXPECT_TRUE(list["items"][0]["revoked_at"].IsNull());
}

TEST_F(HecsctlEnrolment, TokensRevokeSendsDeleteAndSaysWhatItDid) {
  CannedHttpServer server([](const std::string&) {
    json::value token = json::parse(kToken);
    token.as_object()["revoked_at"] = "2026-11-25T19:00:00.000Z";
    return CannedResponse{.body = json::serialize(token)};
  });
  auto outcome = run_cli({"tokens", "revoke", kTokenId, "--url", server.url()});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(server.requests().at(0).request_line,
            std::string("DELETE /api/v1/enrollment-tokens/") + kTokenId + " HTTP/1.1");
  EXPECT_EQ(outcome.out.rfind(std::string("enrollment token ") + kTokenId +
                                  " (hecs_et_Ab3dE9) revoked: no device can enrol with it",
                              0),
            0u)
      << outcome.out;
}

TEST_F(HecsctlEnrolment, TokensRevokeOfAnUnknownIdExitsOne) {
  CannedHttpServer server(
      [](const std::string&) { return problem(404, "not found", "no such enrollment token"); });
  auto outcome = run_cli({"tokens", "revoke", "../x", "--url", server.url()});
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_EQ(outcome.err, "hecsctl: not found: no such enrollment token (HTTP 404)\n");
  EXPECT_EQ(server.requests().at(0).target, "/api/v1/enrollment-tokens/..%2Fx");
}

class DeviceDecision : public HecsctlEnrolment,
                       public ::testing::WithParamInterface<std::pair<const char*, const char*>> {};

TEST_P(DeviceDecision, PostsToTheDevicesRouteAndSaysTheNewState) {
  auto [verb, state] = GetParam();
  CannedHttpServer server([state = std::string(state)](const std::string&) {
    return CannedResponse{
        .body = json::serialize(json::object{{"device_id", kDevice}, {"state", state}})};
  });
  auto outcome = run_cli({"devices", verb, kDevice, "--url", server.url()});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  auto request = server.requests().at(0);
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, std::string("/api/v1/devices/") + kDevice + "/" + verb);
  EXPECT_EQ(outcome.out.rfind(std::string("device ") + kDevice + " is now " + state + ": ", 0), 0u)
      << outcome.out;
}

TEST_P(DeviceDecision, AnImpossibleTransitionExitsOneWithTheServersReason) {
  auto [verb, state] = GetParam();
  CannedHttpServer server([](const std::string&) {
    return problem(409, "conflict", "device is rejected, cannot become accepted");
  });
  auto outcome = run_cli({"devices", verb, kDevice, "--url", server.url()});
  EXPECT_EQ(outcome.exit_code, kExitFailure) << state;
  EXPECT_EQ(outcome.err,
            "hecsctl: conflict: device is rejected, cannot become accepted (HTTP 409)\n");
  EXPECT_EQ(outcome.out, "");
}

TEST_P(DeviceDecision, AnUnknownDeviceExitsOne) {
  auto [verb, state] = GetParam();
  CannedHttpServer server([](const std::string&) {
    return problem(404, "not found", "no enrolled device with this id");
  });
  auto outcome = run_cli({"devices", verb, kDevice, "-o", "json", "--url", server.url()});
  EXPECT_EQ(outcome.exit_code, kExitFailure) << state;
  EXPECT_EQ(outcome.err, "hecsctl: not found: no enrolled device with this id (HTTP 404)\n");
}

INSTANTIATE_TEST_SUITE_P(Verbs, DeviceDecision,
                         ::testing::Values(std::pair{"accept", "accepted"},
                                           std::pair{"reject", "rejected"},
                                           std::pair{"revoke", "revoked"}),
                         [](const auto& param_info) {
                           return std::string(param_info.param.first);
                         });

TEST_F(HecsctlEnrolment, DeviceDecisionAsJsonIsTheServersObject) {
  CannedHttpServer server([](const std::string&) {
    return CannedResponse{.body = R"({"device_id": "d1", "state": "accepted"})"};
  });
  auto outcome = run_cli({"devices", "accept", "d1", "-o", "json", "--url", server.url()});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(json::parse(outcome.out), json::parse(R"({"device_id": "d1", "state": "accepted"})"));
}

TEST_F(HecsctlEnrolment, SigningKeysRotatePublishesANextKeyAndSaysWhatComesNext) {
  CannedHttpServer server(
      [](const std::string&) { return CannedResponse{.status = 201, .body = kKeys}; });
  auto outcome = run_cli({"signing-keys", "rotate", "--url", server.url()});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(server.requests().at(0).request_line, "POST /api/v1/signing-keys HTTP/1.1");
  EXPECT_EQ(outcome.out,
            "published next key k2; once devices have reconnected, run hecsctl signing-keys "
            "activate\n"
            "\n"
            "KID   STATE    CREATED   PUBLIC KEY\n"
            "k1    active   5d ago    pubA\n"
            "k2    next     1m ago    pubB\n");
}

TEST_F(HecsctlEnrolment, SigningKeysRotateWhileAKeyIsWaitingExitsOne) {
  CannedHttpServer server([](const std::string&) {
    return problem(409, "conflict", "key k2 is already waiting to be activated");
  });
  auto outcome = run_cli({"signing-keys", "rotate", "--url", server.url()});
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_EQ(outcome.err,
            "hecsctl: conflict: key k2 is already waiting to be activated (HTTP 409)\n");
}

TEST_F(HecsctlEnrolment, SigningKeysActivateAndListUseTheirRoutes) {
  CannedHttpServer server([](const std::string&) { return CannedResponse{.body = kKeys}; });
  auto activated = run_cli({"signing-keys", "activate", "--url", server.url()});
  ASSERT_EQ(activated.exit_code, kExitOk) << activated.err;
  EXPECT_EQ(activated.out.rfind("key k1 is active: commands are signed with it from now on\n", 0),
            0u)
      << activated.out;
  auto listed = run_cli({"signing-keys", "list", "-o", "json", "--url", server.url()});
  ASSERT_EQ(listed.exit_code, kExitOk) << listed.err;
  EXPECT_EQ(json::parse(listed.out), json::parse(kKeys));
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].request_line, "POST /api/v1/signing-keys/activate HTTP/1.1");
  EXPECT_EQ(requests[1].request_line, "GET /api/v1/signing-keys HTTP/1.1");
}

TEST_F(HecsctlEnrolment, ANounWithoutAVerbListsItsVerbs) {
  auto outcome = run_cli({"tokens"});
  EXPECT_EQ(outcome.exit_code, kExitUsage);
  EXPECT_EQ(outcome.err,
            "hecsctl: \"tokens\" needs a verb: create, list, revoke (see hecsctl tokens --help)\n");
}

}  // namespace
}  // namespace hecs::cli
