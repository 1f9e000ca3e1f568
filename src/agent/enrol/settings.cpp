// Enrolment settings and the enrolment protocol's answers: pure functions, unit-tested.
#include <algorithm>
#include <cctype>
#include <charconv>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include "agent/enrol/enrol.h"
#include "common/config/config.h"

namespace hecs::agent::enrol {
namespace json = boost::json;

namespace {

constexpr std::chrono::seconds kMinDelay{2};
constexpr std::chrono::seconds kRefusedDelay{300};
constexpr std::chrono::seconds kDefaultPending{30};

tl::unexpected<Error> invalid(std::string message) {
  return fail(Errc::invalid_input, std::move(message));
}

std::string string_member(const json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::optional<std::int64_t> parse_seconds(std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) {
    return std::nullopt;
  }
  return value;
}

Outcome accepted_from(const json::object& o) {
  Accepted a;
  a.device_id = string_member(o, "device_id");
  a.certificate = string_member(o, "certificate");
  a.ca = string_member(o, "ca");
  a.mqtt_url = string_member(o, "mqtt_url");
  if (a.device_id.empty() || a.certificate.empty() || a.ca.empty() || a.mqtt_url.empty()) {
    return Transient{"enrol reply: missing device_id, certificate, ca or mqtt_url"};
  }
  const auto* keys = o.if_contains("command_keys");
  if (keys == nullptr || !keys->is_array()) {
    return Transient{"enrol reply: missing command_keys"};
  }
  auto parsed = proto::parse_keys(json::object{{"keys", keys->as_array()}});
  if (!parsed) {
    return Transient{"enrol reply: command_keys: " + parsed.error().message};
  }
  a.keys = std::move(*parsed);
  return a;
}

}  // namespace

Result<ControlUrl> parse_control_url(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (!url.starts_with(kScheme)) {
    return invalid("expected https://host[:port]");
  }
  std::string_view rest = url.substr(kScheme.size());
  if (rest.ends_with('/')) {
    rest.remove_suffix(1);
  }
  ControlUrl out;
  std::string_view port;
  if (rest.starts_with('[')) {  // [v6]:port
    auto close = rest.find(']');
    if (close == std::string_view::npos) {
      return invalid("unclosed [ in the host");
    }
    out.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) {
      return invalid("expected :port after ]");
    }
    port = rest.empty() ? rest : rest.substr(1);
  } else {
    auto colon = rest.find(':');
    out.host = std::string(rest.substr(0, colon));
    port = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
  }
  auto bad_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '.' && c != '-' && c != ':';
  };
  if (out.host.empty() || std::any_of(out.host.begin(), out.host.end(), bad_char)) {
    return invalid("expected https://host[:port] without a path");
  }
  if (!port.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return invalid("port must be 1..65535");
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  return out;
}

Result<std::string> parse_sha256_pin(std::string_view text) {
  std::string hex;
  for (char c : text) {
    if (c == ':') {
      continue;
    }
    if (std::isxdigit(static_cast<unsigned char>(c)) == 0) {
      return invalid("expected 64 hex digits (a SHA-256)");
    }
    hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (hex.size() != 64) {
    return invalid("expected 64 hex digits (a SHA-256)");
  }
  return hex;
}

Result<Settings> read_enroll_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return fail(Errc::not_found, fmt::format("{}: no such file", path.string()));
  }
  // The same YAML rules as the configuration file, through its reader.
  Settings s;
  CLI::App keys;
  keys.add_option("--token", s.token);
  keys.add_option("--control-url", s.control_url);
  keys.add_option("--ca-sha256", s.ca_sha256);
  auto args = config::yaml_to_args(keys, path.string());
  if (!args) {
    return tl::unexpected(std::move(args.error()));
  }
  for (auto& arg : *args) {
    auto eq = arg.find('=');
    std::string_view name = std::string_view(arg).substr(0, eq);
    std::string value = arg.substr(eq + 1);
    (name == "--token"         ? s.token
     : name == "--control-url" ? s.control_url
                               : s.ca_sha256) = std::move(value);
    std::fill(arg.begin(), arg.end(), '\0');  // the token was in there
  }
  if (!s.control_url.empty()) {
    if (auto u = parse_control_url(s.control_url); !u) {
      return invalid(fmt::format("{}: control_url: {}", path.string(), u.error().message));
    }
  }
  if (!s.ca_sha256.empty()) {
    auto pin = parse_sha256_pin(s.ca_sha256);
    if (!pin) {
      return invalid(fmt::format("{}: ca_sha256: {}", path.string(), pin.error().message));
    }
    s.ca_sha256 = *pin;
  }
  return s;
}

Settings merge(Settings configured, const Settings& from_file) {
  for (auto [mine, theirs] : {std::pair{&configured.token, &from_file.token},
                              std::pair{&configured.control_url, &from_file.control_url},
                              std::pair{&configured.ca_sha256, &from_file.ca_sha256}}) {
    if (mine->empty()) {
      *mine = *theirs;
    }
  }
  return configured;
}

Result<void> check_settings(const Settings& s) {
  if (s.token.empty()) {
    return {};
  }
  if (s.control_url.empty()) {
    return invalid("an enrollment token needs control_url");
  }
  if (auto u = parse_control_url(s.control_url); !u) {
    return invalid("control_url: " + u.error().message);
  }
  if (s.ca_sha256.empty() && s.ca_file.empty()) {
    return invalid("an enrollment token needs control_ca_sha256 or control_ca_file");
  }
  if (!s.ca_sha256.empty()) {
    if (auto pin = parse_sha256_pin(s.ca_sha256); !pin) {
      return invalid("control_ca_sha256: " + pin.error().message);
    }
  }
  return {};
}

Outcome read_enrol_response(int status, std::string_view retry_after, std::string_view body) {
  boost::system::error_code ec;
  const json::value doc = json::parse(body, ec);
  const json::object* o = !ec ? doc.if_object() : nullptr;
  if (status == 201 && o != nullptr) {
    return accepted_from(*o);
  }
  if (status == 202) {
    std::optional<std::int64_t> after = parse_seconds(retry_after);
    if (!after && o != nullptr) {
      if (const auto* v = o->if_contains("retry_after_s"); v != nullptr && v->is_int64()) {
        after = v->as_int64();
      }
    }
    return Pending{after ? std::chrono::seconds(*after) : kDefaultPending};
  }
  if (status >= 400 && status < 500) {
    std::string detail = o != nullptr ? string_member(*o, "detail") : std::string();
    if (detail.empty() && o != nullptr) {
      detail = string_member(*o, "title");
    }
    return Refused{status, detail.empty() ? fmt::format("http status {}", status) : detail};
  }
  return Transient{status == 201 ? "enrol reply: not a json object"
                                 : fmt::format("http status {}", status)};
}

std::chrono::seconds retry_delay(const Outcome& outcome, std::chrono::seconds& backoff,
                                 std::chrono::seconds max_delay) {
  max_delay = std::clamp(max_delay, kMinDelay, kRefusedDelay);
  if (const auto* pending = std::get_if<Pending>(&outcome)) {
    backoff = std::chrono::seconds(0);
    return std::clamp(pending->retry_after, kMinDelay, max_delay);
  }
  if (std::holds_alternative<Refused>(outcome)) {
    backoff = std::chrono::seconds(0);
    return std::min(kRefusedDelay, max_delay);
  }
  backoff = backoff.count() == 0 ? kMinDelay : std::min(backoff * 2, max_delay);
  return backoff;
}

}  // namespace hecs::agent::enrol
