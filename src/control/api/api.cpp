#include "control/api/api.h"

#include <charconv>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "common/log.h"
#include "control/api/routes.h"
#include "control/auth/auth.h"

namespace hecs::control::api {
namespace json = boost::json;

namespace {

constexpr std::size_t kDefaultLimit = 50;
constexpr std::size_t kMaxLimit = 500;
constexpr std::size_t kMaxQuery = 200;

json::value parse_stored(const std::string& text) {
  if (text.empty()) {
    return nullptr;
  }
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  return ec ? json::value(nullptr) : v;
}

json::object device_json(const store::Device& d) {
  json::object o;
  o["id"] = d.id;
  o["tenant_id"] = d.tenant_id;
  o["hostname"] = d.hostname;
  o["online"] = d.online;
  o["session"] = d.session;
  o["first_seen"] = format_rfc3339_ms(d.first_seen);
  o["last_seen"] = format_rfc3339_ms(d.last_seen);
  o["inventory"] = parse_stored(d.inventory);
  o["telemetry"] = parse_stored(d.telemetry);
  o["telemetry_at"] =
      d.telemetry_ts ? json::value(format_rfc3339_ms(*d.telemetry_ts)) : json::value(nullptr);
  o["state"] = d.state;
  o["tags"] = parse_stored(d.tags);
  return o;
}

Result<store::DeviceFilter> device_filter(const net::Request& req) {
  store::DeviceFilter f;
  f.limit = kDefaultLimit;
  for (const auto& [key, value] : req.query) {
    if (key == "limit") {
      std::size_t n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || p != value.data() + value.size() || n < 1 || n > kMaxLimit) {
        return fail(Errc::invalid_input, fmt::format("limit must be 1..{}", kMaxLimit));
      }
      f.limit = n;
    } else if (key == "cursor") {
      auto after = decode_cursor(value);
      if (!after) {
        return tl::unexpected(after.error());
      }
      f.after_id = *after;
    } else if (key == "online") {
      if (value != "true" && value != "false") {
        return fail(Errc::invalid_input, "online must be true or false");
      }
      f.online = value == "true";
    } else if (key == "q") {
      if (value.size() > kMaxQuery) {
        return fail(Errc::invalid_input, fmt::format("q is limited to {} characters", kMaxQuery));
      }
      f.q = value;
    } else {
      return fail(Errc::invalid_input, fmt::format("unknown query parameter '{}'", key));
    }
  }
  return f;
}

}  // namespace

net::Response json_response(const json::value& v, int status) {
  net::Response r;
  r.status = status;
  r.body = json::serialize(v);
  return r;
}

net::Response method_not_allowed(std::string_view allow) {
  auto r = net::problem(405, "invalid_input", "method not allowed");
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

net::Response problem_from(const Error& error) {
  int status = 500;
  std::string title = "internal error";
  switch (error.code) {
    case Errc::invalid_input:
      status = 400;
      title = "invalid request";
      break;
    case Errc::unauthorized:
      status = 401;
      title = "unauthorized";
      break;
    case Errc::not_found:
      status = 404;
      title = "not found";
      break;
    case Errc::conflict:
      status = 409;
      title = "conflict";
      break;
    case Errc::unavailable:
      status = 503;
      title = "service unavailable";
      break;
    case Errc::timeout:
      status = 504;
      title = "timeout";
      break;
    case Errc::corrupt:
      status = 500;
      title = "stored data damaged";
      break;
    case Errc::internal:
      status = 500;
      title = "internal error";
      break;
  }
  // Internal details stay in the log; only client errors say what was wrong.
  bool show = status < 500;
  if (!show) {
    log::get("control.api")
        ->error("api.failed status={} code={} error={}", status, errc_name(error.code),
                log::quoted(error.message));
  }
  auto r = net::problem(status, errc_name(error.code), title, show ? error.message : "");
  if (status == 401) {
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"hecs\"");
  }
  if (status == 503) {
    r.headers.emplace_back("Retry-After", "5");
  }
  return r;
}

std::string encode_cursor(const std::string& last_id) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t buf = 0;
  int bits = 0;
  for (unsigned char c : last_id) {
    buf = (buf << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(buf >> bits) & 0x3f];
    }
  }
  if (bits > 0) {
    out += kAlphabet[(buf << (6 - bits)) & 0x3f];
  }
  return out;
}

Result<std::string> decode_cursor(const std::string& cursor) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  std::string out;
  std::uint32_t buf = 0;
  int bits = 0;
  if (cursor.size() > 128) {
    return fail(Errc::invalid_input, "invalid cursor");
  }
  for (char c : cursor) {
    int v = value(c);
    if (v < 0) {
      return fail(Errc::invalid_input, "invalid cursor");
    }
    buf = (buf << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xff);
    }
  }
  if (!is_uuid(out)) {
    return fail(Errc::invalid_input, "invalid cursor");
  }
  return out;
}

Api::Api(Deps deps) : deps_(std::move(deps)) {}

net::Response Api::handle(const net::Request& request) {
  auto response = route(request);

  deps_.metrics
      .counter("hecs_http_requests_total", "HTTP requests answered, by status class",
               {{"code", fmt::format("{}xx", response.status / 100)}})
      .inc();
  return response;
}

