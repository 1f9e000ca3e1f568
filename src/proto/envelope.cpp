#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <string>
#include <utility>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "common/clock.h"
#include "proto/json_read.h"
#include "proto/proto.h"

namespace hecs::proto {
namespace {

constexpr std::array<std::string_view, 5> kEnvelopeKeys = {"v", "id", "type", "ts", "body"};
// How much of an unknown key a reason repeats: enough to recognise it, not enough to flood.
constexpr std::size_t kMaxEchoedKeyBytes = 64;

tl::unexpected<Error> invalid(std::string message) {
  return fail(Errc::invalid_input, std::move(message));
}

// A key from the payload, made safe to put in a reason: printable ASCII only, truncated.
std::string echo_key(std::string_view key) {
  std::string out;
  for (char c : key.substr(0, kMaxEchoedKeyBytes)) {
    out += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? c : '?';
  }
  if (key.size() > kMaxEchoedKeyBytes) {
    out += "...";
  }
  return out;
}

// Where below `value` a number overflowed to infinity ("" for `value` itself, ".load1",
// "[3].x"), or nullopt. Boost.JSON 1.81 parses 1e999 as infinity but serializes it as
// `Infinity`, which is not JSON: a message we accept must be one we can store and pass on.
// Recursion is bounded by the parser's nesting limit.
std::optional<std::string> non_finite_path(const boost::json::value& value) {
  if (const double* d = value.if_double()) {
    return std::isfinite(*d) ? std::nullopt : std::optional<std::string>("");
  }
  if (const boost::json::object* object = value.if_object()) {
    for (const auto& entry : *object) {
      if (auto below = non_finite_path(entry.value())) {
        return "." + echo_key(entry.key()) + *below;
      }
    }
  } else if (const boost::json::array* array = value.if_array()) {
    for (std::size_t i = 0; i < array->size(); ++i) {
      if (auto below = non_finite_path((*array)[i])) {
        return "[" + std::to_string(i) + "]" + *below;
      }
    }
  }
  return std::nullopt;
}

}  // namespace

Result<Envelope> parse_envelope(std::string_view payload, std::size_t max_bytes) {
  // Checked before parsing, so an oversized message costs nothing but this comparison.
  if (payload.size() > max_bytes) {
    return invalid("payload: " + std::to_string(payload.size()) +
                   " bytes, more than the limit of " + std::to_string(max_bytes));
  }
  // Default options: strict RFC 8259, valid UTF-8, nesting at most 32 deep.
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(payload, ec);
  if (ec) {
    return invalid("payload: not valid json: " + ec.message());
  }
  boost::json::object* root = value.if_object();
  if (root == nullptr) {
    return invalid("payload: expected an object");
  }

  // The version comes first: a later version may add fields, and "unsupported version" is the
  // more useful reason then.
  const boost::json::value* v = root->if_contains("v");
  if (v == nullptr) {
    return invalid("v: missing");
  }
  auto version = detail::to_int(*v, "v");
  if (!version) {
    return tl::unexpected(std::move(version.error()));
  }
  if (*version != kVersion) {
    return invalid("v: unsupported version " + std::to_string(*version));
  }
  // Unlike bodies, the envelope is closed: it changes only with the version.
  for (const auto& entry : *root) {
    if (std::find(kEnvelopeKeys.begin(), kEnvelopeKeys.end(), entry.key()) == kEnvelopeKeys.end()) {
      return invalid("\"" + echo_key(entry.key()) + "\": unknown field");
    }
  }

  Envelope envelope;
  detail::ObjectReader reader(*root, "");
  reader.read("id", envelope.id);
  if (reader.ok() && !is_uuid(envelope.id)) {
    reader.reject("id", "expected a lower-case uuid");
  }
  reader.read("type", envelope.type);
  if (reader.ok() && envelope.type.empty()) {
    reader.reject("type", "expected a non-empty string");
  }
  reader.read("ts", envelope.ts);
  if (auto read = reader.result(); !read) {
    return tl::unexpected(std::move(read.error()));
  }
  boost::json::value* body = root->if_contains("body");
  if (body == nullptr) {
    return invalid("body: missing");
  }
  boost::json::object* body_object = body->if_object();
  if (body_object == nullptr) {
    return invalid("body: expected an object");
  }
  if (auto where = non_finite_path(*body)) {
    return invalid("body" + *where + ": number out of range");
  }
  envelope.body = std::move(*body_object);
  return envelope;
}

std::string serialize(const Envelope& envelope) {
  boost::json::object root;
  root.reserve(kEnvelopeKeys.size());
  root.emplace("v", envelope.v);
  root.emplace("id", envelope.id);
  root.emplace("type", envelope.type);
  root.emplace("ts", envelope.ts);
  root.emplace("body", envelope.body);
  return boost::json::serialize(root);
}

Envelope make_envelope(std::string_view type, std::int64_t ts_ms, boost::json::object body) {
  Envelope envelope;
  envelope.id = random_uuid();
  envelope.type = std::string(type);
  envelope.ts = ts_ms;
  envelope.body = std::move(body);
  return envelope;
}

}  // namespace hecs::proto
