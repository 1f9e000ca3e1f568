// Helpers of the route handlers: JSON responses and strict request bodies.
#include <algorithm>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "control/api/routes.h"

namespace hecs::control::api {
namespace json = boost::json;

net::Response json_response(const json::value& v, int status) {
  net::Response r;
  r.status = status;
  r.body = json::serialize(v);
  return r;
}

net::Response no_content() {
  net::Response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

Result<json::object> parse_body_object(const std::string& body) {
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 8;
  auto value = json::parse(body, ec, {}, options);
  if (ec || !value.is_object()) {
    return fail(Errc::invalid_input, "body: expected a JSON object");
  }
  return std::move(value.as_object());
}

std::string format_time(std::int64_t unix_ms) { return format_rfc3339_ms(unix_ms); }

json::value optional_time(const std::optional<std::int64_t>& unix_ms) {
  return unix_ms ? json::value(format_rfc3339_ms(*unix_ms)) : json::value(nullptr);
}

namespace {

Result<void> only(const json::object& o, std::initializer_list<std::string_view> allowed,
                  std::string_view where) {
  for (const auto& member : o) {
    if (std::find(allowed.begin(), allowed.end(), std::string_view(member.key())) ==
        allowed.end()) {
      std::string name(member.key().substr(0, 64));
      return fail(Errc::invalid_input, fmt::format("{}unknown field '{}'", where, name));
    }
  }
  return {};
}

}  // namespace

Result<Body> Body::parse(const std::string& text, std::initializer_list<std::string_view> allowed) {
  auto o = parse_body_object(text);
  if (!o) {
    return tl::unexpected(o.error());
  }
  if (auto ok = only(*o, allowed, ""); !ok) {
    return tl::unexpected(ok.error());
  }
  return Body(std::move(*o));
}

Result<std::optional<std::string>> Body::text(std::string_view name, std::size_t max_chars) const {
  const auto* v = object_.if_contains(name);
  if (v == nullptr) {
    return std::optional<std::string>();
  }
  if (!v->is_string() || v->as_string().size() > max_chars) {
    return fail(Errc::invalid_input,
                fmt::format("{}: expected a string of at most {} characters", name, max_chars));
  }
  return std::optional<std::string>(std::string(v->as_string()));
}

Result<std::optional<std::int64_t>> Body::integer(std::string_view name, std::int64_t min,
                                                  std::int64_t max) const {
  const auto* v = object_.if_contains(name);
  if (v == nullptr) {
    return std::optional<std::int64_t>();
  }
  if (!v->is_int64() || v->as_int64() < min || v->as_int64() > max) {
    return fail(Errc::invalid_input,
                fmt::format("{}: expected an integer from {} to {}", name, min, max));
  }
  return std::optional<std::int64_t>(v->as_int64());
}

Result<std::optional<bool>> Body::boolean(std::string_view name) const {
  const auto* v = object_.if_contains(name);
  if (v == nullptr) {
    return std::optional<bool>();
  }
  if (!v->is_bool()) {
    return fail(Errc::invalid_input, fmt::format("{}: expected true or false", name));
  }
  return std::optional<bool>(v->as_bool());
}

Result<std::optional<json::object>> Body::object(
    std::string_view name, std::initializer_list<std::string_view> allowed) const {
  const auto* v = object_.if_contains(name);
  if (v == nullptr) {
    return std::optional<json::object>();
  }
  if (!v->is_object()) {
    return fail(Errc::invalid_input, fmt::format("{}: expected an object", name));
  }
  if (auto ok = only(v->as_object(), allowed, fmt::format("{}: ", name)); !ok) {
    return tl::unexpected(ok.error());
  }
  return std::optional<json::object>(v->as_object());
}

Result<void> check_name(std::string_view what, std::string_view name, std::size_t max) {
  if (name.empty() || name.size() > max) {
    return fail(Errc::invalid_input, fmt::format("{}: 1 to {} characters", what, max));
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      return fail(Errc::invalid_input, fmt::format("{}: control characters are not allowed", what));
    }
  }
  if (name.front() == ' ' || name.back() == ' ') {
    return fail(Errc::invalid_input, fmt::format("{}: no leading or trailing spaces", what));
  }
  return {};
}

}  // namespace hecs::control::api
