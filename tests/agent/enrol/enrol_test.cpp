// The pieces of enrolment and renewal that need no server: settings, the answers of
// POST /api/v1/enroll, retry delays, the state files and the certificate checks.
#include "agent/enrol/enrol.h"

#include <fstream>

#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/crypto/crypto.h"
#include "support/tempdir.h"

namespace hecs::agent::enrol {
namespace {
namespace fs = std::filesystem;
using std::chrono::seconds;

constexpr std::string_view kDevice = "4f1c2b9e-8d3a-4c55-9b7e-2a6f0c1d3e5b";
const std::string kPin(64, 'a');

std::int64_t now_s() { return SystemClock{}.now_ms() / 1000; }

void write(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

fs::perms mode_of(const fs::path& path) { return fs::status(path).permissions() & fs::perms::all; }

constexpr fs::perms kOwnerRw = fs::perms::owner_read | fs::perms::owner_write;

// A device CA and certificates from it, as the control plane issues them.
struct TestCa {
  crypto::CertificateAuthority ca = *crypto::CertificateAuthority::create(
      "test ca", now_s() - 3600, now_s() + std::int64_t{86400} * 365);

  std::string issue(const std::string& private_pem, std::string_view cn = kDevice,
                    std::int64_t life_s = 86400) const {
    crypto::CertRequest r;
    r.common_name = std::string(cn);
    r.usage = crypto::CertUsage::client;
    r.not_before = now_s() - 300;
    r.not_after = now_s() + life_s;
    return *ca.issue(crypto::load_private_key(private_pem)->public_pem, r);
  }
};

// ---- settings -----------------------------------------------------------------------------

TEST(ControlUrl, TakesHttpsWithHostAndPort) {
  auto url = parse_control_url("https://control.example.lan:8443/");
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(url->host, "control.example.lan");
  EXPECT_EQ(url->port, 8443);
  EXPECT_EQ(parse_control_url("https://localhost")->port, 443);
  EXPECT_EQ(parse_control_url("https://[::1]:9")->host, "::1");
}

TEST(ControlUrl, RefusesPlainHttpAPathAndABadPort) {
  for (const char* bad : {"http://control:80", "control:443", "https://", "https://c/api",
                          "https://c:0", "https://c:70000", "https://c:x", "https://a b"}) {
    EXPECT_FALSE(parse_control_url(bad)) << bad;
  }
}

TEST(Sha256Pin, AcceptsHexInEitherCaseWithColonsAndReturnsLowerCase) {
  std::string with_colons, lower;
  for (int i = 0; i < 32; ++i) {
    with_colons += (i == 0 ? "" : ":") + std::string("AB");
    lower += "ab";
  }
  EXPECT_EQ(*parse_sha256_pin(with_colons), lower);
  EXPECT_EQ(*parse_sha256_pin(lower), lower);
  EXPECT_FALSE(parse_sha256_pin(std::string(63, 'a')));
  EXPECT_FALSE(parse_sha256_pin(std::string(64, 'g')));
}

TEST(EnrollFile, ReadsTokenControlUrlAndPin) {
  test::TempDir dir("enroll-file");
  write(dir.path() / "e.yaml",
        "token: hecs_et_secret\ncontrol_url: https://control:8443\nca_sha256: " + kPin + "\n");
  auto s = read_enroll_file(dir.path() / "e.yaml");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->token, "hecs_et_secret");
  EXPECT_EQ(s->control_url, "https://control:8443");
  EXPECT_EQ(s->ca_sha256, kPin);
}

TEST(EnrollFile, IsNotFoundWhenAbsentAndRefusedWithAnUnknownKeyOrBadValue) {
  test::TempDir dir("enroll-file");
  EXPECT_EQ(read_enroll_file(dir.path() / "none.yaml").error().code, Errc::not_found);
  write(dir.path() / "typo.yaml", "tokn: x\n");
  auto typo = read_enroll_file(dir.path() / "typo.yaml");
  ASSERT_FALSE(typo);
  EXPECT_NE(typo.error().message.find("tokn"), std::string::npos);
  write(dir.path() / "url.yaml", "token: x\ncontrol_url: http://control\n");
  EXPECT_EQ(read_enroll_file(dir.path() / "url.yaml").error().code, Errc::invalid_input);
  write(dir.path() / "pin.yaml", "token: x\nca_sha256: 1234\n");
  EXPECT_EQ(read_enroll_file(dir.path() / "pin.yaml").error().code, Errc::invalid_input);
}

TEST(EnrolSettings, ConfiguredKeysWinAndTheFileFillsTheGaps) {
  Settings configured{"flag-token", "", "", ""};
  Settings file{"file-token", "https://c:1", kPin, ""};
  auto merged = merge(configured, file);
  EXPECT_EQ(merged.token, "flag-token");
  EXPECT_EQ(merged.control_url, "https://c:1");
  EXPECT_EQ(merged.ca_sha256, kPin);
}

TEST(EnrolSettings, ATokenNeedsAControlUrlAndAPinOrCaFile) {
  EXPECT_TRUE(check_settings({}));
  EXPECT_FALSE(check_settings({"t", "", kPin, ""}));
  EXPECT_FALSE(check_settings({"t", "https://c:1", "", ""}));
  EXPECT_TRUE(check_settings({"t", "https://c:1", kPin, ""}));
  EXPECT_TRUE(check_settings({"t", "https://c:1", "", "/etc/ca.pem"}));
}

// ---- answers and delays -------------------------------------------------------------------

std::string accepted_body(std::string_view keys = R"([{"kid":"k1","public_key":")") {
  auto key = crypto::base64url_encode(std::string(32, 'k'));
  return std::string(R"({"device_id":")") + std::string(kDevice) +
         R"(","state":"accepted","tags":[],"certificate":"C","ca":"A",)" +
         R"("mqtt_url":"mqtts://broker:8883","command_keys":)" + std::string(keys) + key +
         R"("}]})";
}