net::Response Api::route(const net::Request& req) {
  const std::string& path = req.path;
  // Unauthenticated routes: an explicit list of paths and methods (S25).
  if (path == "/healthz" || path == "/readyz" || path == "/metrics") {
    if (req.method != "GET" && req.method != "HEAD") {
      return method_not_allowed("GET, HEAD");
    }
    if (path == "/healthz") {
      return json_response(json::object{{"status", "ok"}});
    }
    if (path == "/readyz") {
      bool ok = deps_.ready ? deps_.ready() : true;
      return ok ? json_response(json::object{{"status", "ready"}})
                : net::problem(503, "unavailable", "not ready", "database or broker unreachable");
    }
    net::Response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = deps_.metrics.render();
    auto total = deps_.devices.count(std::nullopt);
    auto online = deps_.devices.count(true);
    if (total && online) {
      r.body += fmt::format(
          "# HELP hecs_devices Devices known to the control plane\n# TYPE hecs_devices gauge\n"
          "hecs_devices {}\n# HELP hecs_devices_online Devices online now\n"
          "# TYPE hecs_devices_online gauge\nhecs_devices_online {}\n",
          *total, *online);
    }
    return r;
  }

  if (!path.starts_with("/api/v1/") && path != "/api/v1") {
    return net::problem(404, "not_found", "not found", "no such route");
  }
  if (path == "/api/v1/enroll" || path == "/api/v1/enroll/ca") {
    return enrol_route(req, deps_.enrolment);
  }
  auto principal =
      auth::authenticate(deps_.identities, req.header("authorization"), deps_.clock, &keys_);
  if (!principal) {
    return problem_from(principal.error());
  }

  if (path == "/api/v1/enrollment-tokens" || path.starts_with("/api/v1/enrollment-tokens/")) {
    return tokens_route(req, principal->tenant_id, deps_.enrolment, deps_.enrollments, deps_.clock);
  }
  if (path.starts_with("/api/v1/signing-keys")) {
    return signing_keys_route(req, deps_.enrolment);
  }
  constexpr std::string_view kDevices = "/api/v1/devices";
  if (path == kDevices) {
    if (req.method != "GET") {
      return method_not_allowed("GET");
    }
    auto filter = device_filter(req);
    if (!filter) {
      return problem_from(filter.error());
    }
    auto page = deps_.devices.list(principal->tenant_id, *filter);
    if (!page) {
      return problem_from(page.error());
    }
    json::array items;
    for (const auto& d : page->items) {
      items.push_back(device_json(d));
    }
    json::object body;
    body["items"] = std::move(items);
    body["next_cursor"] = page->more && !page->items.empty()
                              ? json::value(encode_cursor(page->items.back().id))
                              : json::value(nullptr);
    body["total"] = page->total;
    return json_response(body);
  }
  if (path.starts_with(std::string(kDevices) + "/")) {
    std::string rest = path.substr(kDevices.size() + 1);
    std::string id = rest;
    bool telemetry = false;
    if (auto slash = rest.find('/'); slash != std::string::npos) {
      id = rest.substr(0, slash);
      const std::string action = rest.substr(slash + 1);
      if (action == "accept" || action == "reject" || action == "revoke") {
        if (!is_uuid(id)) {
          return net::problem(404, "not_found", "not found", "no device with this id");
        }
        return decision_route(req, principal->tenant_id, id, action, deps_.enrolment);
      }
      if (action != "telemetry") {
        return net::problem(404, "not_found", "not found", "no such route");
      }
      telemetry = true;
    }
    if (req.method != "GET") {
      return method_not_allowed("GET");
    }
    if (!is_uuid(id)) {
      return net::problem(404, "not_found", "not found", "no device with this id");
    }
    auto device = deps_.devices.get(principal->tenant_id, id);
    if (!device) {
      return problem_from(device.error());
    }
    if (!telemetry) {
      return json_response(device_json(*device));
    }
    // Raw telemetry window: ?since=<unix ms>&limit=N, oldest first.
    std::int64_t now = deps_.clock.now_ms();
    std::int64_t since = now - 3600 * 1000;
    std::size_t limit = 500;
    for (const auto& [key, value] : req.query) {
      std::int64_t n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      bool numeric = ec == std::errc() && p == value.data() + value.size() && n >= 0;
      if (key == "since" && numeric) {
        since = n;
      } else if (key == "limit" && numeric && n >= 1 && n <= 5000) {
        limit = static_cast<std::size_t>(n);
      } else {
        return net::problem(400, "invalid_input", "invalid request",
                            fmt::format("bad query parameter '{}'", key));
      }
    }
    auto points = deps_.telemetry.window(principal->tenant_id, id, since, now + 1, limit);
    if (!points) {
      return problem_from(points.error());
    }
    json::array items;
    for (const auto& p : *points) {
      items.push_back(json::object{
          {"id", p.message_id}, {"ts", format_rfc3339_ms(p.ts)}, {"body", parse_stored(p.body)}});
    }
    return json_response(json::object{{"items", std::move(items)}});
  }
  return net::problem(404, "not_found", "not found", "no such route");
}

}  // namespace hecs::control::api
