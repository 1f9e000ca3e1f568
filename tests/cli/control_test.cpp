// hecsctl against a real hecs-control over HTTPS (Control::start_secure(): its own CA, a
// certificate for localhost and 127.0.0.1, the Mosquitto it configured): certificate checks,
// tokens that really enrol a node, and the enrolment decisions with the server's own errors.
#include <fstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "cli/cli.h"
#include "cli/cli_harness.h"
#include "common/clock.h"
#include "common/crypto/crypto.h"
#include "support/hecs.h"
#include "support/tempdir.h"

namespace hecs::cli {
namespace {

namespace json = boost::json;

// A node's side of enrolment: its own key and id, as the agent makes them.
struct Node {
  std::string id = random_uuid();
  crypto::KeyPair key = crypto::generate_p256_key();

  hecs::test::HttpResult enrol(const hecs::test::Control& control, const std::string& token) {
    auto csr = crypto::make_csr(key.private_pem, id);
    json::object body{{"token", token}, {"csr", csr ? *csr : std::string()}};
    return hecs::test::http_request("POST", control.url() + "/api/v1/enroll",
                                    {"Content-Type: application/json"}, json::serialize(body),
                                    control.ca_file());
  }
};

class HecsctlOverHttps : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { control_ = hecs::test::Control::start_secure().release(); }
  static void TearDownTestSuite() {
    delete control_;
    control_ = nullptr;
  }

  // hecsctl with the control plane's url and key; the CA only where a test passes it.
  test::Outcome hecsctl(std::vector<std::string> args) {
    args.insert(args.end(), {"--url", control_->url(), "--api-key", control_->api_key()});
    return test::run_cli(args, {.clock = clock_});
  }
  test::Outcome trusted(std::vector<std::string> args) {
    args.insert(args.end(), {"--ca-file", control_->ca_file()});
    return hecsctl(std::move(args));
  }
  // A token made through the API, for tests about what comes after.
  std::string token(const std::string& spec = "{}") {
    auto made = control_->call("POST", "/api/v1/enrollment-tokens", spec);
    EXPECT_EQ(made.status, 201) << made.body;
    return made.status == 201 ? std::string(made.json().at("token").as_string()) : "";
  }
  std::string pending_device() {
    Node node;
    auto enrolled = node.enrol(*control_, token());
    EXPECT_EQ(enrolled.status, 202) << enrolled.body;
    return node.id;
  }