TEST(EnrolResponse, A201CarriesTheCertificateAndTheCommandKeys) {
  auto outcome = read_enrol_response(201, "", accepted_body());
  ASSERT_TRUE(std::holds_alternative<Accepted>(outcome));
  const auto& a = std::get<Accepted>(outcome);
  EXPECT_EQ(a.device_id, kDevice);
  EXPECT_EQ(a.mqtt_url, "mqtts://broker:8883");
  ASSERT_EQ(a.keys.keys.size(), 1u);
  EXPECT_EQ(a.keys.keys[0].kid, "k1");
}

TEST(EnrolResponse, AnIncomplete201IsRetriedNotTrusted) {
  EXPECT_TRUE(std::holds_alternative<Transient>(read_enrol_response(201, "", "{}")));
  EXPECT_TRUE(std::holds_alternative<Transient>(read_enrol_response(201, "", "not json")));
  EXPECT_TRUE(std::holds_alternative<Transient>(
      read_enrol_response(201, "", accepted_body(R"([{"kid":"k1","alg":"x","public_key":")"))));
}

TEST(EnrolResponse, A202IsPendingForRetryAfter) {
  auto from_header = read_enrol_response(202, "45", R"({"retry_after_s":30})");
  EXPECT_EQ(std::get<Pending>(from_header).retry_after, seconds(45));
  auto from_body = read_enrol_response(202, "", R"({"retry_after_s":12})");
  EXPECT_EQ(std::get<Pending>(from_body).retry_after, seconds(12));
  EXPECT_EQ(std::get<Pending>(read_enrol_response(202, "soon", "")).retry_after, seconds(30));
}

TEST(EnrolResponse, A4xxIsRefusedWithTheProblemDetail) {
  auto outcome = read_enrol_response(
      401, "", R"({"type":"about:blank","title":"unauthorized","detail":"token expired"})");
  ASSERT_TRUE(std::holds_alternative<Refused>(outcome));
  EXPECT_EQ(std::get<Refused>(outcome).status, 401);
  EXPECT_EQ(std::get<Refused>(outcome).detail, "token expired");
  EXPECT_TRUE(std::holds_alternative<Refused>(read_enrol_response(409, "", "")));
}

TEST(EnrolResponse, A5xxIsTransient) {
  EXPECT_TRUE(std::holds_alternative<Transient>(read_enrol_response(503, "", "")));
  EXPECT_TRUE(std::holds_alternative<Transient>(read_enrol_response(302, "", "")));
}

TEST(EnrolRetry, PendingFollowsRetryAfterClampedTo2To300Seconds) {
  seconds backoff{0};
  EXPECT_EQ(retry_delay(Pending{seconds(0)}, backoff, seconds(300)), seconds(2));
  EXPECT_EQ(retry_delay(Pending{seconds(45)}, backoff, seconds(300)), seconds(45));
  EXPECT_EQ(retry_delay(Pending{seconds(86400)}, backoff, seconds(300)), seconds(300));
  EXPECT_EQ(retry_delay(Pending{seconds(45)}, backoff, seconds(10)), seconds(10));
}

TEST(EnrolRetry, ARefusalWaitsFiveMinutes) {
  seconds backoff{0};
  EXPECT_EQ(retry_delay(Refused{401, "no"}, backoff, seconds(300)), seconds(300));
  EXPECT_EQ(retry_delay(Refused{401, "no"}, backoff, seconds(3)), seconds(3));
}

TEST(EnrolRetry, TransientFailuresBackOffAndAnAnswerResetsTheBackoff) {
  seconds backoff{0};
  std::vector<long> delays;
  delays.reserve(10);
  for (int i = 0; i < 10; ++i) {
    delays.push_back(retry_delay(Transient{"down"}, backoff, seconds(300)).count());
  }
  EXPECT_EQ(delays, (std::vector<long>{2, 4, 8, 16, 32, 64, 128, 256, 300, 300}));
  (void)retry_delay(Pending{seconds(30)}, backoff, seconds(300));
  EXPECT_EQ(retry_delay(Transient{"down"}, backoff, seconds(300)), seconds(2));
}

// ---- state files --------------------------------------------------------------------------

TEST(EnrolState, TheKeyIsMadeOncePrivatelyAndKeptForEveryRetry) {
  test::TempDir dir("enrol-state");
  Paths paths(dir.path());
  auto first = load_or_create_key(paths.key);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(mode_of(paths.key), kOwnerRw);
  EXPECT_EQ(*load_or_create_key(paths.key), *first);
}

TEST(EnrolState, NothingStoredMeansNotEnrolled) {
  test::TempDir dir("enrol-state");
  Paths paths(dir.path());
  (void)load_or_create_key(paths.key);  // a pending enrolment has its key already
  auto loaded = load_enrolment(paths);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_FALSE(loaded->has_value());
}

TEST(EnrolState, AStoredEnrolmentIsPrivateAndLoadsBack) {
  test::TempDir dir("enrol-state");
  Paths paths(dir.path());
  TestCa ca;
  auto key = *load_or_create_key(paths.key);
  ASSERT_TRUE(store_enrolment(paths, ca.issue(key), ca.ca.cert_pem(), "mqtts://broker:8883"));
  for (const auto* file : {&paths.key, &paths.cert, &paths.ca, &paths.mqtt_url}) {
    EXPECT_EQ(mode_of(*file), kOwnerRw) << *file;
  }
  auto loaded = load_enrolment(paths);
  ASSERT_TRUE(loaded && loaded->has_value()) << (loaded ? "" : loaded.error().message);
  EXPECT_EQ((*loaded)->mqtt_url, "mqtts://broker:8883");
  EXPECT_EQ((*loaded)->tls.cert_file, paths.cert.string());
  EXPECT_EQ((*loaded)->tls.key_file, paths.key.string());
  EXPECT_EQ((*loaded)->tls.ca_file, paths.ca.string());
}

TEST(EnrolState, ACertificateForAnotherKeyOrMissingFilesAreDamage) {
  test::TempDir dir("enrol-state");
  Paths paths(dir.path());
  TestCa ca;
  auto key = *load_or_create_key(paths.key);
  auto other = crypto::generate_p256_key().private_pem;
  ASSERT_TRUE(store_enrolment(paths, ca.issue(other), ca.ca.cert_pem(), "mqtts://b:1"));
  EXPECT_EQ(load_enrolment(paths).error().code, Errc::corrupt);
  ASSERT_TRUE(store_enrolment(paths, ca.issue(key), ca.ca.cert_pem(), "mqtts://b:1"));
  fs::remove(paths.mqtt_url);
  EXPECT_EQ(load_enrolment(paths).error().code, Errc::corrupt);
}

TEST(EnrolState, ARenewalInterruptedAfterItsCertificateWasStoredIsFinishedAtStart) {
  test::TempDir dir("enrol-state");
  Paths paths(dir.path());
  TestCa ca;
  auto key = *load_or_create_key(paths.key);
  ASSERT_TRUE(store_enrolment(paths, ca.issue(key), ca.ca.cert_pem(), "mqtts://b:1"));
  auto next = *load_or_create_key(paths.next_key);
  auto renewed = ca.issue(next);
  write(paths.next_cert, renewed);  // the crash came right after this step
  auto loaded = load_enrolment(paths);
  ASSERT_TRUE(loaded && loaded->has_value()) << (loaded ? "" : loaded.error().message);
  EXPECT_EQ(*load_or_create_key(paths.key), next);
  EXPECT_FALSE(fs::exists(paths.next_key));
  EXPECT_FALSE(fs::exists(paths.next_cert));
  std::ifstream in(paths.cert);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), renewed);
}

TEST(EnrolState, InstallRenewedReplacesKeyAndCertificate) {
  test::TempDir dir("enrol-state");
  Paths paths(dir.path());
  TestCa ca;
  auto key = *load_or_create_key(paths.key);
  ASSERT_TRUE(store_enrolment(paths, ca.issue(key), ca.ca.cert_pem(), "mqtts://b:1"));
  auto next = *load_or_create_key(paths.next_key);
  ASSERT_TRUE(install_renewed(paths, ca.issue(next)));
  EXPECT_EQ(*load_or_create_key(paths.key), next);
  EXPECT_EQ(mode_of(paths.cert), kOwnerRw);
  auto loaded = load_enrolment(paths);
  EXPECT_TRUE(loaded && loaded->has_value());
}

// ---- certificate checks and renewal timing ---------------------------------------------------

TEST(CertificateCheck, AcceptsOnlyOurDeviceOurKeyAndOurCa) {
  TestCa ca, stranger;
  auto key = crypto::generate_p256_key().private_pem;
  auto hash = *public_key_sha256(key);
  EXPECT_TRUE(check_certificate(ca.issue(key), ca.ca.cert_pem(), kDevice, hash, now_s()));
  EXPECT_FALSE(check_certificate(ca.issue(key, "0c2d1e0f-3a4c-4d8e-9a7c-5b2d1e0f3a4c"),
                                 ca.ca.cert_pem(), kDevice, hash, now_s()));
  EXPECT_FALSE(check_certificate(ca.issue(crypto::generate_p256_key().private_pem),
                                 ca.ca.cert_pem(), kDevice, hash, now_s()));
  EXPECT_FALSE(check_certificate(stranger.issue(key), ca.ca.cert_pem(), kDevice, hash, now_s()));
  EXPECT_FALSE(check_certificate(ca.issue(key, kDevice, 60), ca.ca.cert_pem(), kDevice, hash,
                                 now_s() + 3600));  // expired by then
}

TEST(RenewalDue, WhenAThirdOfTheLifeIsLeft) {
  crypto::CertInfo cert;
  cert.not_before = 0;
  cert.not_after = std::int64_t{90} * 86400;
  EXPECT_EQ(renewal_due(cert, std::nullopt), std::int64_t{60} * 86400);
}

TEST(RenewalDue, AShortLivedCertificateIsNotRenewedInALoop) {
  // 300 s backdated, 30 s ahead: always inside its last third.
  crypto::CertInfo cert;
  cert.not_before = 1000 - 300;
  cert.not_after = 1000 + 30;
  EXPECT_LT(renewal_due(cert, std::nullopt), 1000);
  EXPECT_EQ(renewal_due(cert, 1000), 1015);  // half of what was left at installation
}

// ---- command keys for the plain mode --------------------------------------------------------

TEST(CommandKeysFile, ReadsTheControlPlanesSigningKeysFile) {
  test::TempDir dir("keys-file");
  auto key = crypto::base64url_encode(std::string(32, 'p'));
  write(dir.path() / "signing-keys.json",
        R"({"keys":[{"kid":"kA","public_key":")" + key +
            R"(","state":"active","created_at":1,"activated_at":1,"retired_at":0}]})");
  auto keys = uplink::read_command_keys_file(dir.path() / "signing-keys.json");
  ASSERT_TRUE(keys) << keys.error().message;
  ASSERT_EQ(keys->keys.size(), 1u);
  EXPECT_EQ(keys->keys[0].kid, "kA");
  EXPECT_EQ(keys->keys[0].public_key, std::string(32, 'p'));
}

TEST(CommandKeysFile, RefusesAMalformedFileNamingIt) {
  test::TempDir dir("keys-file");
  for (const std::string bad :
       {"not json", "[]", R"({"keys":[]})", R"({"keys":[{"kid":"k"}]})",
        R"({"keys":[{"kid":"k","public_key":"short"}]})", R"({"keys":{"kid":"k"}})"}) {
    write(dir.path() / "k.json", bad);
    auto keys = uplink::read_command_keys_file(dir.path() / "k.json");
    ASSERT_FALSE(keys) << bad;
    EXPECT_EQ(keys.error().code, Errc::invalid_input) << bad;
    EXPECT_NE(keys.error().message.find("k.json"), std::string::npos) << keys.error().message;
  }
  EXPECT_EQ(uplink::read_command_keys_file(dir.path() / "none.json").error().code, Errc::not_found);
}

}  // namespace
}  // namespace hecs::agent::enrol
