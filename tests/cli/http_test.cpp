// hecsctl against a real HTTP server on loopback: what goes on the wire, and what the operator
// sees for each kind of answer.
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_harness.h"
#include "support/tempdir.h"

namespace hecs::cli {
namespace {

using test::CannedHttpServer;
using test::CannedResponse;

constexpr std::int64_t kNow = 1795633200000;  // 2026-11-25T19:00:00Z
constexpr const char* kKey = "k3y-never-printed";
constexpr const char* kPage1 =
    R"({"items": [{"id": "d1", "hostname": "pi-01", "state": "accepted", "online": true,
                   "last_seen": "2026-11-25T18:59:48Z", "inventory": null, "telemetry": null}],
        "next_cursor": "c2/+", "total": 2})";
constexpr const char* kPage2 =
    R"({"items": [{"id": "d2", "hostname": "pi-02", "state": "pending", "online": false,
                   "last_seen": "2026-11-25T18:00:00Z", "inventory": null, "telemetry": null}],
        "next_cursor": null, "total": 2})";
constexpr const char* kNotFound =
    R"({"type": "about:blank", "title": "Not Found", "status": 404,
        "detail": "no device with id d9", "code": "not_found"})";

CannedResponse two_pages(const std::string& target) {
  bool second = target.find("cursor=c2%2F%2B") != std::string::npos;
  return {.body = second ? kPage2 : kPage1};
}

class HecsctlOverHttp : public ::testing::Test {
 protected:
  test::Outcome run_cli(std::vector<std::string> args, bool terminal = false) {
    args.insert(args.end(), {"--api-key", kKey});
    return test::run_cli(args, {.clock = clock_, .stderr_is_terminal = terminal});
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

TEST_F(HecsctlOverHttp, SendsTheBearerKeyAndTheQueryString) {
  CannedHttpServer server(two_pages);
  auto outcome = run_cli(
      {"devices", "list", "--url", server.url(), "--online", "true", "-q", "pi 0", "--limit", "1"});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].request_line, "GET /api/v1/devices?limit=1&online=true&q=pi%200 HTTP/1.1");
  EXPECT_EQ(requests[0].authorization, std::string("Bearer ") + kKey);
}

TEST_F(HecsctlOverHttp, PrintsOnePageAsATable) {
  CannedHttpServer server(two_pages);
  auto outcome = run_cli({"devices", "list", "--url", server.url()});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(outcome.out,
            "ID   HOSTNAME   STATE      ONLINE   LAST SEEN   OS   CPU%   MEM%\n"
            "d1   pi-01      accepted   yes      12s ago     -    -      -\n");
  EXPECT_EQ(outcome.err, "");  // the hint is for a terminal only
}

TEST_F(HecsctlOverHttp, HintsAtAllOnATerminalWhenMorePagesExist) {
  CannedHttpServer server(two_pages);
  auto outcome = run_cli({"devices", "list", "--url", server.url()}, /*terminal=*/true);
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_EQ(outcome.err, "showing 1 of 2; use --all\n");
}

TEST_F(HecsctlOverHttp, AllFollowsNextCursorAcrossTwoPages) {
  CannedHttpServer server(two_pages);
  auto outcome = run_cli({"devices", "list", "--all", "--limit", "1", "--url", server.url()},
                         /*terminal=*/true);
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].request_line, "GET /api/v1/devices?limit=1 HTTP/1.1");
  EXPECT_EQ(requests[1].request_line, "GET /api/v1/devices?limit=1&cursor=c2%2F%2B HTTP/1.1");
  EXPECT_EQ(requests[1].authorization, std::string("Bearer ") + kKey);
  EXPECT_NE(outcome.out.find("d1   pi-01"), std::string::npos) << outcome.out;
  EXPECT_NE(outcome.out.find("d2   pi-02      pending    no       1h ago"), std::string::npos)
      << outcome.out;
  EXPECT_EQ(outcome.err, "");
}

TEST_F(HecsctlOverHttp, AllAsJsonPrintsEveryItemAndTheirTotal) {
  CannedHttpServer server(two_pages);
  auto outcome = run_cli({"devices", "list", "--all", "-o", "json", "--url", server.url()});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  boost::system::error_code ec;
  auto document = boost::json::parse(outcome.out, ec);
  ASSERT_FALSE(ec) << outcome.out;
  EXPECT_EQ(boost::json::serialize(document.at("items").at(1).at("id")), R"("d2")");
  EXPECT_EQ(document.at("total"), 2);
  EXPECT_EQ(document.as_object().size(), 2u);
}

TEST_F(HecsctlOverHttp, OnePageAsYamlKeepsTheServersFields) {
  CannedHttpServer server(two_pages);
  auto outcome = run_cli({"devices", "list", "-o", "yaml", "--url", server.url()});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_NE(outcome.out.find("next_cursor: c2/+\ntotal: 2\n"), std::string::npos) << outcome.out;
}

TEST_F(HecsctlOverHttp, StopsWhenTheServerRepeatsACursor) {
  CannedHttpServer server([](const std::string&) { return CannedResponse{.body = kPage1}; });
  auto outcome = run_cli({"devices", "list", "--all", "--url", server.url()});
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_EQ(server.requests().size(), 2u);
  EXPECT_NE(outcome.err.find("same next_cursor"), std::string::npos) << outcome.err;
}