  // One server for the suite, made in SetUpTestSuite.
  // NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables)
  static inline hecs::test::Control* control_ = nullptr;
  hecs::test::TempDir home_{"cli-home"};
  test::ScopedEnv env_{{{"HOME", home_.path().string()},
                        {"XDG_CONFIG_HOME", std::nullopt},
                        {"HECS_URL", std::nullopt},
                        {"HECS_API_KEY", std::nullopt},
                        {"HECS_CA_FILE", std::nullopt},
                        {"no_proxy", "127.0.0.1,localhost"}}};
  SystemClock clock_;
};

TEST_F(HecsctlOverHttps, TokensCreateWithTheCaFilePrintsATokenThatEnrolsANode) {
  auto outcome = trusted({"tokens", "create", "--tag", "site=berlin"});
  ASSERT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  std::string marker = "Save this as hecs-enroll.yaml on the node's boot partition:\n\n";
  auto snippet = outcome.out.find(marker);
  ASSERT_NE(snippet, std::string::npos) << outcome.out;
  YAML::Node file = YAML::Load(outcome.out.substr(snippet + marker.size()));
  EXPECT_EQ(file["control_url"].as<std::string>(), control_->url());
  std::ifstream ca_stream(control_->ca_file());
  std::string ca_pem((std::istreambuf_iterator<char>(ca_stream)), {});
  auto ca = crypto::parse_certificate(ca_pem);
  ASSERT_TRUE(ca);
  EXPECT_EQ(file["ca_sha256"].as<std::string>(), ca->sha256);

  Node node;
  auto enrolled = node.enrol(*control_, file["token"].as<std::string>());
  ASSERT_EQ(enrolled.status, 202) << enrolled.body;  // pending: the token is not auto-approve
  auto device = control_->device(node.id);
  ASSERT_TRUE(device.is_object());
  EXPECT_EQ(device.at("tags"), json::parse(R"(["site=berlin"])"));
}

TEST_F(HecsctlOverHttps, TheSystemTrustStoreDoesNotKnowTheControlPlanesCa) {
  auto outcome = hecsctl({"tokens", "list"});
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_EQ(outcome.err.rfind("hecsctl: cannot verify the TLS certificate of " + control_->url() +
                                  " with the system trust store: ",
                              0),
            0u)
      << outcome.err;
  EXPECT_NE(outcome.err.find("pass --ca-file"), std::string::npos) << outcome.err;
  EXPECT_EQ(outcome.err.find('\n'), outcome.err.size() - 1);  // one line
}

TEST_F(HecsctlOverHttps, AnotherCaFileFailsVerificationAndSaysSo) {
  auto other = crypto::CertificateAuthority::create("other CA", 0, 4102444800);
  ASSERT_TRUE(other);
  hecs::test::TempDir dir("cli-ca");
  std::string wrong = (dir.path() / "other-ca.pem").string();
  std::ofstream(wrong) << other->cert_pem();
  auto outcome = hecsctl({"devices", "list", "--ca-file", wrong});
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_NE(outcome.err.find("with the CA file " + wrong + ": "), std::string::npos) << outcome.err;
  EXPECT_NE(outcome.err.find("pass --ca-file"), std::string::npos) << outcome.err;
  EXPECT_EQ(outcome.out, "");
}

TEST_F(HecsctlOverHttps, APlainHttpUrlSuggestsHttps) {
  std::string plain = "http://" + control_->url().substr(std::string("https://").size());
  auto outcome = test::run_cli({"tokens", "list", "--url", plain, "--api-key", control_->api_key(),
                                "--ca-file", control_->ca_file()},
                               {.clock = clock_});
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_NE(outcome.err.find("try an https:// URL"), std::string::npos) << outcome.err;
}

TEST_F(HecsctlOverHttps, TheCaFileFlagWinsOverAWrongOneInTheEnvironment) {
  test::ScopedEnv env({{"HECS_CA_FILE", std::string("/nonexistent/ca.pem")}});
  EXPECT_EQ(trusted({"signing-keys", "list"}).exit_code, kExitOk);
  EXPECT_EQ(hecsctl({"signing-keys", "list"}).exit_code, kExitUsage);  // named where it came from
}

TEST_F(HecsctlOverHttps, TheCaFileCanComeFromTheEnvironmentOrTheConfigFile) {
  {
    test::ScopedEnv env({{"HECS_CA_FILE", std::optional(control_->ca_file())}});
    auto outcome = hecsctl({"signing-keys", "list"});
    EXPECT_EQ(outcome.exit_code, kExitOk) << outcome.err;
  }
  std::filesystem::create_directories(home_.path() / ".config" / "hecs");
  std::ofstream(home_.path() / ".config" / "hecs" / "config.yaml")
      << "ca_file: " << control_->ca_file() << "\n";
  auto outcome = hecsctl({"signing-keys", "list"});
  EXPECT_EQ(outcome.exit_code, kExitOk) << outcome.err;
}

TEST_F(HecsctlOverHttps, TokensListShowsANewTokenActiveAndRevokeMakesItRevoked) {
  auto made = trusted({"tokens", "create", "-o", "json", "--max-uses", "3"});
  ASSERT_EQ(made.exit_code, kExitOk) << made.err;
  json::value token = json::parse(made.out);
  std::string id(token.at("id").as_string());
  std::string prefix(token.at("prefix").as_string());

  auto listed = trusted({"tokens", "list"});
  ASSERT_EQ(listed.exit_code, kExitOk) << listed.err;
  auto row = listed.out.find(id);
  ASSERT_NE(row, std::string::npos) << listed.out;
  std::string line = listed.out.substr(row, listed.out.find('\n', row) - row);
  EXPECT_NE(line.find(prefix + "   0/3"), std::string::npos) << line;
  EXPECT_EQ(line.substr(line.size() - 6), "active") << line;
  EXPECT_EQ(listed.out.find(std::string(token.at("token").as_string())), std::string::npos);

  auto revoked = trusted({"tokens", "revoke", id});
  ASSERT_EQ(revoked.exit_code, kExitOk) << revoked.err;
  auto again = trusted({"tokens", "list", "-o", "json"});
  ASSERT_EQ(again.exit_code, kExitOk) << again.err;
  json::value tokens = json::parse(again.out);
  for (const json::value& item : tokens.at("items").as_array()) {
    if (item.at("id") == id.c_str()) {
      EXPECT_TRUE(item.at("revoked_at").is_string()) << item;
    }
  }
  Node node;
  EXPECT_EQ(node.enrol(*control_, std::string(token.at("token").as_string())).status, 401);
}

TEST_F(HecsctlOverHttps, RevokingAnUnknownTokenExitsOne) {
  auto outcome = trusted({"tokens", "revoke", random_uuid()});
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_NE(outcome.err.find("(HTTP 404)"), std::string::npos) << outcome.err;
}

TEST_F(HecsctlOverHttps, APendingDeviceIsListedThenAcceptedThenRevoked) {
  std::string id = pending_device();
  auto listed = trusted({"devices", "list", "-q", id});
  ASSERT_EQ(listed.exit_code, kExitOk) << listed.err;
  EXPECT_NE(listed.out.find(id + "   -          pending"), std::string::npos) << listed.out;

  auto accepted = trusted({"devices", "accept", id});
  ASSERT_EQ(accepted.exit_code, kExitOk) << accepted.err;
  EXPECT_EQ(accepted.out.rfind("device " + id + " is now accepted: ", 0), 0u) << accepted.out;

  auto rejected = trusted({"devices", "reject", id});
  EXPECT_EQ(rejected.exit_code, kExitFailure);
  EXPECT_EQ(rejected.err.rfind("hecsctl: conflict: ", 0), 0u) << rejected.err;
  EXPECT_NE(rejected.err.find("device is accepted, cannot become rejected (HTTP 409)\n"),
            std::string::npos)
      << rejected.err;

  auto revoked = trusted({"devices", "revoke", id, "-o", "json"});
  ASSERT_EQ(revoked.exit_code, kExitOk) << revoked.err;
  EXPECT_EQ(json::parse(revoked.out), (json::object{{"device_id", id}, {"state", "revoked"}}));
  EXPECT_EQ(trusted({"devices", "accept", id}).exit_code, kExitFailure);
}

TEST_F(HecsctlOverHttps, APendingDeviceCanBeRejected) {
  std::string id = pending_device();
  auto rejected = trusted({"devices", "reject", id});
  ASSERT_EQ(rejected.exit_code, kExitOk) << rejected.err;
  EXPECT_EQ(control_->device(id).at("state"), "rejected");
}

TEST_F(HecsctlOverHttps, DecidingAboutAnUnknownDeviceExitsOne) {
  auto outcome = trusted({"devices", "accept", random_uuid()});
  EXPECT_EQ(outcome.exit_code, kExitFailure);
  EXPECT_NE(outcome.err.find("(HTTP 404)"), std::string::npos) << outcome.err;
}

TEST_F(HecsctlOverHttps, SigningKeysRotateThenActivateMakesTheNextKeyActive) {
  auto rotated = trusted({"signing-keys", "rotate", "-o", "json"});
  ASSERT_EQ(rotated.exit_code, kExitOk) << rotated.err;
  std::string next;
  json::value keys = json::parse(rotated.out);
  for (const json::value& key : keys.at("items").as_array()) {
    if (key.at("state") == "next") {
      next = std::string(key.at("kid").as_string());
    }
  }
  ASSERT_FALSE(next.empty()) << rotated.out;
  auto twice = trusted({"signing-keys", "rotate"});
  EXPECT_EQ(twice.exit_code, kExitFailure);
  EXPECT_NE(twice.err.find("(HTTP 409)"), std::string::npos) << twice.err;

  auto activated = trusted({"signing-keys", "activate"});
  ASSERT_EQ(activated.exit_code, kExitOk) << activated.err;
  EXPECT_EQ(activated.out.rfind("key " + next + " is active", 0), 0u) << activated.out;
  EXPECT_NE(activated.out.find("retired"), std::string::npos) << activated.out;
}

}  // namespace
}  // namespace hecs::cli
