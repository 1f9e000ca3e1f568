#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "common/crypto/crypto.h"
#include "common/result.h"

namespace hecs::crypto {
namespace {

constexpr std::string_view kStdAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::uint8_t kInvalid = 0xff;

// 256-entry reverse table, built at compile time so decoding is a lookup per character.
constexpr std::array<std::uint8_t, 256> make_reverse(std::string_view alphabet) {
  std::array<std::uint8_t, 256> table{};
  table.fill(kInvalid);
  for (std::size_t i = 0; i < alphabet.size(); ++i) {
    table[static_cast<unsigned char>(alphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return table;
}
constexpr auto kStdReverse = make_reverse(kStdAlphabet);
constexpr auto kUrlReverse = make_reverse(kUrlAlphabet);

// One encoder for both alphabets: EVP_EncodeBlock only knows the standard one, and a second
// pass rewriting '+' '/' would cost as much as doing it here.
std::string encode(std::string_view bytes, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  const auto byte = [&](std::size_t k) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k]));
  };
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t n = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t n = byte(i) << 16;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    if (pad) {
      out += "==";
    }
  } else if (rest == 2) {
    const std::uint32_t n = (byte(i) << 16) | (byte(i + 1) << 8);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    if (pad) {
      out += '=';
    }
  }
  return out;
}

// Decodes unpadded text in `reverse`'s alphabet. Strict on purpose: a signature or key must
// have exactly one text form, or two different strings would carry the same bytes (and a
// JWS could be altered without breaking its signature's meaning). So a length of 1 mod 4 and
// non-zero bits left over in the last character are refused.
Result<std::string> decode_unpadded(std::string_view text,
                                    const std::array<std::uint8_t, 256>& reverse) {
  if (text.size() % 4 == 1) {
    return fail(Errc::invalid_input, "base64: impossible length");
  }
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const std::uint8_t v = reverse[static_cast<unsigned char>(c)];
    if (v == kInvalid) {
      return fail(Errc::invalid_input, "base64: character outside the alphabet");
    }
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if ((acc & ((1U << bits) - 1)) != 0) {
    return fail(Errc::invalid_input, "base64: non-zero trailing bits");
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

}  // namespace

std::string base64url_encode(std::string_view bytes) { return encode(bytes, kUrlAlphabet, false); }

Result<std::string> base64url_decode(std::string_view text) {
  return decode_unpadded(text, kUrlReverse);
}

std::string base64_encode(std::string_view bytes) { return encode(bytes, kStdAlphabet, true); }

// Standard base64 as configuration and PEM-less files carry it: padding required (length a
// multiple of 4), at most two '=' and only at the end, same strictness on trailing bits.
Result<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return fail(Errc::invalid_input, "base64: length is not a multiple of 4");
  }
  std::size_t pad = 0;
  while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') {
    ++pad;
  }
  return decode_unpadded(text.substr(0, text.size() - pad), kStdReverse);
}

std::string hex_encode(std::string_view bytes) {
  static constexpr std::string_view kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

Result<std::string> hex_decode(std::string_view text) {
  if (text.size() % 2 != 0) {
    return fail(Errc::invalid_input, "hex: odd length");
  }
  std::string out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int hi = hex_value(text[i]);
    const int lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) {
      return fail(Errc::invalid_input, "hex: not a hex digit");
    }
    out += static_cast<char>((hi << 4) | lo);
  }
  return out;
}

std::string sha256(std::string_view bytes) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  unsigned int len = 0;
  // EVP_Digest with a built-in algorithm fails only when out of memory: a broken invariant.
  const int ok =
      EVP_Digest(bytes.data(), bytes.size(), reinterpret_cast<unsigned char*>(out.data()), &len,
                 EVP_sha256(), nullptr);
  HECS_CHECK(ok == 1 && len == SHA256_DIGEST_LENGTH, "sha256 failed");
  return out;
}

std::string sha256_hex(std::string_view bytes) { return hex_encode(sha256(bytes)); }

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (n == 0) {
    return out;
  }
  // Keys, nonces and serials come from here: carrying on with weak randomness would be worse
  // than stopping, so a failing CSPRNG aborts.
  HECS_CHECK(n <= static_cast<std::size_t>(INT32_MAX), "random_bytes: too many bytes at once");
  const int ok = RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n));
  HECS_CHECK(ok == 1, "RAND_bytes failed");
  return out;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
  // The length is not secret (MACs and tokens have fixed sizes); the contents are.
  if (a.size() != b.size()) {
    return false;
  }
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace hecs::crypto
