#include "control/ca/ca.h"

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/files.h"
#include "support/tempdir.h"

namespace hecs::control::ca {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ManualClock final : public Clock {
 public:
  std::int64_t now_ms() const override { return now; }
  std::int64_t now = std::int64_t{1'800'000'000} * 1000;
};

proto::Command command(std::uint64_t seq) {
  proto::Command c;
  c.id = "0b0e7d4e-55a3-4d6c-9f35-0123456789ab";
  c.type = "ack";
  c.sub = "6f1c1a52-2f47-4a8e-9b7e-0123456789ab";
  c.seq = seq;
  c.iat = 1'800'000'000;
  c.exp = c.iat + 600;
  return c;
}

class PkiTest : public ::testing::Test {
 protected:
  Options options() const {
    Options o;
    o.dir = dir_.path() / "pki";
    o.master_key = master_;
    return o;
  }
  std::unique_ptr<Pki> open() {
    auto pki = Pki::open(options(), clock_);
    EXPECT_TRUE(pki) << pki.error().message;
    return pki ? std::move(*pki) : nullptr;
  }
  std::string kid_of(const std::string& jws) const {
    auto verified = proto::verify_command(jws, pki_keys_,
                                          {.device_id = command(1).sub, .now_s = 1'800'000'000});
    return verified ? "" : verified.error().message;
  }

  test::TempDir dir_{"pki"};
  ManualClock clock_;
  std::string master_ = std::string(32, '\x42');
  std::vector<proto::VerifyKey> pki_keys_;
};

std::vector<std::string> all_file_contents(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    auto text = files::read_small(entry.path());
    if (text) {
      out.push_back(*text);
    }
  }
  return out;
}

TEST_F(PkiTest, FirstStartCreatesACaAndAnActiveSigningKeyWithNoPrivateKeyInClear) {
  auto pki = open();
  ASSERT_TRUE(pki);
  auto keys = pki->signing_keys();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].state, KeyState::active);
  EXPECT_TRUE(pki->ca().info().common_name == "HECS device CA");
  // The sealed files hold neither the PEM key nor its base64 body.
  const std::string key_pem = pki->ca().key_pem();
  const std::string key_body = key_pem.substr(key_pem.find('\n') + 1, 40);
  for (const auto& text : all_file_contents(options().dir)) {
    EXPECT_THAT(text, Not(HasSubstr("PRIVATE KEY")));
    EXPECT_THAT(text, Not(HasSubstr(key_body)));
  }
  EXPECT_EQ(std::filesystem::status(options().dir / "ca-key.sealed").permissions() &
                std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST_F(PkiTest, ReopeningGivesTheSameCaAndKeys) {
  auto first = open();
  ASSERT_TRUE(first);
  auto second = open();
  ASSERT_TRUE(second);
  EXPECT_EQ(first->ca_fingerprint(), second->ca_fingerprint());
  EXPECT_EQ(first->verify_keys(), second->verify_keys());
  EXPECT_EQ(first->sign(command(1)), second->sign(command(1)));  // Ed25519 is deterministic
}

TEST_F(PkiTest, AWrongMasterKeyOpensNothing) {
  ASSERT_TRUE(open());
  master_ = std::string(32, '\x43');
  auto pki = Pki::open(options(), clock_);
  ASSERT_FALSE(pki);
  EXPECT_EQ(pki.error().code, Errc::unauthorized);
}

TEST_F(PkiTest, ImportsACaOnFirstStartAndSealsItsKey) {
  auto other = crypto::CertificateAuthority::create("Imported CA", 1'700'000'000, 1'900'000'000);
  ASSERT_TRUE(other);
  ASSERT_TRUE(files::write_atomic(dir_.path() / "in.pem", other->cert_pem()));
  ASSERT_TRUE(files::write_atomic(dir_.path() / "in.key", other->key_pem()));
  auto o = options();
  o.import_cert_file = (dir_.path() / "in.pem").string();
  o.import_key_file = (dir_.path() / "in.key").string();
  auto pki = Pki::open(o, clock_);
  ASSERT_TRUE(pki) << pki.error().message;
  EXPECT_EQ((*pki)->ca().info().common_name, "Imported CA");
  EXPECT_THAT(*files::read_small(o.dir / "ca-key.sealed"), Not(HasSubstr("PRIVATE KEY")));

  o.import_key_file = (dir_.path() / "in.pem").string();  // a certificate is not a key
  o.dir = dir_.path() / "pki2";
  EXPECT_FALSE(Pki::open(o, clock_));
}

TEST_F(PkiTest, RotationPublishesANewKeyBeforeUsingItAndKeepsTheOldOneVerifiable) {
  auto pki = open();
  ASSERT_TRUE(pki);
  const auto old_kid = pki->signing_keys()[0].kid;
  auto next = pki->add_next_key();
  ASSERT_TRUE(next);
  EXPECT_EQ(pki->add_next_key().error().code, Errc::conflict);
  EXPECT_EQ(pki->verify_keys().size(), 2u);
  pki_keys_ = pki->verify_keys();
  auto signed_before = pki->sign(command(1));
  EXPECT_THAT(signed_before, Not(HasSubstr(next->kid)));  // still the old key

  ASSERT_TRUE(pki->activate_next_key());
  auto reopened = open();  // the rotation survives a restart
  ASSERT_TRUE(reopened);
  auto keys = reopened->signing_keys();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].state, KeyState::retired);
  EXPECT_EQ(keys[1].state, KeyState::active);
  pki_keys_ = reopened->verify_keys();
  EXPECT_EQ(kid_of(reopened->sign(command(2))), "");
  EXPECT_EQ(kid_of(signed_before), "");  // old commands still verify until they expire

