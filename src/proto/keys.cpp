// Body of a "keys" command (proto.h): the command-signing keys an agent trusts. Also the
// format of the agent's own copy on disk, so what it stores is what it was sent.
#include <string>
#include <string_view>

#include <boost/json/array.hpp>

#include "common/crypto/crypto.h"
#include "proto/json_read.h"
#include "proto/proto.h"

namespace hecs::proto {
namespace {

constexpr std::size_t kMaxKeys = 8;
constexpr std::size_t kMaxKidBytes = 64;  // the same limit as the JWS header (command.cpp)

tl::unexpected<Error> invalid(std::string message) {
  return fail(Errc::invalid_input, std::move(message));
}

Result<VerifyKey> parse_key(const boost::json::value& value, const std::string& path) {
  // Closed, unlike most bodies: a key entry with a field we do not understand (an algorithm,
  // a validity window) must not be trusted as if that field were not there.
  const auto* object = value.if_object();
  if (object == nullptr) {
    return invalid(path + ": expected an object");
  }
  if (object->size() != 2 || !object->contains("kid") || !object->contains("public_key")) {
    return invalid(path + ": expected exactly kid and public_key");
  }
  const auto* kid = object->if_contains("kid")->if_string();
  if (kid == nullptr || kid->empty() || kid->size() > kMaxKidBytes) {
    return invalid(path + ".kid: expected a string of 1 to 64 bytes");
  }
  const auto* text = object->if_contains("public_key")->if_string();
  std::string raw;
  if (text != nullptr) {
    if (auto decoded = crypto::base64url_decode(*text)) {
      raw = std::move(*decoded);
    }
  }
  if (raw.size() != crypto::kEd25519PublicKeyBytes) {
    return invalid(path + ".public_key: expected 32 bytes in base64url");
  }
  return VerifyKey{std::string(*kid), std::move(raw)};
}

}  // namespace

Result<Keys> parse_keys(const boost::json::object& body) {
  if (body.size() != 1 || !body.contains("keys")) {
    return invalid("body: expected exactly keys");
  }
  const auto* array = body.if_contains("keys")->if_array();
  if (array == nullptr) {
    return invalid("body.keys: expected an array");
  }
  // At least one: an empty set would leave the agent unable to accept any command again,
  // including the one that would give it keys back.
  if (array->empty() || array->size() > kMaxKeys) {
    return invalid("body.keys: expected 1 to 8 keys");
  }
  Keys keys;
  keys.keys.reserve(array->size());
  for (std::size_t i = 0; i < array->size(); ++i) {
    auto key = parse_key((*array)[i], detail::index_path("body.keys", i));
    if (!key) {
      return tl::unexpected(std::move(key.error()));
    }
    for (const auto& seen : keys.keys) {
      if (seen.kid == key->kid) {
        return invalid(detail::index_path("body.keys", i) + ".kid: duplicate");
      }
    }
    keys.keys.push_back(std::move(*key));
  }
  return keys;
}

boost::json::object to_json(const Keys& keys) {
  boost::json::array array;
  array.reserve(keys.keys.size());
  for (const auto& key : keys.keys) {
    boost::json::object entry;
    entry.emplace("kid", key.kid);
    entry.emplace("public_key", crypto::base64url_encode(key.public_key));
    array.emplace_back(std::move(entry));
  }
  boost::json::object body;
  body.emplace("keys", std::move(array));
  return body;
}

}  // namespace hecs::proto
