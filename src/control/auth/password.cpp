// Argon2id password hashing (S40) on libargon2, and the password policy.
#include <charconv>
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

}  // namespace

Result<void> check_password_policy(std::string_view password) {
  if (password.size() > kMaxPasswordBytes) {
    return fail(Errc::invalid_input, fmt::format("password: at most {} bytes", kMaxPasswordBytes));
  }
  std::size_t chars = 0;
  for (unsigned char c : password) {
    if (c < 0x20 || c == 0x7f) {
      return fail(Errc::invalid_input, "password: control characters are not allowed");
    }
    chars += (c & 0xc0) != 0x80 ? 1 : 0;  // UTF-8 lead bytes: characters, not bytes
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
