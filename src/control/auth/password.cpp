// Argon2id password hashing (S40) on libargon2, and the password policy.
#include <charconv>
#include <cstdint>
#include <vector>

#include <argon2.h>
#include <fmt/format.h>

#include "common/crypto/crypto.h"
#include "control/auth/auth.h"

namespace hecs::control::auth {
namespace {

constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;
constexpr std::string_view kPhcPrefix = "$argon2id$v=19$";

// m, t and p of a PHC string; nullopt when it is not one of ours.
std::optional<PasswordParams> phc_params(std::string_view phc) {
  if (!phc.starts_with(kPhcPrefix)) {
    return std::nullopt;
  }
  phc.remove_prefix(kPhcPrefix.size());
  PasswordParams p;
  std::uint32_t* fields[] = {&p.memory_kib, &p.iterations, &p.lanes};
  const char* names[] = {"m=", "t=", "p="};
  for (int i = 0; i < 3; ++i) {
    if (!phc.starts_with(names[i])) {
      return std::nullopt;
    }
    phc.remove_prefix(2);
    auto [end, ec] = std::from_chars(phc.data(), phc.data() + phc.size(), *fields[i]);
    if (ec != std::errc()) {
      return std::nullopt;
    }
    phc.remove_prefix(static_cast<std::size_t>(end - phc.data()));
    const char sep = i < 2 ? ',' : '$';
    if (phc.empty() || phc.front() != sep) {
      return std::nullopt;
    }
    phc.remove_prefix(1);
  }
  return p;
}

// One UTF-8 sequence by its lead byte: length in bytes, the lead byte's payload bits, and the
// smallest code point it may encode (below is an overlong form). Length 0: a continuation
// byte, or a byte no valid sequence starts with.
struct Utf8Lead {
  std::size_t length = 0;
  std::uint32_t bits = 0;
  std::uint32_t min = 0;
};

Utf8Lead utf8_lead(unsigned char lead) {
  if (lead < 0x80) {
    return {1, 0x7f, 0};
  }
  if (lead < 0xc2) {
    return {};
  }
  if (lead < 0xe0) {
    return {2, 0x1f, 0x80};
  }
  if (lead < 0xf0) {
    return {3, 0x0f, 0x800};
  }
  if (lead < 0xf5) {
    return {4, 0x07, 0x10000};
  }
  return {};
}

}  // namespace

Result<void> check_password_policy(std::string_view password) {
  if (password.size() > kMaxPasswordBytes) {
    return fail(Errc::invalid_input, fmt::format("password: at most {} bytes", kMaxPasswordBytes));
  }
  // Characters, not bytes: decode UTF-8 strictly (no overlong forms, surrogates or code points
  // past U+10FFFF), so that neither stray bytes count as characters nor a C1 control
  // (U+0080..U+009F, two bytes) slips past the control check.
  std::size_t chars = 0;
  for (std::size_t i = 0; i < password.size(); ++chars) {
    const auto lead = static_cast<unsigned char>(password[i]);
    const Utf8Lead seq = utf8_lead(lead);
    if (seq.length == 0) {
      return fail(Errc::invalid_input, "password: not valid UTF-8");
    }
    std::uint32_t cp = lead & seq.bits;
    if (password.size() - i < seq.length) {
      return fail(Errc::invalid_input, "password: not valid UTF-8");
    }
    for (std::size_t k = 1; k < seq.length; ++k) {
      const auto next = static_cast<unsigned char>(password[i + k]);
      if ((next & 0xc0) != 0x80) {
        return fail(Errc::invalid_input, "password: not valid UTF-8");
      }
      cp = (cp << 6) | (next & 0x3fu);
    }
    if (cp < seq.min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return fail(Errc::invalid_input, "password: not valid UTF-8");
    }
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
      return fail(Errc::invalid_input, "password: control characters are not allowed");
    }
    i += seq.length;
  }
  if (chars < kMinPasswordChars) {
    return fail(Errc::invalid_input,
                fmt::format("password: at least {} characters", kMinPasswordChars));
  }
  return {};
}

std::string hash_password(std::string_view password, const PasswordParams& params) {
  const std::string salt = crypto::random_bytes(kSaltBytes);
  std::vector<char> encoded(argon2_encodedlen(params.iterations, params.memory_kib, params.lanes,
                                              kSaltBytes, kHashBytes, Argon2_id) +
                            1);
  int rc = argon2id_hash_encoded(params.iterations, params.memory_kib, params.lanes,
                                 password.data(), password.size(), salt.data(), salt.size(),
                                 kHashBytes, encoded.data(), encoded.size());
  HECS_CHECK(rc == ARGON2_OK, "argon2id_hash_encoded failed");
  return std::string(encoded.data());
}

bool verify_password(std::string_view password, const std::string& phc) {
  // Parameters are read back from the string: refuse absurd ones before libargon2 allocates.
  auto params = phc_params(phc);
  if (!params || params->memory_kib > 4u * 1024 * 1024 || params->iterations > 100 ||
      params->lanes == 0 || params->lanes > 16 || password.size() > kMaxPasswordBytes) {
    return false;
  }
  return argon2id_verify(phc.c_str(), password.data(), password.size()) == ARGON2_OK;
}

bool needs_rehash(const std::string& phc, const PasswordParams& params) {
  auto stored = phc_params(phc);
  return !stored || stored->memory_kib < params.memory_kib ||
         stored->iterations < params.iterations || stored->lanes != params.lanes;
}

void verify_dummy_password(std::string_view password) {
  // Made once, with the current parameters, of a password nobody knows.
  static const std::string dummy = hash_password(crypto::random_bytes(24));
  (void)verify_password(password.substr(0, kMaxPasswordBytes), dummy);
}

}  // namespace hecs::control::auth
