// Sealed secrets: AES-256-GCM under a master key that lives outside the database (a file or
// an environment variable), so a copy of the database alone does not give away the CA key.
#include <climits>
#include <cstddef>
#include <string>
#include <string_view>

#include <openssl/evp.h>

#include "common/crypto/crypto.h"
#include "common/crypto/openssl_handles.h"
#include "common/result.h"

namespace hecs::crypto {
namespace {

using detail::bytes_of;
using detail::Ossl;

constexpr std::string_view kSealedPrefix = "HECS-SEALED-1 ";
constexpr std::size_t kNonceBytes = 12;  // the size GCM is specified for (SP 800-38D §5.2.1.1)
constexpr std::size_t kTagBytes = 16;
constexpr std::size_t kMasterKeyHexChars = 2 * kMasterKeyBytes;
constexpr std::size_t kMasterKeyBase64Chars = (kMasterKeyBytes + 2) / 3 * 4;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_space(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

unsigned char* out_bytes(std::string& s, std::size_t offset) {
  return reinterpret_cast<unsigned char*>(s.data() + offset);
}

}  // namespace

Result<std::string> parse_master_key(std::string_view text) {
  // The decoders' messages are not passed on: they may quote a character of the key.
  const std::string_view key_text = trim(text);
  if (key_text.size() == kMasterKeyHexChars) {
    auto key = hex_decode(key_text);
    if (!key) {
      return fail(Errc::invalid_input, "master key: 64 characters but not hex");
    }
    return key;
  }
  if (key_text.size() == kMasterKeyBase64Chars) {
    auto key = base64_decode(key_text);
    if (!key || key->size() != kMasterKeyBytes) {
      return fail(Errc::invalid_input, "master key: 44 characters but not base64 of 32 bytes");
    }
    return key;
  }
  return fail(Errc::invalid_input, "master key: expected 64 hex or 44 base64 characters, got " +
                                       std::to_string(key_text.size()));
}

std::string generate_master_key_text() { return hex_encode(random_bytes(kMasterKeyBytes)) + "\n"; }

std::string seal(std::string_view key, std::string_view plaintext, std::string_view label) {
  // A wrong key size or a secret over 2 GiB is a bug in the caller, not input from outside.
  HECS_CHECK(key.size() == kMasterKeyBytes, "seal: the key must be 32 bytes");
  HECS_CHECK(plaintext.size() <= INT_MAX && label.size() <= INT_MAX, "seal: input too large");
  // A random nonce per message: 2^32 seals under one key keep the collision chance below
  // 2^-32 (SP 800-38D §8.3), far beyond the handful of secrets HECS keeps.
  const std::string nonce = random_bytes(kNonceBytes);
  std::string blob = nonce;
  blob.resize(kNonceBytes + plaintext.size() + kTagBytes);

  Ossl<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  // Every call below fails only when out of memory, given the sizes checked above.
  bool ok =
      ctx != nullptr &&
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes_of(key), bytes_of(nonce)) ==
          1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes_of(label),
                        static_cast<int>(label.size())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), out_bytes(blob, kNonceBytes), &len, bytes_of(plaintext),
                        static_cast<int>(plaintext.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx.get(), out_bytes(blob, kNonceBytes + plaintext.size()), &len) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes),
                          out_bytes(blob, kNonceBytes + plaintext.size())) == 1;
  HECS_CHECK(ok, "seal: AES-256-GCM failed");
  return std::string(kSealedPrefix) + base64_encode(blob) + "\n";
}

Result<std::string> unseal(std::string_view key, std::string_view sealed, std::string_view label) {
  if (key.size() != kMasterKeyBytes) {
    return fail(Errc::invalid_input, "unseal: the key must be 32 bytes");
  }
  // Only the final newline seal() writes (or a CRLF an editor made of it) is allowed, so that
  // each blob has one text form and no altered byte goes unnoticed.
  if (sealed.ends_with("\r\n")) {
    sealed.remove_suffix(2);
  } else if (sealed.ends_with('\n')) {
    sealed.remove_suffix(1);
  }
  if (!sealed.starts_with(kSealedPrefix)) {
    return fail(Errc::invalid_input, "unseal: not a HECS-SEALED-1 blob");
  }
  const std::string_view body = sealed.substr(kSealedPrefix.size());
  auto blob = base64_decode(body);
  if (!blob) {
    return fail(std::move(blob.error()), "unseal");
  }
  // A second spelling of the same bytes would let an altered blob still open.
  if (base64_encode(*blob) != body) {
    return fail(Errc::invalid_input, "unseal: base64 not in canonical form");
  }
  if (blob->size() < kNonceBytes + kTagBytes) {
    return fail(Errc::invalid_input, "unseal: blob too short");
  }
  const std::size_t text_size = blob->size() - kNonceBytes - kTagBytes;
  if (text_size > INT_MAX || label.size() > INT_MAX) {
    return fail(Errc::invalid_input, "unseal: blob too large");
  }
  const std::string_view nonce = std::string_view(*blob).substr(0, kNonceBytes);
  const std::string_view ciphertext = std::string_view(*blob).substr(kNonceBytes, text_size);
  std::string tag = blob->substr(kNonceBytes + text_size);
  std::string plaintext(text_size, '\0');

  Ossl<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  const bool set_up =
      ctx != nullptr &&
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes_of(key), bytes_of(nonce)) ==
          1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes),
                          tag.data()) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes_of(label),
                        static_cast<int>(label.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), out_bytes(plaintext, 0), &len, bytes_of(ciphertext),
                        static_cast<int>(ciphertext.size())) == 1;
  if (!set_up) {
    ERR_clear_error();
    return fail(Errc::internal, "unseal: AES-256-GCM failed");
  }
  // The tag is checked here, after all the data: nothing decrypted is returned before it.
  if (EVP_DecryptFinal_ex(ctx.get(), out_bytes(plaintext, text_size), &len) != 1) {
    ERR_clear_error();
    return fail(Errc::unauthorized,
                "unseal: authentication failed (wrong key or label, or the "
                "blob was altered)");
  }
  return plaintext;
}

}  // namespace hecs::crypto
