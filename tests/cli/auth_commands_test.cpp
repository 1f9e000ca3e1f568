// hecsctl login, logout, whoami and passwd against a canned HTTP server on loopback: what they
// send, what they save in the config file, and what the operator sees.
#include <fstream>
#include <sstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <sys/stat.h>
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
constexpr const char* kToken = "hecss_c2Vzc2lvbi10b2tlbi1mb3ItdGVzdHMtb25seS0xMjM0NTY3";
constexpr const char* kKey = "hecs_oyWv9lz4nQ2DbbH60W1yfidzjJtUdrGf1QRHxJ";
constexpr const char* kLogin = R"({
  "user": {"id": "u1", "username": "admin", "role": "superadmin", "tenant_id": "t1"},
  "session": {"id": "s1", "user_id": "u1", "kind": "bearer",
              "created_at": "2026-11-25T19:00:00.000Z", "last_seen_at": "2026-11-25T19:00:00.000Z",
              "expires_at": "2026-11-26T07:00:00.000Z", "source": "127.0.0.1", "user_agent": "",
              "current": true},
  "csrf_token": "csrf",
  "token": "hecss_c2Vzc2lvbi10b2tlbi1mb3ItdGVzdHMtb25seS0xMjM0NTY3"})";
constexpr const char* kMeSession = R"({"kind": "session", "tenant_id": "t1",
  "tenant_name": "default", "role": "superadmin", "user_id": "u1", "username": "admin",
  "session_id": "s1"})";
constexpr const char* kMeKey = R"({"kind": "api_key", "tenant_id": "t1",
  "tenant_name": "default", "role": "superadmin", "key_id": "k1"})";

CannedResponse problem(int status, const std::string& title, const std::string& detail) {
  return {.status = status,
          .content_type = "application/problem+json",
          .body = json::serialize(json::object{
              {"type", "about:blank"}, {"title", title}, {"status", status}, {"detail", detail}})};
}

// A control plane that lets admin log in and answers /auth/me and /auth/logout.
CannedResponse control_plane(const std::string& target) {
  if (target == "/api/v1/auth/login") {
    return {.status = 201, .body = kLogin};
  }
  if (target == "/api/v1/auth/me") {
    return {.body = kMeSession};
  }
  if (target == "/api/v1/auth/logout" || target == "/api/v1/auth/password") {
    return {.status = 204};
  }
  return problem(404, "not found", "no such route");
}

class HecsctlAuth : public ::testing::Test {
 protected:
  // hecsctl with stdin and the terminal's answers given by the test.
  test::Outcome run_cli(const std::vector<std::string>& args, const std::string& stdin_text = "") {
    std::istringstream in(stdin_text);
    return test::run_cli(
        args, {.clock = clock_, .in = &in, .prompt_secret = [this](std::string_view prompt) {
                 prompts_.emplace_back(prompt);
                 std::string answer = answers_.empty() ? "" : answers_.front();
                 if (!answers_.empty()) {
                   answers_.erase(answers_.begin());
                 }
                 return Result<std::string>(answer);
               }});
  }
  std::filesystem::path config_path() const {
    return home_.path() / ".config" / "hecs" / "config.yaml";
  }
  void write_config(const std::string& text) {
    std::filesystem::create_directories(config_path().parent_path());
    std::ofstream(config_path()) << text;
  }
  YAML::Node config() const { return YAML::LoadFile(config_path().string()); }

  hecs::test::TempDir home_{"cli-home"};
  test::ScopedEnv env_{{{"HOME", home_.path().string()},
                        {"XDG_CONFIG_HOME", std::nullopt},
                        {"HECS_URL", std::nullopt},
                        {"HECS_API_KEY", std::nullopt},
                        {"HECS_CA_FILE", std::nullopt},
                        {"no_proxy", "127.0.0.1"}}};
  test::FixedClock clock_{kNow};
  std::vector<std::string> answers_;  // what the person types at each prompt
  std::vector<std::string> prompts_;
};

