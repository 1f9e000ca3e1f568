// The enrolment API of a real hecs-control over HTTPS, with the Mosquitto it configured
// (DESIGN §3; S19, S25): tokens, CSRs, pending devices, revocation files, keys at rest.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/crypto/crypto.h"
#include "common/files.h"
#include "support/hecs.h"

namespace hecs::test {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;

struct Node {
  std::string id = random_uuid();
  crypto::KeyPair key = crypto::generate_p256_key();
  std::string csr() const { return csr_for(id); }
  std::string csr_for(const std::string& cn) const {
    auto made = crypto::make_csr(key.private_pem, cn);
    return made ? *made : std::string();
  }
};

class EnrolmentApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { control_ = Control::start_secure().release(); }
  static void TearDownTestSuite() {
    delete control_;
    control_ = nullptr;
  }

  static std::string token(const std::string& options = R"({"auto_approve":true})") {
    auto r = control_->call("POST", "/api/v1/enrollment-tokens", options);
    EXPECT_EQ(r.status, 201) << r.body;
    auto v = r.json();
    return v.is_object() ? std::string(v.at("token").as_string()) : std::string();
  }

  static HttpResult enrol(const std::string& token, const std::string& csr) {
    json::object body{{"token", token}, {"csr", csr}};
    return http_request("POST", control_->url() + "/api/v1/enroll",
                        {"Content-Type: application/json"}, json::serialize(body),
                        control_->ca_file());
  }

  static std::string db_path() { return (control_->data_dir() / "hecs.db").string(); }
  static std::string count(const std::string& sql) {
    auto lines = sql_lines(db_path(), sql);
    return lines.empty() ? "" : lines.front();
  }

  static Control* control_;
};

Control* EnrolmentApi::control_ = nullptr;

TEST_F(EnrolmentApi, AnAutoApprovedDeviceGetsAClientCertificateForItsOwnIdOnly) {
  Node node;
  auto r = enrol(token(), node.csr());
  ASSERT_EQ(r.status, 201) << r.body;
  auto v = r.json().as_object();
  EXPECT_EQ(v.at("device_id").as_string(), node.id);
  EXPECT_EQ(v.at("state").as_string(), "accepted");
  EXPECT_EQ(v.at("mqtt_url").as_string(), control_->mqtt_url());
  ASSERT_FALSE(v.at("command_keys").as_array().empty());
  const std::string cert(v.at("certificate").as_string());
  auto info = crypto::parse_certificate(cert);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->common_name, node.id);
  EXPECT_EQ(info->issuer_common_name, "HECS device CA");
  EXPECT_TRUE(crypto::verify_certificate(cert, std::string(v.at("ca").as_string()),
                                         SystemClock().now_ms() / 1000));
  auto device = control_->device(node.id);
  ASSERT_TRUE(device.is_object());
  EXPECT_EQ(device.at("state").as_string(), "accepted");
}

TEST_F(EnrolmentApi, RefusesCommonNamesThatAreNotCanonicalUuidsAndCreatesNothing) {  // S19
  const std::string t = token(R"({"auto_approve":true,"max_uses":100})");
  Node node;
  const std::string upper = "6F1C1A52-2F47-4A8E-9B7E-0123456789AB";
  const std::string with_nul = node.id + std::string(1, '\0') + "x";
  for (const std::string cn :
       {"#", "+", "a/b", "hecs/v1/dev/+/up/#", "not-a-uuid", upper.c_str(), "", "hecs-control"}) {
    auto r = enrol(t, node.csr_for(cn));
    EXPECT_EQ(r.status, 400) << "CN " << cn << ": " << r.body;
  }
  auto r = enrol(t, node.csr_for(with_nul));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(
      count("SELECT uses FROM enrollment_tokens WHERE hash = '" + crypto::sha256_hex(t) + "'"),
      "0");
  EXPECT_EQ(control_->device(node.id), json::value(nullptr));
}