TEST_F(HecsctlOverHttp, NotFoundProblemExitsOneWithAReadableLine) {
  CannedHttpServer server([](const std::string&) {
    return CannedResponse{
        .status = 404, .content_type = "application/problem+json", .body = kNotFound};
  });
  auto outcome = run_cli({"devices", "show", "d9", "--url", server.url()});
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_EQ(outcome.err, "hecsctl: Not Found: no device with id d9 (HTTP 404)\n");
  EXPECT_EQ(outcome.out, "");
  EXPECT_EQ(server.requests().at(0).request_line, "GET /api/v1/devices/d9 HTTP/1.1");
}

TEST_F(HecsctlOverHttp, ShowEncodesTheIdSoItStaysOnePathSegment) {
  CannedHttpServer server(
      [](const std::string&) { return CannedResponse{.status = 404, .body = kNotFound}; });
  auto outcome = run_cli({"devices", "show", "../../admin?x=1", "--url", server.url()});
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_EQ(server.requests().at(0).request_line,
            "GET /api/v1/devices/..%2F..%2Fadmin%3Fx%3D1 HTTP/1.1");
}

TEST_F(HecsctlOverHttp, ShowPrintsTheDeviceBlock) {
  CannedHttpServer server([](const std::string&) {
    return CannedResponse{.body = R"({"id": "d1", "hostname": "pi-01", "online": true,
        "session": 3, "last_seen": "2026-11-25T18:59:48Z", "inventory": null,
        "telemetry": null})"};
  });
  auto outcome = run_cli({"devices", "show", "d1", "--url", server.url()});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  EXPECT_NE(outcome.out.find("Online:         yes (session 3)\n"), std::string::npos)
      << outcome.out;
}

TEST_F(HecsctlOverHttp, InvalidJsonFromTheServerExitsOne) {
  CannedHttpServer server([](const std::string&) { return CannedResponse{.body = "{nope"}; });
  auto outcome = run_cli({"devices", "list", "--url", server.url()});
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_NE(outcome.err.find("invalid JSON"), std::string::npos) << outcome.err;
}

TEST_F(HecsctlOverHttp, ConnectionRefusedIsOneLineNamingTheUrl) {
  // Bound but not listening: connects are refused, and no parallel test can take the port.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  auto outcome = run_cli({"devices", "list", "--url", url});
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_EQ(outcome.err.rfind("hecsctl: cannot connect to " + url + ": ", 0), 0u) << outcome.err;
  EXPECT_EQ(outcome.err.find('\n'), outcome.err.size() - 1);
  ::close(fd);
}

TEST_F(HecsctlOverHttp, TimeoutIsOneLineNamingTheUrl) {
  CannedHttpServer server([](const std::string&) { return CannedResponse{.status = 0}; });
  auto outcome = run_cli({"devices", "list", "--timeout", "1", "--url", server.url()});
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_EQ(outcome.err, "hecsctl: no answer from " + server.url() + " within 1s\n");
}

TEST_F(HecsctlOverHttp, NeverPrintsTheApiKey) {
  CannedHttpServer server([](const std::string&) {
    return CannedResponse{.status = 401, .body = R"({"title": "Unauthorized"})"};
  });
  auto outcome = run_cli({"devices", "list", "--url", server.url()});
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_EQ(outcome.err, "hecsctl: Unauthorized (HTTP 401)\n");
  EXPECT_EQ(outcome.out.find(kKey), std::string::npos);
}

TEST_F(HecsctlOverHttp, UnknownOutputFormatIsAUsageError) {
  auto outcome = run_cli({"devices", "list", "-o", "xml"});
  EXPECT_EQ(outcome.exit_code, kExitUsage);
  EXPECT_EQ(outcome.err.rfind("hecsctl: ", 0), 0u) << outcome.err;
}

TEST_F(HecsctlOverHttp, MissingVerbIsAUsageError) {
  auto outcome = run_cli({"devices"});
  EXPECT_EQ(outcome.exit_code, kExitUsage);
}

TEST_F(HecsctlOverHttp, EveryVerbHasHelpWithAnExample) {
  std::vector<std::vector<std::string>> verbs{{}};
  for (const auto& [noun, names] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"devices", {"list", "show", "accept", "reject", "revoke"}},
           {"tokens", {"create", "list", "revoke"}},
           {"signing-keys", {"list", "rotate", "activate"}},
           {"keys", {"create", "list", "show", "revoke", "rotate"}},
           {"users", {"list", "show", "create", "set-role", "disable", "enable", "reset-password"}},
           {"tenants", {"list", "show", "create", "rename", "disable", "enable"}},
           {"sessions", {"list", "revoke"}},
           {"audit", {"list", "checkpoint", "export", "verify"}}}) {
    verbs.push_back({noun});
    for (const std::string& name : names) {
      verbs.push_back({noun, name});
    }
  }
  for (const char* alone : {"login", "logout", "whoami", "passwd"}) {
    verbs.push_back({alone});
  }
  for (std::vector<std::string> verb : verbs) {
    verb.emplace_back("--help");
    auto outcome = test::run_cli(verb, {.clock = clock_});
    EXPECT_EQ(outcome.exit_code, kExitOk) << outcome.err;
    EXPECT_NE(outcome.out.find("Example"), std::string::npos) << outcome.out;
    EXPECT_NE(outcome.out.find("hecsctl"), std::string::npos) << outcome.out;
  }
}

TEST_F(HecsctlOverHttp, GlobalOptionsWorkBeforeTheVerbToo) {
  CannedHttpServer server(two_pages);
  auto outcome = test::run_cli({"--url", server.url(), "--api-key", kKey, "devices", "list"},
                               {.clock = clock_});
  EXPECT_EQ(outcome.exit_code, kExitOk) << outcome.err;
}

}  // namespace
}  // namespace hecs::cli