TEST_F(HecsctlAuth, LoginWithAUsernameAsksForThePasswordAndSavesTheSessionToken) {
  CannedHttpServer server(control_plane);
  answers_ = {"correct horse"};
  auto outcome = run_cli({"login", "--username", "admin", "--url", server.url()});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(prompts_, std::vector<std::string>{"Password for admin: "});
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].request_line, "POST /api/v1/auth/login HTTP/1.1");
  EXPECT_EQ(json::parse(requests[0].body),
            json::parse(R"({"username": "admin", "password": "correct horse", "mode": "token"})"));
  EXPECT_EQ(requests[0].authorization, "");  // nothing configured, nothing sent
  EXPECT_EQ(requests[1].request_line, "GET /api/v1/auth/me HTTP/1.1");
  EXPECT_EQ(requests[1].authorization, std::string("Bearer ") + kToken);

  EXPECT_EQ(config()["token"].as<std::string>(), kToken);
  EXPECT_EQ(config()["url"].as<std::string>(), server.url());  // given as a flag: saved
  EXPECT_FALSE(config()["api_key"]);
  struct stat info {};
  ASSERT_EQ(::stat(config_path().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_EQ(outcome.out,
            "logged in as admin (superadmin) in tenant default\n"
            "saved the session token to " +
                config_path().string() +
                " (mode 0600); the session ends 2026-11-26T07:00:00.000Z (in 12h)\n");
  EXPECT_EQ(outcome.out.find(kToken), std::string::npos);
}

TEST_F(HecsctlAuth, LoginKeepsTheUrlAndCaFileOfTheConfigFile) {
  CannedHttpServer server(control_plane);
  write_config("url: " + server.url() + "\nca_file: hecs-ca.pem\napi_key: hecs_old\n");
  std::ofstream(config_path().parent_path() / "hecs-ca.pem") << "pem\n";
  auto outcome = run_cli({"login", "--username", "admin", "--password-stdin"}, "pw\n");
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(json::parse(server.requests().at(0).body).at("password"), "pw");
  EXPECT_EQ(config()["url"].as<std::string>(), server.url());
  EXPECT_EQ(config()["ca_file"].as<std::string>(), "hecs-ca.pem");  // still relative
  EXPECT_EQ(config()["token"].as<std::string>(), kToken);
  EXPECT_FALSE(config()["api_key"]);  // else it would win over the new token
}

TEST_F(HecsctlAuth, LoginEndsTheSessionItReplaces) {
  CannedHttpServer server(control_plane);
  write_config("url: " + server.url() + "\ntoken: hecss_old\n");
  auto outcome = run_cli({"login", "--username", "admin", "--password-stdin"}, "pw\n");
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].authorization, "");  // a wrong password must not read as "log in again"
  EXPECT_EQ(requests[2].request_line, "POST /api/v1/auth/logout HTTP/1.1");
  EXPECT_EQ(requests[2].authorization, "Bearer hecss_old");
  EXPECT_EQ(config()["token"].as<std::string>(), kToken);
}

TEST_F(HecsctlAuth, ARefusedSessionTokenSuggestsLoggingInAgain) {
  CannedHttpServer server(
      [](const std::string&) { return problem(401, "unauthorized", "invalid session"); });
  write_config(std::string("url: ") + server.url() + "\ntoken: " + kToken + "\n");
  auto outcome = run_cli({"devices", "list"});
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_EQ(outcome.err,
            "hecsctl: unauthorized: invalid session (HTTP 401); the session may have ended: run "
            "hecsctl login again\n");
}

TEST_F(HecsctlAuth, LoginWithTheAdminCredentialsFileChecksTheKeyAndSavesIt) {
  CannedHttpServer server([](const std::string& target) {
    return target == "/api/v1/auth/me" ? CannedResponse{.body = kMeKey}
                                       : problem(404, "not found", "");
  });
  write_config("token: hecss_old\n");
  hecs::test::TempDir dir("cli-creds");
  std::ofstream(dir.path() / "admin-credentials")
      << "# hecs-control first-start credentials of tenant 'default' (superadmin).\n"
         "# The API key (HECS_API_KEY, or: hecsctl login --api-key-file THIS_FILE):\n"
      << kKey << "\n# The admin panel's user:\nusername: admin\npassword: pw\n";
  auto outcome = run_cli({"login", "--api-key-file", (dir.path() / "admin-credentials").string(),
                          "--url", server.url()});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(server.requests().at(0).authorization, std::string("Bearer ") + kKey);
  EXPECT_EQ(config()["api_key"].as<std::string>(), kKey);
  EXPECT_FALSE(config()["token"]);
  EXPECT_EQ(outcome.out.rfind("logged in as API key k1 (superadmin) in tenant default\n", 0), 0u)
      << outcome.out;
}

