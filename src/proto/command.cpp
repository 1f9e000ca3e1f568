// Signed down-messages (proto.h, last section; DESIGN §3–§4): JWS compact serialisation with
// EdDSA. The order of checks is the point of this file: nothing from the payload is looked at
// before the signature over it has verified, so a forger reaches only the size check, the
// base64url decoder and a two-field header.
#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <string_view>
#include <utility>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "common/clock.h"
#include "common/crypto/crypto.h"
#include "proto/json_read.h"
#include "proto/proto.h"

namespace hecs::proto {
namespace {

constexpr std::string_view kAlg = "EdDSA";
constexpr std::size_t kMaxKidBytes = 64;  // the same limit as parse_keys (keys.cpp)
constexpr std::size_t kMaxTypeBytes = 32;
constexpr std::array<std::string_view, 8> kPayloadKeys = {"v",   "id",  "type", "sub",
                                                          "seq", "iat", "exp",  "body"};

tl::unexpected<Refused> refuse(Refusal reason, std::string message) {
  return tl::unexpected<Refused>(Refused{reason, std::move(message)});
}

tl::unexpected<Refused> malformed(Error error) {
  return refuse(Refusal::malformed, std::move(error.message));
}

// Counts object members as they are written and spots numbers that overflowed. Boost.JSON
// 1.81 keeps one value of a duplicated key without saying so, and two readers that disagree
// on which one counts are how signed JSON gets smuggled past a check. Comparing this count
// with the members of the built tree finds every duplicate in one linear pass.
struct MemberCounter {
  // NOLINTBEGIN(readability-identifier-naming): names required by Boost.JSON's handler concept
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  // NOLINTEND(readability-identifier-naming)
  using ec_t = boost::system::error_code;
  using sv_t = boost::json::string_view;

  std::size_t members = 0;
  bool non_finite = false;