TEST_F(EnrolmentApi, ABadTokenOrCsrGetsAProblemAndCreatesNothing) {
  const auto devices_before = count("SELECT COUNT(*) FROM devices");
  Node node;
  // unknown, malformed
  EXPECT_EQ(enrol("hecs_et_nope", node.csr()).status, 401);
  EXPECT_EQ(enrol("", node.csr()).status, 401);
  // used up
  const std::string once = token(R"({"auto_approve":true,"max_uses":1})");
  ASSERT_EQ(enrol(once, Node().csr()).status, 201);
  auto used_up = enrol(once, node.csr());
  EXPECT_EQ(used_up.status, 401);
  EXPECT_THAT(used_up.body, HasSubstr("used up"));
  EXPECT_EQ(used_up.content_type, "application/problem+json");
  // revoked
  auto made = control_->call("POST", "/api/v1/enrollment-tokens", "{}").json();
  const std::string revoked(made.at("token").as_string());
  ASSERT_EQ(
      control_
          ->call("DELETE", "/api/v1/enrollment-tokens/" + std::string(made.at("id").as_string()))
          .status,
      200);
  EXPECT_EQ(enrol(revoked, node.csr()).status, 401);
  // expired: its expiry moved into the past behind the server's back
  auto fresh = control_->call("POST", "/api/v1/enrollment-tokens", "{}").json();
  run_command("sqlite3 '" + db_path() +
              "' \"UPDATE enrollment_tokens SET expires_at = 0 WHERE id = '" +
              std::string(fresh.at("id").as_string()) + "'\"");
  auto expired = enrol(std::string(fresh.at("token").as_string()), node.csr());
  EXPECT_EQ(expired.status, 401);
  EXPECT_THAT(expired.body, HasSubstr("expired"));
  // malformed and oversized CSRs, wrong bodies
  const std::string good = token();
  EXPECT_EQ(enrol(good, "-----BEGIN CERTIFICATE REQUEST-----\ngarbage\n").status, 400);
  EXPECT_EQ(enrol(good, node.csr() + node.csr()).status, 400);
  EXPECT_EQ(enrol(good, std::string(20000, 'A')).status, 413);
  EXPECT_EQ(http_request("POST", control_->url() + "/api/v1/enroll", {}, "{\"token\":1}",
                         control_->ca_file())
                .status,
            400);
  EXPECT_EQ(count("SELECT COUNT(*) FROM devices"),
            std::to_string(std::stoi(devices_before) + 1));  // only the one that used `once`
  EXPECT_EQ(control_->device(node.id), json::value(nullptr));
}

TEST_F(EnrolmentApi, AnotherKeyCannotTakeAnEnrolledDeviceId) {
  Node owner;
  ASSERT_EQ(enrol(token(), owner.csr()).status, 201);
  Node thief;
  auto r = enrol(token(), thief.csr_for(owner.id));
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_THAT(r.body, Not(HasSubstr("BEGIN CERTIFICATE")));
}

TEST_F(EnrolmentApi, APendingDeviceGetsNoCertificateUntilAccepted) {
  const std::string t = token(R"({"tags":["site=haguenau"],"max_uses":2})");
  Node node;
  auto first = enrol(t, node.csr());
  ASSERT_EQ(first.status, 202) << first.body;
  EXPECT_FALSE(first.json().as_object().contains("certificate"));
  auto again = enrol(t, node.csr());  // polling: same key, no second use of the token
  EXPECT_EQ(again.status, 202);
  auto device = control_->device(node.id);
  ASSERT_TRUE(device.is_object());
  EXPECT_EQ(device.at("state").as_string(), "pending");
  EXPECT_EQ(device.at("tags").as_array().at(0).as_string(), "site=haguenau");

  ASSERT_EQ(control_->call("POST", "/api/v1/devices/" + node.id + "/accept").status, 200);
  auto accepted = enrol(t, node.csr());
  ASSERT_EQ(accepted.status, 201) << accepted.body;
  EXPECT_TRUE(accepted.json().as_object().contains("certificate"));
  EXPECT_EQ(control_->call("POST", "/api/v1/devices/" + node.id + "/accept").status, 409);

  Node refused;
  ASSERT_EQ(enrol(t, refused.csr()).status, 202);
  ASSERT_EQ(control_->call("POST", "/api/v1/devices/" + refused.id + "/reject").status, 200);
  auto rejected = enrol(t, refused.csr());
  EXPECT_EQ(rejected.status, 401);
  EXPECT_THAT(rejected.body, Not(HasSubstr("BEGIN CERTIFICATE")));
}

TEST_F(EnrolmentApi, RevokingADeviceListsItsCertificateInTheCrlAndDeniesItInTheAcl) {
  Node node;
  auto r = enrol(token(), node.csr());
  ASSERT_EQ(r.status, 201);
  auto serial = crypto::parse_certificate(std::string(r.json().at("certificate").as_string()));
  ASSERT_TRUE(serial);
  ASSERT_EQ(control_->call("POST", "/api/v1/devices/" + node.id + "/revoke").status, 200);
  std::string crl_text;
  run_command(
      "openssl crl -noout -text -in '" + (control_->broker_dir() / "crl.pem").string() + "'",
      &crl_text);
  std::string upper = serial->serial;
  for (auto& c : upper) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  EXPECT_THAT(crl_text, HasSubstr(upper));
  EXPECT_THAT(*files::read_small(control_->broker_dir() / "acl"), HasSubstr("user " + node.id));
  EXPECT_EQ(control_->device(node.id).at("state").as_string(), "revoked");
  EXPECT_EQ(enrol(token(), node.csr()).status, 401);  // and it cannot enrol again
}

