// What hecs-sim's agents keep between runs (--state-dir), and the check that a stored key and
// certificate are usable before an agent connects with them.
#include "sim/state_dir.h"

#include <filesystem>
#include <fstream>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/crypto/crypto.h"
#include "common/mqtt/tls.h"
#include "sim/sim.h"
#include "support/tempdir.h"

namespace hecs::sim {
namespace {
namespace fs = std::filesystem;

std::int64_t now_s() { return SystemClock{}.now_ms() / 1000; }

// One loader for the whole suite, as a fleet has: its decoder is used again and again.
Result<mqtt::tls::Identity> load(std::string_view key_pem, std::string_view cert_pem,
                                 std::string_view device_id, std::int64_t now) {
  static auto loader = mqtt::tls::IdentityLoader::create();
  EXPECT_TRUE(loader);
  return loader->load(key_pem, cert_pem, device_id, now);
}

// A device CA and certificates it issues, as hecs-control's enrolment does.
struct TestCa {
  crypto::CertificateAuthority ca =
      *crypto::CertificateAuthority::create("test CA", now_s() - 60, now_s() + 86400);
  StoredIdentity issue(const std::string& cn, std::int64_t not_after) const {
    auto key = crypto::generate_p256_key();
    crypto::CertRequest request;
    request.common_name = cn;
    request.usage = crypto::CertUsage::client;
    request.not_before = now_s() - 60;
    request.not_after = not_after;
    auto cert = ca.issue(key.public_pem, request);
    EXPECT_TRUE(cert) << cert.error().message;
    return {key.private_pem, cert ? *cert : std::string()};
  }
  StoredIdentity issue(const std::string& cn) const { return issue(cn, now_s() + 3600); }
};

TEST(SimStateDir, ALaterRunFindsWhatAnEarlierOneStored) {
  test::TempDir tmp("sim-state");
  const auto dir = tmp.path() / "agents";
  const auto id = device_id(7, 3);
  StoredIdentity stored{"KEY PEM", "CERT PEM"};
  {
    StateDir first(dir);
    ASSERT_TRUE(first.create());
    EXPECT_FALSE(first.has(id));
    ASSERT_TRUE(first.store(id, stored));
  }
  StateDir second(dir);
  ASSERT_TRUE(second.create());  // already there: nothing changes
  EXPECT_TRUE(second.has(id));
  EXPECT_FALSE(second.has(device_id(7, 4)));
  auto loaded = second.load(id);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->key_pem, stored.key_pem);
  EXPECT_EQ(loaded->cert_pem, stored.cert_pem);
}

TEST(SimStateDir, KeepsKeysFromOtherUsers) {
  test::TempDir tmp("sim-state");
  StateDir dir(tmp.path() / "agents");
  ASSERT_TRUE(dir.create());
  const auto id = device_id(7, 0);
  ASSERT_TRUE(dir.store(id, {"KEY", "CERT"}));
  auto mode = [](const fs::path& p) { return fs::status(p).permissions() & fs::perms::all; };
  EXPECT_EQ(mode(tmp.path() / "agents"), fs::perms::owner_all);
  EXPECT_EQ(mode(dir.key_path(id)), fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(mode(dir.cert_path(id)), fs::perms::owner_read | fs::perms::owner_write);
}

TEST(SimStateDir, AnAgentWithoutItsCertificateIsNotEnrolled) {
  test::TempDir tmp("sim-state");
  StateDir dir(tmp.path());
  const auto id = device_id(7, 1);
  std::ofstream(dir.key_path(id)) << "KEY";  // a run killed between the two writes
  EXPECT_FALSE(dir.has(id));
  auto loaded = dir.load(id);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, Errc::not_found);
}

TEST(SimTlsIdentity, TakesTheCertificateIssuedForTheDeviceWithItsKey) {
  TestCa ca;
  const auto id = device_id(9, 0);
  auto pem = ca.issue(id);
  auto identity = load(pem.key_pem, pem.cert_pem, id, now_s());
  ASSERT_TRUE(identity) << identity.error().message;
  EXPECT_TRUE(*identity);
  EXPECT_FALSE(mqtt::tls::Identity());
}

TEST(SimTlsIdentity, OneLoaderReadsManyKeysEachWithItsOwnCertificate) {
  TestCa ca;
  auto loader = mqtt::tls::IdentityLoader::create();
  ASSERT_TRUE(loader) << loader.error().message;
  std::vector<StoredIdentity> pems;
  for (std::size_t i = 0; i < 20; ++i) {
    pems.push_back(ca.issue(device_id(9, 100 + i)));
  }
  for (std::size_t i = 0; i < pems.size(); ++i) {
    auto identity = loader->load(pems[i].key_pem, pems[i].cert_pem, device_id(9, 100 + i), now_s());
    EXPECT_TRUE(identity) << i << ": " << identity.error().message;
    // A failure in between leaves the loader usable.
    EXPECT_FALSE(loader->load("garbage", pems[i].cert_pem, device_id(9, 100 + i), now_s()));
  }
  EXPECT_FALSE(loader->load(pems[1].key_pem, pems[0].cert_pem, device_id(9, 100), now_s()));
}

TEST(SimTlsIdentity, RefusesAnotherDevicesCertificate) {
  TestCa ca;
  auto pem = ca.issue(device_id(9, 1));
  auto identity = load(pem.key_pem, pem.cert_pem, device_id(9, 2), now_s());
  ASSERT_FALSE(identity);
  EXPECT_EQ(identity.error().code, Errc::invalid_input);
  EXPECT_NE(identity.error().message.find("not " + device_id(9, 2)), std::string::npos)
      << identity.error().message;
}

TEST(SimTlsIdentity, RefusesAKeyThatIsNotTheCertificates) {
  TestCa ca;
  const auto id = device_id(9, 3);
  auto pem = ca.issue(id);
  auto other = crypto::generate_p256_key();
  auto identity = load(other.private_pem, pem.cert_pem, id, now_s());
  ASSERT_FALSE(identity);
  EXPECT_NE(identity.error().message.find("not the certificate's"), std::string::npos)
      << identity.error().message;
  EXPECT_FALSE(load("garbage", pem.cert_pem, id, now_s()));
  EXPECT_FALSE(load(pem.key_pem, "garbage", id, now_s()));
}

TEST(SimTlsIdentity, RefusesAnExpiredCertificate) {
  TestCa ca;
  const auto id = device_id(9, 4);
  auto pem = ca.issue(id, now_s() + 10);
  EXPECT_TRUE(load(pem.key_pem, pem.cert_pem, id, now_s()));
  auto later = load(pem.key_pem, pem.cert_pem, id, now_s() + 20);
  ASSERT_FALSE(later);
  EXPECT_NE(later.error().message.find("not valid now"), std::string::npos)
      << later.error().message;
}

TEST(SimTlsContext, RefusesACaFileWithoutACertificate) {
  test::TempDir tmp("sim-ca");
  auto path = tmp.path() / "ca.pem";
  std::ofstream(path) << "not a certificate\n";
  auto context = mqtt::tls::Context::create(path.string());
  ASSERT_FALSE(context);
  EXPECT_EQ(context.error().code, Errc::invalid_input);
  EXPECT_FALSE(mqtt::tls::Context::create((tmp.path() / "absent.pem").string()));
  TestCa ca;
  std::ofstream(path) << ca.ca.cert_pem();
  EXPECT_TRUE(mqtt::tls::Context::create(path.string()));
}

}  // namespace
}  // namespace hecs::sim
