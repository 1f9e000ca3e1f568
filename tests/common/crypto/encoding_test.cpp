#include <set>
#include <string>

#include <gtest/gtest.h>

#include "common/crypto/crypto.h"

namespace hecs::crypto {
namespace {

// RFC 4648 §10.
TEST(Base64, EncodesTheRfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(Base64, DecodesTheRfc4648Vectors) {
  for (const std::string text : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto decoded = base64_decode(base64_encode(text));
    ASSERT_TRUE(decoded) << text;
    EXPECT_EQ(*decoded, text);
  }
}

TEST(Base64, UsesTheStandardAlphabet) {
  EXPECT_EQ(base64_encode("\xfb\xff\xbf"), "+/+/");
  EXPECT_EQ(*base64_decode("+/+/"), "\xfb\xff\xbf");
}

TEST(Base64, RefusesMissingOrMisplacedPadding) {
  EXPECT_FALSE(base64_decode("Zg"));
  EXPECT_FALSE(base64_decode("Zg="));
  EXPECT_FALSE(base64_decode("Zg=a"));
  EXPECT_FALSE(base64_decode("Z==="));
  EXPECT_FALSE(base64_decode("===="));
  EXPECT_FALSE(base64_decode("Zg==Zg=="));
}

TEST(Base64, RefusesWhitespaceAndForeignCharacters) {
  EXPECT_FALSE(base64_decode("Zm9v\n"));
  EXPECT_FALSE(base64_decode(" Zm9v"));
  EXPECT_FALSE(base64_decode("Zm9-"));
  EXPECT_FALSE(base64_decode(std::string("Zm\0v", 4)));
}

TEST(Base64, RefusesNonZeroTrailingBits) {
  EXPECT_FALSE(base64_decode("Zh=="));  // "Zg==" with a stray low bit
  EXPECT_FALSE(base64_decode("Zm9="));
}

TEST(Base64, ErrorsAreInvalidInput) {
  auto decoded = base64_decode("!!!!");
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, Errc::invalid_input);
}

// RFC 4648 §10 again, with §5's alphabet and no padding.
TEST(Base64Url, EncodesTheRfc4648VectorsWithoutPadding) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("foob"), "Zm9vYg");
  EXPECT_EQ(base64url_encode("fooba"), "Zm9vYmE");
  EXPECT_EQ(base64url_encode("foobar"), "Zm9vYmFy");
}

TEST(Base64Url, DecodesWhatItEncodes) {
  for (const std::string text : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto decoded = base64url_decode(base64url_encode(text));
    ASSERT_TRUE(decoded) << text;
    EXPECT_EQ(*decoded, text);
  }
  const std::string all = [] {
    std::string s;
    for (int i = 0; i < 256; ++i) {
      s += static_cast<char>(i);
    }
    return s;
  }();
  EXPECT_EQ(*base64url_decode(base64url_encode(all)), all);
}

TEST(Base64Url, UsesTheUrlAlphabet) {
  EXPECT_EQ(base64url_encode("\xfb\xff\xbf"), "-_-_");
  EXPECT_EQ(*base64url_decode("-_-_"), "\xfb\xff\xbf");
}

TEST(Base64Url, RefusesTheStandardAlphabet) {
  EXPECT_FALSE(base64url_decode("+/+/"));
  EXPECT_FALSE(base64url_decode("Zm9+"));
  EXPECT_FALSE(base64url_decode("Zm9/"));
}

TEST(Base64Url, RefusesPadding) {
  EXPECT_FALSE(base64url_decode("Zg=="));
  EXPECT_FALSE(base64url_decode("Zm8="));
}

TEST(Base64Url, RefusesWhitespace) {
  EXPECT_FALSE(base64url_decode("Zm9v "));
  EXPECT_FALSE(base64url_decode("Zm\n9v"));
  EXPECT_FALSE(base64url_decode("\tZm9v"));
}

TEST(Base64Url, RefusesNonZeroTrailingBits) {
  EXPECT_FALSE(base64url_decode("Zh"));   // "Zg" + 1 bit
  EXPECT_FALSE(base64url_decode("Zm9"));  // "Zm8" + 1 bit
  EXPECT_TRUE(base64url_decode("Zg"));
  EXPECT_TRUE(base64url_decode("Zm8"));
}

TEST(Base64Url, RefusesAnImpossibleLength) {
  EXPECT_FALSE(base64url_decode("Z"));
  EXPECT_FALSE(base64url_decode("Zm9vY"));
}

TEST(Hex, EncodesLowerCaseAndRoundTrips) {
  EXPECT_EQ(hex_encode(std::string("\x00\x01\xab\xff", 4)), "0001abff");
  EXPECT_EQ(*hex_decode("0001abff"), std::string("\x00\x01\xab\xff", 4));
  EXPECT_EQ(*hex_decode("ABFF"), "\xab\xff");
  EXPECT_EQ(*hex_decode(""), "");
}

TEST(Hex, RefusesOddLengthAndNonDigits) {
  EXPECT_FALSE(hex_decode("abc"));
  EXPECT_FALSE(hex_decode("zz"));
  EXPECT_FALSE(hex_decode("0x"));
  EXPECT_FALSE(hex_decode(" a"));
}

// FIPS 180-2 appendix B.1 and the empty string.
TEST(Sha256, MatchesKnownDigests) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256("abc").size(), 32U);
}

TEST(RandomBytes, GivesTheLengthAskedAndDiffersEachTime) {
  EXPECT_EQ(random_bytes(0), "");
  EXPECT_EQ(random_bytes(17).size(), 17U);
  std::set<std::string> seen;
  for (int i = 0; i < 16; ++i) {
    seen.insert(random_bytes(16));
  }
  EXPECT_EQ(seen.size(), 16U);
}

TEST(EqualConstantTime, ComparesContentAndLength) {
  EXPECT_TRUE(equal_constant_time("", ""));
  EXPECT_TRUE(equal_constant_time("secret", "secret"));
  EXPECT_FALSE(equal_constant_time("secret", "secreT"));
  EXPECT_FALSE(equal_constant_time("secret", "secret2"));
  EXPECT_FALSE(equal_constant_time("", "x"));
}

}  // namespace
}  // namespace hecs::crypto