TEST_F(EnrolmentApi, DisablingATenantDeniesItsDevicesAtTheBrokerUntilItIsEnabled) {
  // Tenant "initech" with an owner, who makes a token; a device enrols into it.
  auto made = control_->call("POST", "/api/v1/tenants",
                             R"({"name":"initech","owner":{"username":"initech-owner",)"
                             R"("password":"a long enough password"}})");
  ASSERT_EQ(made.status, 201) << made.body;
  const std::string tenant(made.json().at("id").as_string());
  auto login = http_request("POST", control_->url() + "/api/v1/auth/login",
                            {"Content-Type: application/json"},
                            R"({"username":"initech-owner","password":"a long enough password",)"
                            R"("mode":"token"})",
                            control_->ca_file());
  ASSERT_EQ(login.status, 201) << login.body;
  const std::string bearer =
      "Authorization: Bearer " + std::string(login.json().at("token").as_string());
  auto t = http_request("POST", control_->url() + "/api/v1/enrollment-tokens",
                        {bearer, "Content-Type: application/json"}, R"({"auto_approve":true})",
                        control_->ca_file());
  ASSERT_EQ(t.status, 201) << t.body;
  Node node;
  ASSERT_EQ(enrol(std::string(t.json().at("token").as_string()), node.csr()).status, 201);
  const auto acl = control_->broker_dir() / "acl";
  EXPECT_THAT(*files::read_small(acl), Not(HasSubstr("user " + node.id)));

  ASSERT_EQ(control_->call("PATCH", "/api/v1/tenants/" + tenant, R"({"disabled":true})").status,
            200);
  EXPECT_THAT(*files::read_small(acl), HasSubstr("user " + node.id));
  ASSERT_EQ(control_->call("PATCH", "/api/v1/tenants/" + tenant, R"({"disabled":false})").status,
            200);
  EXPECT_THAT(*files::read_small(acl), Not(HasSubstr("user " + node.id)));
}

TEST_F(EnrolmentApi, UnauthenticatedRoutesAnswerOnlyTheirMethodsAndServeNoKeys) {  // S25
  const auto base = control_->url();
  const auto ca = control_->ca_file();
  auto pem = http_get(base + "/api/v1/enroll/ca", {}, ca);
  EXPECT_EQ(pem.status, 200);
  EXPECT_THAT(pem.body, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_THAT(pem.body, Not(HasSubstr("PRIVATE")));
  EXPECT_EQ(http_request("POST", base + "/api/v1/enroll/ca", {}, "x", ca).status, 405);
  EXPECT_EQ(http_request("GET", base + "/api/v1/enroll", {}, {}, ca).status, 405);
  EXPECT_EQ(http_request("DELETE", base + "/api/v1/enroll", {}, {}, ca).status, 405);
  for (const std::string path :
       {"/api/v1/enrollment-tokens", "/api/v1/signing-keys", "/api/v1/devices",
        "/api/v1/enroll/../enrollment-tokens", "/api/v1/enroll/%2e%2e/signing-keys",
        "/api/v1/enroll/ca/../../signing-keys", "/api/v1/enrollx"}) {
    EXPECT_EQ(http_get(base + path, {}, ca).status, 401) << path;
    EXPECT_EQ(http_request("POST", base + path, {}, "{}", ca).status, 401) << path;
  }
}

TEST_F(EnrolmentApi, ServesHttpsOnlyFromTls12AndNoPlainHttp) {
  const auto port = control_->url().substr(control_->url().rfind(':') + 1);
  EXPECT_EQ(http_get("http://127.0.0.1:" + port + "/healthz").status, 0);  // no HTTP answer
  // s_client with no input closes right after the handshake (exit 0 when it succeeded).
  const std::string client = "openssl s_client -brief -connect 127.0.0.1:" + port;
  std::string old_out, new_out;
  EXPECT_NE(run_command(client + " -tls1_1 </dev/null 2>&1", &old_out), 0);
  EXPECT_THAT(old_out, HasSubstr("alert protocol version"));
  EXPECT_EQ(run_command(client + " -tls1_3 -CAfile '" + control_->ca_file() + "' </dev/null 2>&1",
                        &new_out),
            0)
      << new_out;
  EXPECT_THAT(new_out, HasSubstr("Protocol version: TLSv1.3"));
  EXPECT_THAT(new_out, HasSubstr("Verification: OK"));
}

TEST_F(EnrolmentApi, NoPrivateKeyOfTheCaIsOnDiskInClear) {
  const auto data = control_->data_dir();
  auto master = files::read_small(data / "master.key");
  ASSERT_TRUE(master);
  auto key = crypto::parse_master_key(*master);
  ASSERT_TRUE(key);
  auto sealed = files::read_small(data / "pki" / "ca-key.sealed");
  ASSERT_TRUE(sealed);
  EXPECT_THAT(*sealed, Not(HasSubstr("PRIVATE KEY")));
  auto ca_key = crypto::unseal(*key, *sealed, "hecs-ca-key");
  ASSERT_TRUE(ca_key) << ca_key.error().message;
  // The base64 of the private scalar (after the PKCS#8 header every P-256 key shares), looked
  // for in every file the control plane wrote.
  const std::string line = ca_key->substr(ca_key->find('\n') + 1 + 48, 40);
  for (const auto& entry : std::filesystem::recursive_directory_iterator(data)) {
    if (!entry.is_regular_file()) {
      continue;
    }
    auto text = files::read_small(entry.path(), 64 * 1024 * 1024);
    ASSERT_TRUE(text) << entry.path();
    EXPECT_THAT(*text, Not(HasSubstr(line))) << entry.path();
  }
}

}  // namespace
}  // namespace hecs::test