  bool on_document_begin(ec_t&) { return true; }
  bool on_document_end(ec_t&) { return true; }
  bool on_array_begin(ec_t&) { return true; }
  bool on_array_end(std::size_t, ec_t&) { return true; }
  bool on_object_begin(ec_t&) { return true; }
  bool on_object_end(std::size_t n, ec_t&) {
    members += n;
    return true;
  }
  bool on_string_part(sv_t, std::size_t, ec_t&) { return true; }
  bool on_string(sv_t, std::size_t, ec_t&) { return true; }
  bool on_key_part(sv_t, std::size_t, ec_t&) { return true; }
  bool on_key(sv_t, std::size_t, ec_t&) { return true; }
  bool on_number_part(sv_t, ec_t&) { return true; }
  bool on_int64(std::int64_t, sv_t, ec_t&) { return true; }
  bool on_uint64(std::uint64_t, sv_t, ec_t&) { return true; }
  bool on_double(double d, sv_t, ec_t&) {
    // JSON has no infinity, but 1e999 parses to one and would not serialize back as JSON.
    non_finite = non_finite || !std::isfinite(d);
    return true;
  }
  bool on_bool(bool, ec_t&) { return true; }
  bool on_null(ec_t&) { return true; }
  bool on_comment_part(sv_t, ec_t&) { return true; }
  bool on_comment(sv_t, ec_t&) { return true; }
};

// Recursion is bounded by the parser's nesting limit (32).
std::size_t tree_members(const boost::json::value& value) {
  std::size_t n = 0;
  if (const auto* object = value.if_object()) {
    n += object->size();
    for (const auto& entry : *object) {
      n += tree_members(entry.value());
    }
  } else if (const auto* array = value.if_array()) {
    for (const auto& item : *array) {
      n += tree_members(item);
    }
  }
  return n;
}

// Strict RFC 8259 (valid UTF-8, nesting ≤ 32), one object, no duplicate keys, finite numbers.
Result<boost::json::object> parse_strict_object(std::string_view text, std::string_view what) {
  const std::string prefix = std::string(what) + ": ";
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(text, ec);
  if (ec) {
    return fail(Errc::invalid_input, prefix + "not valid json: " + ec.message());
  }
  if (!value.is_object()) {
    return fail(Errc::invalid_input, prefix + "expected an object");
  }
  boost::json::basic_parser<MemberCounter> counter(boost::json::parse_options{});
  const std::size_t used = counter.write_some(false, text.data(), text.size(), ec);
  if (ec || used != text.size()) {
    return fail(Errc::internal, prefix + "the two json parsers disagree");
  }
  if (counter.handler().non_finite) {
    return fail(Errc::invalid_input, prefix + "number out of range");
  }
  if (counter.handler().members != tree_members(value)) {
    return fail(Errc::invalid_input, prefix + "duplicate key");
  }
  return std::move(value.get_object());
}

// A key from a payload, safe to put in a reason: printable ASCII, cut short.
std::string printable(std::string_view text) {
  constexpr std::size_t kMaxEcho = 32;
  std::string out = "\"";
  for (const char c : text.substr(0, kMaxEcho)) {
    out += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? c : '?';
  }
  out += text.size() > kMaxEcho ? "...\"" : "\"";
  return out;
}

bool is_command_type(std::string_view type) {
  return !type.empty() && type.size() <= kMaxTypeBytes &&
         std::all_of(type.begin(), type.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
}

struct Header {
  std::string kid;
};

// {"alg":"EdDSA","kid":"…"}, nothing else. alg "none" is told apart from other bad headers:
// it is an attack (or a misconfigured sender), not noise.
tl::expected<Header, Refused> read_header(std::string_view b64) {
  auto bytes = crypto::base64url_decode(b64);
  if (!bytes) {
    return refuse(Refusal::malformed, "header: not base64url");
  }
  auto object = parse_strict_object(*bytes, "header");
  if (!object) {
    return malformed(std::move(object.error()));
  }
  const auto* alg = object->if_contains("alg");
  if (alg != nullptr && alg->is_string() && alg->get_string() == "none") {
    return refuse(Refusal::unsigned_msg, "header.alg: none");
  }
  if (object->size() != 2 || alg == nullptr || !object->contains("kid")) {
    return refuse(Refusal::malformed, "header: expected exactly alg and kid");
  }
  if (!alg->is_string() || alg->get_string() != kAlg) {
    return refuse(Refusal::malformed, "header.alg: expected EdDSA");
  }
  const auto* kid = object->if_contains("kid")->if_string();
  if (kid == nullptr || kid->empty() || kid->size() > kMaxKidBytes) {
    return refuse(Refusal::malformed, "header.kid: expected a string of 1 to 64 bytes");
  }
  return Header{std::string(*kid)};
}

Result<Command> read_payload(std::string_view b64) {
  auto bytes = crypto::base64url_decode(b64);
  if (!bytes) {
    return fail(Errc::invalid_input, "payload: not base64url");
  }
  auto root = parse_strict_object(*bytes, "payload");
  if (!root) {
    return tl::unexpected(std::move(root.error()));
  }
  // The version first, as in the envelope: "unsupported version" is the useful reason when a
  // newer control plane adds fields.
  const auto* v = root->if_contains("v");
  if (v == nullptr) {
    return fail(Errc::invalid_input, "payload.v: missing");
  }
  auto version = detail::to_int(*v, "payload.v");
  if (!version) {
    return tl::unexpected(std::move(version.error()));
  }
  if (*version != kVersion) {
    return fail(Errc::invalid_input, "payload.v: unsupported version " + std::to_string(*version));
  }
  for (const auto& entry : *root) {
    if (std::find(kPayloadKeys.begin(), kPayloadKeys.end(), entry.key()) == kPayloadKeys.end()) {
      return fail(Errc::invalid_input, "payload: unknown field " + printable(entry.key()));
    }
  }
  Command command;
  detail::ObjectReader reader(*root, "payload");
  reader.read("id", command.id);
  if (reader.ok() && !is_uuid(command.id)) {
    reader.reject("id", "expected a lower-case uuid");
  }
  reader.read("type", command.type);
  if (reader.ok() && !is_command_type(command.type)) {
    reader.reject("type", "expected 1 to 32 characters of a-z and _");
  }
  reader.read("sub", command.sub);
  if (reader.ok() && !is_uuid(command.sub)) {
    reader.reject("sub", "expected a lower-case uuid");
  }
  reader.read("seq", command.seq);
  if (reader.ok() && command.seq == 0) {
    reader.reject("seq", "expected at least 1");
  }
  reader.read("iat", command.iat);
  reader.read("exp", command.exp);
  if (reader.ok() && command.exp <= command.iat) {
    reader.reject("exp", "expected later than iat");
  }
  if (auto read = reader.result(); !read) {
    return tl::unexpected(std::move(read.error()));
  }
  auto* body_value = root->if_contains("body");
  if (body_value == nullptr) {
    return fail(Errc::invalid_input, "payload.body: missing");
  }
  auto* body = body_value->if_object();
  if (body == nullptr) {
    return fail(Errc::invalid_input, "payload.body: expected an object");
  }
  command.body = std::move(*body);
  return command;
}

// A JWS never starts with '{' (not in the base64url alphabet), so this is a JSON message that
// was never signed: an old control plane's unsigned ack, or someone trying one.
bool looks_like_json(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && text[first] == '{';
}

}  // namespace

std::string_view refusal_name(Refusal refusal) {
  switch (refusal) {
    case Refusal::malformed:
      return "malformed";
    case Refusal::unsigned_msg:
      return "unsigned";
    case Refusal::bad_signature:
      return "bad_signature";
    case Refusal::unknown_key:
      return "unknown_key";
    case Refusal::expired:
      return "expired";
    case Refusal::replayed:
      return "replayed";
    case Refusal::misaddressed:
      return "misaddressed";
  }
  return "malformed";
}

std::string sign_command(const Command& command, std::string_view kid,
                         const crypto::Ed25519Key& key) {
  boost::json::object header;
  header.emplace("alg", kAlg);
  header.emplace("kid", kid);
  boost::json::object payload;
  payload.reserve(kPayloadKeys.size());
  payload.emplace("v", command.v);
  payload.emplace("id", command.id);
  payload.emplace("type", command.type);
  payload.emplace("sub", command.sub);
  payload.emplace("seq", command.seq);
  payload.emplace("iat", command.iat);
  payload.emplace("exp", command.exp);
  payload.emplace("body", command.body);
  std::string text = crypto::base64url_encode(boost::json::serialize(header));
  text += '.';
  text += crypto::base64url_encode(boost::json::serialize(payload));
  const std::string signature = key.sign(text);
  text += '.';
  text += crypto::base64url_encode(signature);
  return text;
}

tl::expected<Command, Refused> verify_command(std::string_view jws,
                                              const std::vector<VerifyKey>& keys,
                                              const VerifyContext& context) {
  if (jws.size() > context.max_bytes) {
    return refuse(Refusal::malformed, "message: " + std::to_string(jws.size()) +
                                          " bytes, more than the limit of " +
                                          std::to_string(context.max_bytes));
  }
  if (looks_like_json(jws)) {
    return refuse(Refusal::unsigned_msg, "message: plain json, not a signed command");
  }
  const auto dot1 = jws.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : jws.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || jws.find('.', dot2 + 1) != std::string_view::npos) {
    return refuse(Refusal::malformed, "message: expected three base64url parts");
  }
  const std::string_view signing_input = jws.substr(0, dot2);  // RFC 7515 §5.2 step 8
  const std::string_view payload_b64 = jws.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature_b64 = jws.substr(dot2 + 1);