TEST_F(HecsctlAuth, LoginWithAKeyOnStdinTakesItsFirstKeyLine) {
  CannedHttpServer server([](const std::string&) { return CannedResponse{.body = kMeKey}; });
  auto outcome = run_cli({"login", "--api-key-stdin", "--url", server.url(), "-o", "json"},
                         std::string("\n  \n") + kKey + "\r\n");
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(config()["api_key"].as<std::string>(), kKey);
  EXPECT_EQ(json::parse(outcome.out), json::parse(kMeKey));  // who, never the key
}

TEST_F(HecsctlAuth, LoginWithAKeyTheServerRefusesSavesNothing) {
  CannedHttpServer server(
      [](const std::string&) { return problem(401, "unauthorized", "invalid API key"); });
  write_config("url: " + server.url() + "\n");
  auto outcome = run_cli({"login", "--api-key-stdin"}, std::string(kKey) + "\n");
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_EQ(outcome.err, "hecsctl: unauthorized: invalid API key (HTTP 401)\n");
  EXPECT_FALSE(config()["api_key"]);
}

TEST_F(HecsctlAuth, LoginWithAWrongPasswordExitsOneAndWritesNoConfig) {
  CannedHttpServer server([](const std::string&) {
    return problem(401, "unauthorized", "invalid username or password");
  });
  answers_ = {"wrong"};
  auto outcome = run_cli({"login", "--username", "admin", "--url", server.url()});
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_EQ(outcome.err, "hecsctl: unauthorized: invalid username or password (HTTP 401)\n");
  EXPECT_FALSE(std::filesystem::exists(config_path()));
}

TEST_F(HecsctlAuth, AThrottledLoginSaysWhenToTryAgain) {
  CannedHttpServer server([](const std::string&) {
    CannedResponse r = problem(429, "too many requests", "too many failed logins: try again later");
    r.headers = {"Retry-After: 42"};
    return r;
  });
  auto outcome =
      run_cli({"login", "--username", "admin", "--password-stdin", "--url", server.url()}, "pw\n");
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_EQ(outcome.err,
            "hecsctl: too many requests: too many failed logins: try again later (HTTP 429); "
            "retry in 42s\n");
}

TEST_F(HecsctlAuth, LoginNeedsAWayToLogIn) {
  auto outcome = run_cli({"login"});
  EXPECT_EQ(outcome.exit_code, kExitUsage);
  EXPECT_EQ(outcome.err.rfind("hecsctl: login needs --username, --api-key-file or", 0), 0u);
  auto both = run_cli({"login", "--username", "a", "--api-key-stdin"});
  EXPECT_EQ(both.exit_code, kExitUsage);
}

TEST_F(HecsctlAuth, LoginWithoutATerminalNamesThePasswordStdinFlag) {
  CannedHttpServer server(control_plane);
  std::istringstream in;
  // No prompt_secret: the real /dev/tty, which a test under ctest does not have.
  auto outcome = test::run_cli({"login", "--username", "admin", "--url", server.url()},
                               {.clock = clock_, .in = &in});
  if (outcome.exit_code == kExitUsage) {
    EXPECT_NE(outcome.err.find("--password-stdin"), std::string::npos) << outcome.err;
    EXPECT_TRUE(server.requests().empty());
  } else {
    GTEST_SKIP() << "this test runs with a controlling terminal";
  }
}

TEST_F(HecsctlAuth, TheSavedTokenIsSentAsABearerCredential) {
  CannedHttpServer server(control_plane);
  write_config(std::string("url: ") + server.url() + "\ntoken: " + kToken + "\n");
  auto outcome = run_cli({"whoami"});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(server.requests().at(0).authorization, std::string("Bearer ") + kToken);
  EXPECT_EQ(outcome.out,
            "User:     admin (u1)\n"
            "Role:     superadmin\n"
            "Tenant:   default (t1)\n"
            "Session:  s1\n");
}

TEST_F(HecsctlAuth, WhoamiWithAnApiKeyNamesTheKey) {
  CannedHttpServer server([](const std::string&) { return CannedResponse{.body = kMeKey}; });
  auto outcome = run_cli({"whoami", "--url", server.url(), "--api-key", kKey});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(outcome.out, "API key:  k1\nRole:     superadmin\nTenant:   default (t1)\n");
}

