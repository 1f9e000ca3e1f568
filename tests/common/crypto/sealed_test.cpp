#include <string>

#include <gtest/gtest.h>

#include "common/crypto/crypto.h"

namespace hecs::crypto {
namespace {

const std::string kKey(kMasterKeyBytes, '\x42');
const std::string kLabel = "ca-key";
const std::string kSecret = "-----BEGIN PRIVATE KEY-----\nsecret material\n";

TEST(Seal, RoundTripsTheSecret) {
  const std::string sealed = seal(kKey, kSecret, kLabel);
  auto opened = unseal(kKey, sealed, kLabel);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(*opened, kSecret);
}

TEST(Seal, RoundTripsAnEmptySecretAndAnEmptyLabel) {
  auto opened = unseal(kKey, seal(kKey, "", ""), "");
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(*opened, "");
}

TEST(Seal, WritesThePrefixBase64AndANewlineWithoutThePlaintext) {
  const std::string sealed = seal(kKey, kSecret, kLabel);
  EXPECT_TRUE(sealed.starts_with("HECS-SEALED-1 "));
  EXPECT_TRUE(sealed.ends_with("\n"));
  EXPECT_EQ(sealed.find("secret"), std::string::npos);
  EXPECT_EQ(sealed.find("PRIVATE"), std::string::npos);
  // nonce 12 + ciphertext + tag 16, base64 with padding, prefix 14, newline 1
  EXPECT_EQ(sealed.size(), 14 + (12 + kSecret.size() + 16 + 2) / 3 * 4 + 1);
}

TEST(Seal, UsesAFreshNonceEachTime) {
  EXPECT_NE(seal(kKey, kSecret, kLabel), seal(kKey, kSecret, kLabel));
}

TEST(Unseal, AcceptsACrlfLineEnding) {
  std::string sealed = seal(kKey, kSecret, kLabel);
  sealed.insert(sealed.size() - 1, "\r");
  auto opened = unseal(kKey, sealed, kLabel);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(*opened, kSecret);
}

TEST(Unseal, RefusesTheWrongKey) {
  const std::string other(kMasterKeyBytes, '\x43');
  auto opened = unseal(other, seal(kKey, kSecret, kLabel), kLabel);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Errc::unauthorized);
}

TEST(Unseal, RefusesABlobSealedUnderAnotherLabel) {
  auto opened = unseal(kKey, seal(kKey, kSecret, "signing-key"), kLabel);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Errc::unauthorized);
}

TEST(Unseal, RefusesAKeyOfTheWrongSize) {
  auto opened = unseal(kKey.substr(1), seal(kKey, kSecret, kLabel), kLabel);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Errc::invalid_input);
}

TEST(Unseal, RefusesABlobWithAnyByteFlipped) {
  const std::string sealed = seal(kKey, kSecret, kLabel);
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    for (const char bit : {'\x01', '\x20', '\x80'}) {
      std::string altered = sealed;
      altered[i] = static_cast<char>(altered[i] ^ bit);
      auto opened = unseal(kKey, altered, kLabel);
      ASSERT_FALSE(opened) << "byte " << i << " xor " << int(static_cast<unsigned char>(bit));
      EXPECT_TRUE(opened.error().code == Errc::unauthorized ||
                  opened.error().code == Errc::invalid_input)
          << opened.error().message;
    }
  }
}

TEST(Unseal, SaysUnauthorizedWhenOnlyTheCiphertextWasAltered) {
  // Flipping one base64 character in the middle changes a ciphertext byte and nothing else.
  std::string sealed = seal(kKey, kSecret, kLabel);
  char& c = sealed[14 + 24];
  c = c == 'A' ? 'B' : 'A';
  auto opened = unseal(kKey, sealed, kLabel);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Errc::unauthorized);
}

TEST(Unseal, RefusesEveryTruncation) {
  const std::string sealed = seal(kKey, kSecret, kLabel);
  // Cutting only the final newline leaves a valid blob; every shorter cut must fail.
  for (std::size_t len = 0; len + 1 < sealed.size(); ++len) {
    auto opened = unseal(kKey, sealed.substr(0, len), kLabel);
    ASSERT_FALSE(opened) << "length " << len;
    EXPECT_TRUE(opened.error().code == Errc::unauthorized ||
                opened.error().code == Errc::invalid_input);
  }
}

TEST(Unseal, RefusesABlobWithoutItsTagAsInvalidInput) {
  auto opened = unseal(kKey, "HECS-SEALED-1 " + base64_encode(std::string(20, 'x')), kLabel);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Errc::invalid_input);
}

TEST(Unseal, RefusesTextThatIsNotASealedBlob) {
  for (const char* text : {"", "\n", "hello", "HECS-SEALED-2 AAAA\n", "HECS-SEALED-1 ***\n",
                           "HECS-SEALED-1  AAAA\n"}) {
    auto opened = unseal(kKey, text, kLabel);
    ASSERT_FALSE(opened) << text;
    EXPECT_EQ(opened.error().code, Errc::invalid_input) << text;
  }
}

TEST(Unseal, RefusesTrailingDataAfterTheBlob) {
  auto opened = unseal(kKey, seal(kKey, kSecret, kLabel) + "extra\n", kLabel);
  ASSERT_FALSE(opened);
}

TEST(MasterKey, ParsesSixtyFourHexCharactersWithSurroundingWhitespace) {
  auto key = parse_master_key("  " + hex_encode(kKey) + "\n");
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(*key, kKey);
}

TEST(MasterKey, ParsesUpperCaseHex) {
  std::string text = hex_encode(std::string(kMasterKeyBytes, '\xab'));
  for (char& c : text) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  auto key = parse_master_key(text);
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(*key, std::string(kMasterKeyBytes, '\xab'));
}

TEST(MasterKey, ParsesFortyFourCharacterBase64) {
  const std::string text = base64_encode(kKey);
  ASSERT_EQ(text.size(), 44u);
  auto key = parse_master_key("\t" + text + "\r\n");
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(*key, kKey);
}

TEST(MasterKey, ReadsWhatGenerateWrites) {
  const std::string text = generate_master_key_text();
  EXPECT_TRUE(text.ends_with("\n"));
  auto key = parse_master_key(text);
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(key->size(), kMasterKeyBytes);
  EXPECT_NE(generate_master_key_text(), text);
}

TEST(MasterKey, RefusesWrongLengthsAndAlphabetsWithoutQuotingTheValue) {
  const std::string hex = hex_encode(kKey);
  const std::string b64 = base64_encode(kKey);
  const std::string bad_hex = "zz" + hex.substr(2);
  const std::string bad_b64 = "!!" + b64.substr(2);
  // 33 bytes of base64 are 44 characters too, without padding: not 32 bytes.
  const std::string long_b64 = base64_encode(std::string(33, '\x42'));
  for (const std::string& text : {std::string(), hex.substr(2), hex + "00", b64.substr(4), bad_hex,
                                  bad_b64, long_b64, std::string("secret-looking-passphrase")}) {
    auto key = parse_master_key(text);
    ASSERT_FALSE(key) << text;
    EXPECT_EQ(key.error().code, Errc::invalid_input);
    if (!text.empty()) {
      EXPECT_EQ(key.error().message.find(text.substr(2, 8)), std::string::npos)
          << key.error().message;
    }
  }
}

}  // namespace
}  // namespace hecs::crypto