  auto header = read_header(jws.substr(0, dot1));
  if (!header) {
    return tl::unexpected(std::move(header.error()));
  }
  if (signature_b64.empty()) {
    return refuse(Refusal::unsigned_msg, "signature: empty");
  }
  const auto key = std::find_if(keys.begin(), keys.end(),
                                [&](const VerifyKey& k) { return k.kid == header->kid; });
  if (key == keys.end()) {
    return refuse(Refusal::unknown_key, "header.kid: not a known key");
  }
  auto signature = crypto::base64url_decode(signature_b64);
  if (!signature) {
    return refuse(Refusal::malformed, "signature: not base64url");
  }
  if (!crypto::ed25519_verify(key->public_key, signing_input, *signature)) {
    return refuse(Refusal::bad_signature, "signature: does not verify");
  }

  auto command = read_payload(payload_b64);
  if (!command) {
    return malformed(std::move(command.error()));
  }
  // Signed by us but not for this device, now or here: the order gives the most useful reason
  // (a command for another device is misaddressed even if it is also old).
  if (command->sub != context.device_id) {
    return refuse(Refusal::misaddressed, "payload.sub: another device");
  }
  if (command->exp < context.now_s) {
    return refuse(Refusal::expired,
                  "payload.exp: " +
                      // Unsigned: exp may be far enough below zero to overflow a signed difference.
                      std::to_string(static_cast<std::uint64_t>(context.now_s) -
                                     static_cast<std::uint64_t>(command->exp)) +
                      " s ago");
  }
  if (command->seq <= context.last_seq) {
    return refuse(Refusal::replayed, "payload.seq: " + std::to_string(command->seq) +
                                         " not above " + std::to_string(context.last_seq));
  }
  return std::move(*command);
}

}  // namespace hecs::proto
