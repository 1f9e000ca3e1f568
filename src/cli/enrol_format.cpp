#include "cli/enrol_format.h"

#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/json_view.h"
#include "cli/text.h"
#include "common/clock.h"

namespace hecs::cli {

namespace json = boost::json;

namespace {

std::string count_or_dash(const json::value& parent, std::string_view key) {
  auto number = get_number(parent, key);
  return number ? fmt::format("{}", *number) : "-";
}

std::string yes_no(const json::value& parent, std::string_view key) {
  auto flag = get_bool(parent, key);
  return flag ? (*flag ? "yes" : "no") : "-";
}

}  // namespace

std::string token_state(const json::value& token, std::int64_t now_ms) {
  auto revoked = get_string(token, "revoked_at");
  if (revoked && !revoked->empty()) {
    return "revoked";
  }
  auto expires_text = get_string(token, "expires_at");
  auto expires = expires_text ? parse_rfc3339_ms(*expires_text) : std::nullopt;
  auto uses = get_number(token, "uses");
  auto max_uses = get_number(token, "max_uses");
  if (!expires || !uses || !max_uses) {
    return "-";
  }
  if (*expires <= now_ms) {
    return "expired";
  }
  return *uses >= *max_uses ? "used up" : "active";
}

std::string format_token_table(const json::array& items, std::int64_t now_ms) {
  std::vector<std::vector<std::string>> rows{
      {"ID", "PREFIX", "USES", "EXPIRES", "AUTO-APPROVE", "TAGS", "STATE"}};
  for (const json::value& token : items) {
    rows.push_back({text_or_dash(token, "id"), text_or_dash(token, "prefix"),
                    count_or_dash(token, "uses") + "/" + count_or_dash(token, "max_uses"),
                    relative_or_dash(token, "expires_at", now_ms), yes_no(token, "auto_approve"),
                    join_strings(get_array(token, "tags")), token_state(token, now_ms)});
  }
  return align_rows(rows, "", "   ");
}

std::string enrolment_file(std::string_view token, std::string_view control_url,
                           std::string_view ca_sha256) {
  json::object file{{"token", token}, {"control_url", control_url}, {"ca_sha256", ca_sha256}};
  return to_yaml(file) + "\n";
}

std::string format_new_token(const json::value& token, std::string_view control_url,
                             std::int64_t now_ms) {
  auto secret = get_string(token, "token").value_or("");
  auto fingerprint = get_string(token, "ca_sha256").value_or("");
  std::string expires = time_and_relative(token, "expires_at", now_ms);
  auto auto_approve = get_bool(token, "auto_approve");
  std::vector<std::vector<std::string>> fields{
      {"ID:", text_or_dash(token, "id")},
      {"Expires:", expires},
      {"Uses:", count_or_dash(token, "uses") + "/" + count_or_dash(token, "max_uses")},
      {"Auto-approve:", auto_approve && *auto_approve
                            ? "yes: devices are accepted when they enrol"
                            : "no: accept each device with hecsctl devices accept ID"},
      {"Tags:", join_strings(get_array(token, "tags"))},
      {"Description:", text_or_dash(token, "description")},
      {"CA SHA-256:", escape_for_terminal(fingerprint)}};
  return fmt::format(
      "Enrollment token (shown only now: hecs-control keeps just its hash and cannot show it "
      "again):\n\n  {}\n\n{}\nSave this as {} on the node's boot partition:\n\n{}",
      escape_for_terminal(secret), align_rows(fields, "", "  "), kEnrolmentFileName,
      enrolment_file(secret, control_url, fingerprint));
}

bool is_loopback_url(std::string_view url) {
  std::size_t start = url.find("://");
  if (start == std::string_view::npos) {
    return false;
  }
  std::string_view host = url.substr(start + 3);
  if (host.starts_with("[")) {
    host = host.substr(0, host.find(']') + 1);
  } else {
    host = host.substr(0, host.find_first_of(":/"));
  }
  return host == "localhost" || host.starts_with("127.") || host == "[::1]";
}

std::string format_key_table(const json::array& items, std::int64_t now_ms) {
  std::vector<std::vector<std::string>> rows{{"KID", "STATE", "CREATED", "PUBLIC KEY"}};
  for (const json::value& key : items) {
    rows.push_back({text_or_dash(key, "kid"), text_or_dash(key, "state"),
                    relative_or_dash(key, "created_at", now_ms), text_or_dash(key, "public_key")});
  }
  return align_rows(rows, "", "   ");
}

std::string key_in_state(const json::array& items, std::string_view state) {
  for (const json::value& key : items) {
    if (get_string(key, "state") == state) {
      return text_or_dash(key, "kid");
    }
  }
  return {};
}

}  // namespace hecs::cli
