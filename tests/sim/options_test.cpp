// hecs-sim's TLS and enrolment flags, and the pieces of enrolment that need no server: the URL,
// the token file, and what an answer of POST /api/v1/enroll means.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/config/config.h"
#include "sim/enroll.h"
#include "sim/sim.h"
#include "support/tempdir.h"

namespace hecs::sim {
namespace {

// The options after parsing `args` as hecs-sim's command line; `code` gets parse()'s exit code
// (-1 when it went on) and `err` what it wrote.
Options parse_flags(std::vector<std::string> args, int& code, std::string& err) {
  Options options;
  CLI::App cli("hecs-sim", "hecs-sim");
  add_flags(cli, options);
  args.insert(args.begin(), "hecs-sim");
  std::vector<const char*> argv;
  argv.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.c_str());
  }
  std::ostringstream out, errors;
  auto stop = config::parse(cli, static_cast<int>(argv.size()), argv.data(), out, errors);
  code = stop ? *stop : -1;
  err = errors.str();
  return options;
}

Options tls_options() {
  Options o;
  o.mqtt_url = "mqtts://localhost:8883";
  o.ca_file = "/ca.pem";
  o.state_dir = "/state";
  return o;
}

Options enrol_options() {
  Options o = tls_options();
  o.enroll_url = "https://localhost:8443";
  o.enroll_token = "hecs_et_x";
  return o;
}

TEST(SimTlsOptions, ParsesEveryTlsAndEnrolmentFlag) {
  int code = 0;
  std::string err;
  auto o =
      parse_flags({"--mqtt-url", "mqtts://localhost:8883", "--ca-file", "ca.pem", "--state-dir",
                   "state", "--enroll-url", "https://localhost:8443", "--enroll-token",
                   "hecs_et_abc", "--enroll-concurrency", "16", "--enroll-only"},
                  code, err);
  EXPECT_EQ(code, -1) << err;
  EXPECT_EQ(o.ca_file, "ca.pem");
  EXPECT_EQ(o.state_dir, "state");
  EXPECT_EQ(o.enroll_url, "https://localhost:8443");
  EXPECT_EQ(o.enroll_token, "hecs_et_abc");
  EXPECT_EQ(o.enroll_concurrency, 16u);
  EXPECT_TRUE(o.enroll_only);
  EXPECT_TRUE(check_options(o)) << check_options(o).error().message;
}

TEST(SimTlsOptions, RefusesAPlainHttpEnrolmentUrlAndAConcurrencyOutOfRange) {
  int code = 0;
  std::string err;
  parse_flags({"--enroll-url", "http://localhost:8080"}, code, err);
  EXPECT_EQ(code, config::kUsageExitCode);
  EXPECT_NE(err.find("--enroll-url"), std::string::npos) << err;
  parse_flags({"--enroll-concurrency", "0"}, code, err);
  EXPECT_EQ(code, config::kUsageExitCode) << err;
  parse_flags({"--enroll-concurrency", "65"}, code, err);
  EXPECT_EQ(code, config::kUsageExitCode) << err;
}

TEST(SimTlsOptions, MqttsNeedsACaFileAndAStateDir) {
  EXPECT_TRUE(check_options(tls_options()));
  auto no_ca = tls_options();
  no_ca.ca_file.clear();
  auto no_dir = tls_options();
  no_dir.state_dir.clear();
  for (const auto& o : {no_ca, no_dir}) {
    auto r = check_options(o);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::invalid_input);
    EXPECT_NE(r.error().message.find("--ca-file"), std::string::npos) << r.error().message;
  }
}

TEST(SimTlsOptions, PlainMqttTakesNoTlsFlags) {
  Options plain;
  EXPECT_TRUE(check_options(plain));
  plain.ca_file = "/ca.pem";
  EXPECT_FALSE(check_options(plain));
  Options only;
  only.enroll_only = true;
  EXPECT_FALSE(check_options(only));
  Options token;
  token.enroll_token = "t";
  EXPECT_FALSE(check_options(token));
}