  // A device that only knows the old key gets the key list signed with it.
  auto for_old = reopened->sign_with_known(command(3), {old_kid});
  ASSERT_TRUE(for_old);
  pki_keys_ = {{old_kid, keys[0].public_key}};
  EXPECT_EQ(kid_of(*for_old), "");
  EXPECT_FALSE(reopened->sign_with_known(command(3), {"unknown"}));

  clock_.now += 3600 * 1000;
  auto dropped = reopened->drop_retired(clock_.now / 1000);
  ASSERT_TRUE(dropped);
  EXPECT_EQ(*dropped, 1u);
  EXPECT_EQ(reopened->verify_keys().size(), 1u);
  EXPECT_FALSE(std::filesystem::exists(options().dir / ("signing-" + old_kid + ".sealed")));
}

TEST_F(PkiTest, ServiceCertificatesAreKeptUntilAThirdOfTheirLifeIsLeftOrTheNamesChange) {
  auto pki = open();
  ASSERT_TRUE(pki);
  ServiceCert api{"api", {}};
  api.request.common_name = "hecs-control";
  api.request.dns_names = {"localhost"};
  api.request.ip_addresses = {"127.0.0.1"};
  api.request.usage = crypto::CertUsage::server;
  auto first = pki->ensure_service_cert(api, 90 * 86400);
  ASSERT_TRUE(first) << first.error().message;
  auto pem = *files::read_small(first->cert);
  ASSERT_TRUE(crypto::verify_certificate(pem, pki->ca_pem(), clock_.now / 1000));

  ASSERT_TRUE(pki->ensure_service_cert(api, 90 * 86400));
  EXPECT_EQ(*files::read_small(first->cert), pem);

  clock_.now += std::int64_t{61} * 86400 * 1000;
  ASSERT_TRUE(pki->ensure_service_cert(api, 90 * 86400));
  auto renewed = *files::read_small(first->cert);
  EXPECT_NE(renewed, pem);

  api.request.dns_names.push_back("control.example");
  ASSERT_TRUE(pki->ensure_service_cert(api, 90 * 86400));
  EXPECT_NE(*files::read_small(first->cert), renewed);
}

TEST(MasterKey, IsMadeOnFirstStartAndRequiredOnceKeysAreSealed) {
  test::TempDir dir("master");
  ::unsetenv(kMasterKeyEnv);  // NOLINT(concurrency-mt-unsafe): single-threaded test
  auto made = load_master_key(dir.path() / "master.key", dir.path() / "pki");
  ASSERT_TRUE(made) << made.error().message;
  EXPECT_TRUE(made->created);
  EXPECT_EQ(made->key.size(), 32u);
  auto again = load_master_key(dir.path() / "master.key", dir.path() / "pki");
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->key, made->key);

  std::filesystem::create_directories(dir.path() / "pki");
  ASSERT_TRUE(files::write_atomic(dir.path() / "pki" / "ca-key.sealed", "x"));
  std::filesystem::remove(dir.path() / "master.key");
  auto missing = load_master_key(dir.path() / "master.key", dir.path() / "pki");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::unauthorized);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "master.key"));
}

TEST(MasterKey, TheEnvironmentWinsAndABadValueIsNamedWithoutEchoingIt) {
  test::TempDir dir("master");
  const std::string hex(64, 'a');
  ::setenv(kMasterKeyEnv, hex.c_str(), 1);  // NOLINT(concurrency-mt-unsafe)
  auto key = load_master_key(dir.path() / "master.key", dir.path() / "pki");
  ASSERT_TRUE(key);
  EXPECT_EQ(key->key, std::string(32, '\xaa'));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "master.key"));
  ::setenv(kMasterKeyEnv, "not-a-key-zzzz", 1);  // NOLINT(concurrency-mt-unsafe)
  auto bad = load_master_key(dir.path() / "master.key", dir.path() / "pki");
  ::unsetenv(kMasterKeyEnv);  // NOLINT(concurrency-mt-unsafe)
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr("HECS_MASTER_KEY"));
  EXPECT_THAT(bad.error().message, Not(HasSubstr("zzzz")));
}

}  // namespace
}  // namespace hecs::control::ca
