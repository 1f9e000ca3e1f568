#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/crypto/crypto.h"

namespace hecs::crypto {
namespace {

std::string unhex(std::string_view text) {
  auto bytes = hex_decode(text);
  EXPECT_TRUE(bytes);
  return bytes.value_or("");
}

struct Vector {
  std::string_view secret, public_key, message, signature;
};

// RFC 8032 §7.1, TEST 1 and TEST 2.
constexpr Vector kTest1{
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    "",
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b4"
    "6bd25bf5f0595bbe24655141438e7a100b",
};
constexpr Vector kTest2{
    "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    "72",
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d"
    "8c387b2eaeb4302aeeb00d291612bb0c00",
};

class Rfc8032 : public ::testing::TestWithParam<Vector> {};

TEST_P(Rfc8032, DerivesThePublicKeyFromTheSeed) {
  auto key = Ed25519Key::from_seed(unhex(GetParam().secret));
  ASSERT_TRUE(key);
  EXPECT_EQ(hex_encode(key->public_key()), GetParam().public_key);
  EXPECT_EQ(hex_encode(key->seed()), GetParam().secret);
}

TEST_P(Rfc8032, SignsExactlyAsTheRfcSays) {
  auto key = Ed25519Key::from_seed(unhex(GetParam().secret));
  ASSERT_TRUE(key);
  EXPECT_EQ(hex_encode(key->sign(unhex(GetParam().message))), GetParam().signature);
}

TEST_P(Rfc8032, VerifiesTheRfcSignature) {
  EXPECT_TRUE(ed25519_verify(unhex(GetParam().public_key), unhex(GetParam().message),
                             unhex(GetParam().signature)));
}

INSTANTIATE_TEST_SUITE_P(Vectors, Rfc8032, ::testing::Values(kTest1, kTest2));

TEST(Ed25519, RefusesASignatureUnderAnotherKey) {
  EXPECT_FALSE(
      ed25519_verify(unhex(kTest2.public_key), unhex(kTest1.message), unhex(kTest1.signature)));
}

TEST(Ed25519, RefusesAnyFlippedBitInTheSignature) {
  const std::string signature = unhex(kTest2.signature);
  for (std::size_t bit = 0; bit < signature.size() * 8; ++bit) {
    std::string flipped = signature;
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_FALSE(ed25519_verify(unhex(kTest2.public_key), unhex(kTest2.message), flipped))
        << "bit " << bit;
  }
}

TEST(Ed25519, RefusesAnAlteredMessage) {
  EXPECT_FALSE(ed25519_verify(unhex(kTest2.public_key), "\x73", unhex(kTest2.signature)));
  EXPECT_FALSE(ed25519_verify(unhex(kTest1.public_key), "x", unhex(kTest1.signature)));
}

TEST(Ed25519, RefusesKeysAndSignaturesOfTheWrongLength) {
  const std::string pub = unhex(kTest1.public_key);
  const std::string sig = unhex(kTest1.signature);
  EXPECT_FALSE(ed25519_verify(pub.substr(0, 31), "", sig));
  EXPECT_FALSE(ed25519_verify(pub + "x", "", sig));
  EXPECT_FALSE(ed25519_verify(pub, "", sig.substr(0, 63)));
  EXPECT_FALSE(ed25519_verify(pub, "", sig + "x"));
  EXPECT_FALSE(ed25519_verify("", "", ""));
}

TEST(Ed25519, RefusesASeedOfTheWrongLength) {
  auto key = Ed25519Key::from_seed(std::string(31, 'x'));
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code, Errc::invalid_input);
  EXPECT_FALSE(Ed25519Key::from_seed(std::string(33, 'x')));
}

TEST(Ed25519, GeneratedKeysSignAndVerifyAndDiffer) {
  const auto a = Ed25519Key::generate();
  const auto b = Ed25519Key::generate();
  EXPECT_NE(a.public_key(), b.public_key());
  EXPECT_EQ(a.public_key().size(), kEd25519PublicKeyBytes);
  const std::string signature = a.sign("hello");
  EXPECT_EQ(signature.size(), kEd25519SignatureBytes);
  EXPECT_TRUE(ed25519_verify(a.public_key(), "hello", signature));
  EXPECT_FALSE(ed25519_verify(b.public_key(), "hello", signature));
}

TEST(Ed25519, AKeyReloadedFromItsSeedIsTheSameKey) {
  const auto a = Ed25519Key::generate();
  auto b = Ed25519Key::from_seed(a.seed());
  ASSERT_TRUE(b);
  EXPECT_EQ(b->public_key(), a.public_key());
  EXPECT_EQ(b->sign("m"), a.sign("m"));  // Ed25519 is deterministic
}

// ed25519_verify keeps a context per recent key on each thread (4 of them); these check that
// the shortcut never lets a key, a message or an earlier answer leak into another check.
TEST(Ed25519, ChecksStayExactAcrossMoreKeysThanTheThreadKeeps) {
  std::vector<Ed25519Key> keys;
  for (int i = 0; i < 7; ++i) {
    keys.push_back(Ed25519Key::generate());
  }
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const std::string message = "round " + std::to_string(round) + " key " + std::to_string(i);
      const std::string signature = keys[i].sign(message);
      const auto& other = keys[(i + 1) % keys.size()];
      EXPECT_TRUE(ed25519_verify(keys[i].public_key(), message, signature)) << message;
      EXPECT_FALSE(ed25519_verify(other.public_key(), message, signature)) << message;
      EXPECT_FALSE(ed25519_verify(keys[i].public_key(), message + ".", signature)) << message;
      EXPECT_TRUE(ed25519_verify(keys[i].public_key(), message, signature)) << message;
    }
  }
}

TEST(Ed25519, AGoodSignatureVerifiesRightAfterARefusedOne) {
  const auto key = Ed25519Key::generate();
  const std::string signature = key.sign("m");
  std::string forged = signature;
  forged[10] = static_cast<char>(forged[10] ^ 0x40);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(ed25519_verify(key.public_key(), "m", forged));
    EXPECT_TRUE(ed25519_verify(key.public_key(), "m", signature));
  }
}

TEST(Ed25519, ThreadsVerifyingWithTheSameKeyGetTheirOwnAnswers) {
  const auto key = Ed25519Key::generate();
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string message = std::to_string(t) + "/" + std::to_string(i);
        const std::string signature = key.sign(message);
        // Odd rounds check a signature for another message: must be refused.
        const bool expect = i % 2 == 0;
        const bool got =
            ed25519_verify(key.public_key(), expect ? message : message + "x", signature);
        if (got != expect) {
          ++wrong;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace hecs::crypto