TEST(SimTlsOptions, EnrolmentNeedsExactlyOneTokenTheCaAndTheStateDir) {
  EXPECT_TRUE(check_options(enrol_options()));
  auto no_token = enrol_options();
  no_token.enroll_token.clear();
  EXPECT_FALSE(check_options(no_token));
  auto both = enrol_options();
  both.enroll_token_file = "/token";
  auto r = check_options(both);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not both"), std::string::npos) << r.error().message;
  auto no_dir = enrol_options();
  no_dir.state_dir.clear();
  EXPECT_FALSE(check_options(no_dir));
}

TEST(SimTlsOptions, EnrolledAgentsConnectOverMqttsUnlessTheyOnlyEnrol) {
  auto plain = enrol_options();
  plain.mqtt_url = "mqtt://127.0.0.1:1883";
  auto r = check_options(plain);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("mqtts://"), std::string::npos) << r.error().message;
  plain.enroll_only = true;
  EXPECT_TRUE(check_options(plain));
}

TEST(SimEnrollToken, ComesFromTheFirstLineOfItsFileWithoutSpaces) {
  test::TempDir dir("sim-token");
  auto path = dir.path() / "token";
  std::ofstream(path) << "  hecs_et_secret \t\nsecond line\n";
  Options o = enrol_options();
  o.enroll_token.clear();
  o.enroll_token_file = path.string();
  auto token = enroll_token(o);
  ASSERT_TRUE(token) << token.error().message;
  EXPECT_EQ(*token, "hecs_et_secret");
  std::ofstream(path) << " \n";
  EXPECT_FALSE(enroll_token(o));
  o.enroll_token_file = (dir.path() / "absent").string();
  EXPECT_FALSE(enroll_token(o));
}

TEST(SimEnrollUrl, TakesHttpsWithAHostAPortAndAPrefix) {
  auto u = parse_enroll_url("https://localhost:8443");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->host, "localhost");
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->path, "");
  u = parse_enroll_url("https://10.0.0.1/hecs/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "10.0.0.1");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->path, "/hecs");
  u = parse_enroll_url("https://[::1]:9000");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 9000);
}

TEST(SimEnrollUrl, RefusesPlainHttpAndMalformedAddresses) {
  for (const char* bad :
       {"http://localhost:8080", "localhost:8443", "https://", "https://:8443", "https://host:0",
        "https://host:65536", "https://host:12ab", "https://host:", "https://[::1",
        "https://[::1]x", "https://ho st", "https://host/a?b=c", "https://user@host"}) {
    auto u = parse_enroll_url(bad);
    EXPECT_FALSE(u) << bad;
    if (!u) {
      EXPECT_EQ(u.error().code, Errc::invalid_input);
    }
  }
}

TEST(SimEnrollAnswer, TakesTheCertificateOfA201) {
  auto cert = read_enroll_answer(
      201, R"({"device_id":"x","state":"accepted","certificate":"PEM","ca":"CA"})");
  ASSERT_TRUE(cert) << cert.error().message;
  EXPECT_EQ(*cert, "PEM");
  EXPECT_FALSE(read_enroll_answer(201, R"({"state":"accepted"})"));
  EXPECT_FALSE(read_enroll_answer(201, "not json"));
}

TEST(SimEnrollAnswer, NamesTheProblemOfARefusal) {
  auto used_up =
      read_enroll_answer(401, R"({"type":"about:blank","title":"Unauthorized","status":401,)"
                              R"("detail":"enrolment token used up","code":"unauthorized"})");
  ASSERT_FALSE(used_up);
  EXPECT_EQ(used_up.error().code, Errc::unauthorized);
  EXPECT_EQ(used_up.error().message, "401: enrolment token used up");
  auto conflict = read_enroll_answer(409, R"({"title":"Conflict"})");
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.error().code, Errc::conflict);
  EXPECT_EQ(conflict.error().message, "409: Conflict");
  auto pending = read_enroll_answer(202, R"({"state":"pending","retry_after_s":30})");
  ASSERT_FALSE(pending);
  EXPECT_EQ(pending.error().code, Errc::unavailable);
  auto busy = read_enroll_answer(503, "");
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code, Errc::unavailable);
  EXPECT_EQ(busy.error().message, "503: no detail");
}

}  // namespace
}  // namespace hecs::sim