TEST_F(HecsctlAuth, LogoutEndsTheSessionAndForgetsOnlyTheToken) {
  CannedHttpServer server(control_plane);
  write_config(std::string("url: ") + server.url() + "\ntoken: " + kToken + "\n");
  auto outcome = run_cli({"logout"});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  auto request = server.requests().at(0);
  EXPECT_EQ(request.request_line, "POST /api/v1/auth/logout HTTP/1.1");
  EXPECT_EQ(request.authorization, std::string("Bearer ") + kToken);
  EXPECT_FALSE(config()["token"]);
  EXPECT_EQ(config()["url"].as<std::string>(), server.url());
  EXPECT_EQ(outcome.out, "logged out: ended the session and removed the credential from " +
                             config_path().string() + "\n");
}

TEST_F(HecsctlAuth, LogoutForgetsTheTokenEvenWhenTheServerCannotEndTheSession) {
  CannedHttpServer server(
      [](const std::string&) { return problem(503, "service unavailable", ""); });
  write_config(std::string("url: ") + server.url() + "\ntoken: " + kToken + "\n");
  auto outcome = run_cli({"logout"});
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_NE(outcome.err.find("could not end the session on the server"), std::string::npos);
  EXPECT_FALSE(config()["token"]);
}

TEST_F(HecsctlAuth, LogoutOfAnApiKeySaysTheKeyStillWorks) {
  write_config(std::string("api_key: ") + kKey + "\n");
  auto outcome = run_cli({"logout"});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_FALSE(config()["api_key"]);
  EXPECT_NE(outcome.out.find("still works until it expires or is revoked"), std::string::npos);
}

TEST_F(HecsctlAuth, PasswdAsksForTheCurrentAndTwiceTheNewPassword) {
  CannedHttpServer server(control_plane);
  write_config(std::string("url: ") + server.url() + "\ntoken: " + kToken + "\n");
  answers_ = {"old pw", "new pw", "new pw"};
  auto outcome = run_cli({"passwd"});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(prompts_, (std::vector<std::string>{
                          "Current password: ", "New password: ", "New password again: "}));
  auto request = server.requests().at(0);
  EXPECT_EQ(request.request_line, "POST /api/v1/auth/password HTTP/1.1");
  EXPECT_EQ(json::parse(request.body),
            json::parse(R"({"current_password": "old pw", "new_password": "new pw"})"));
}

TEST_F(HecsctlAuth, PasswdRefusesTwoDifferentNewPasswordsBeforeAnyRequest) {
  CannedHttpServer server(control_plane);
  write_config(std::string("url: ") + server.url() + "\ntoken: " + kToken + "\n");
  answers_ = {"old pw", "new pw", "new pq"};
  auto outcome = run_cli({"passwd"});
  EXPECT_EQ(outcome.exit_code, kExitUsage);
  EXPECT_EQ(outcome.err, "hecsctl: the two passwords differ\n");
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(HecsctlAuth, PasswdReadsBothPasswordsFromStdin) {
  CannedHttpServer server(control_plane);
  write_config(std::string("url: ") + server.url() + "\ntoken: " + kToken + "\n");
  auto outcome = run_cli({"passwd", "--stdin"}, "old pw\nnew pw\n");
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(json::parse(server.requests().at(0).body),
            json::parse(R"({"current_password": "old pw", "new_password": "new pw"})"));
  EXPECT_TRUE(prompts_.empty());
}

TEST_F(HecsctlAuth, PasswdWithAnApiKeyIsAUsageError) {
  auto outcome = run_cli({"passwd", "--api-key", kKey, "--url", "http://127.0.0.1:9"});
  EXPECT_EQ(outcome.exit_code, kExitUsage);
  EXPECT_NE(outcome.err.find("an API key has no password"), std::string::npos);
}

TEST_F(HecsctlAuth, AWrongCurrentPasswordExitsOne) {
  CannedHttpServer server([](const std::string&) {
    return problem(403, "forbidden", "the current password is wrong");
  });
  write_config(std::string("url: ") + server.url() + "\ntoken: " + kToken + "\n");
  auto outcome = run_cli({"passwd", "--stdin"}, "bad\nnew pw\n");
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_EQ(outcome.err, "hecsctl: forbidden: the current password is wrong (HTTP 403)\n");
}

}  // namespace
}  // namespace hecs::cli
