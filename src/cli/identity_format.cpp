#include "cli/identity_format.h"

#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/json_view.h"
#include "cli/text.h"

namespace hecs::cli {

namespace json = boost::json;

namespace {

using Rows = std::vector<std::vector<std::string>>;

std::string details(const Rows& rows) { return align_rows(rows, "", "  "); }

std::string name_and_id(const json::value& parent, std::string_view name, std::string_view id) {
  std::string text = text_or_dash(parent, name);
  if (auto value = get_string(parent, id); value && !value->empty()) {
    text += fmt::format(" ({})", escape_for_terminal(*value));
  }
  return text;
}

}  // namespace

std::string enabled_state(const json::value& item) {
  auto disabled = get_string(item, "disabled_at");
  return disabled && !disabled->empty() ? "disabled" : "active";
}

std::string describe_principal(const json::value& me) {
  std::string who = get_string(me, "kind") == "api_key" ? "API key " + text_or_dash(me, "key_id")
                                                        : text_or_dash(me, "username");
  auto tenant = get_string(me, "tenant_name");
  return fmt::format("{} ({}) in tenant {}", who, text_or_dash(me, "role"),
                     tenant ? escape_for_terminal(*tenant) : text_or_dash(me, "tenant_id"));
}

std::string format_whoami(const json::value& me) {
  Rows rows;
  if (get_string(me, "kind") == "api_key") {
    rows.push_back({"API key:", text_or_dash(me, "key_id")});
  } else {
    rows.push_back({"User:", name_and_id(me, "username", "user_id")});
  }
  rows.push_back({"Role:", text_or_dash(me, "role")});
  rows.push_back({"Tenant:", name_and_id(me, "tenant_name", "tenant_id")});
  if (get_string(me, "session_id")) {
    rows.push_back({"Session:", text_or_dash(me, "session_id")});
  }
  return details(rows);
}

std::string format_api_key_table(const json::array& items, std::int64_t now_ms) {
  Rows rows{{"ID", "NAME", "PREFIX", "ROLE", "STATE", "EXPIRES", "LAST USED"}};
  for (const json::value& key : items) {
    rows.push_back({text_or_dash(key, "id"), text_or_dash(key, "name"), text_or_dash(key, "prefix"),
                    text_or_dash(key, "role"), text_or_dash(key, "state"),
                    relative_or_dash(key, "expires_at", now_ms),
                    relative_or_dash(key, "last_used_at", now_ms)});
  }
  return align_rows(rows, "", "   ");
}

std::string format_api_key_details(const json::value& key, std::int64_t now_ms) {
  Rows rows{{"ID:", text_or_dash(key, "id")},
            {"Name:", text_or_dash(key, "name")},
            {"Prefix:", text_or_dash(key, "prefix")},
            {"Role:", text_or_dash(key, "role")},
            {"State:", text_or_dash(key, "state")},
            {"Created:", time_and_relative(key, "created_at", now_ms)},
            {"Created by:", text_or_dash(key, "created_by")},
            {"Expires:", time_and_relative(key, "expires_at", now_ms)},
            {"Last used:", time_and_relative(key, "last_used_at", now_ms)}};
  if (get_string(key, "revoked_at")) {
    rows.push_back({"Revoked:", time_and_relative(key, "revoked_at", now_ms)});
  }
  if (get_string(key, "replaced_by")) {
    rows.push_back({"Replaced by:", text_or_dash(key, "replaced_by")});
  }
  return details(rows);
}

std::string format_new_api_key(const json::value& key, std::int64_t now_ms) {
  Rows rows{{"ID:", text_or_dash(key, "id")},
            {"Name:", text_or_dash(key, "name")},
            {"Role:", text_or_dash(key, "role")},
            {"Expires:", time_and_relative(key, "expires_at", now_ms)}};
  if (get_string(key, "replaces")) {
    rows.push_back(
        {"Replaces:", fmt::format("{}, which keeps working until {}", text_or_dash(key, "replaces"),
                                  time_and_relative(key, "old_key_expires_at", now_ms))});
  }
  return fmt::format(
      "API key (shown only now: hecs-control keeps just its hash and cannot show it again):\n\n"
      "  {}\n\n{}",
      escape_for_terminal(get_string(key, "key").value_or("")), details(rows));
}

std::string format_user_table(const json::array& items, std::int64_t now_ms) {
  Rows rows{{"ID", "USERNAME", "ROLE", "STATE", "CREATED", "PASSWORD CHANGED"}};
  for (const json::value& user : items) {
    rows.push_back({text_or_dash(user, "id"), text_or_dash(user, "username"),
                    text_or_dash(user, "role"), enabled_state(user),
                    relative_or_dash(user, "created_at", now_ms),
                    relative_or_dash(user, "password_changed_at", now_ms)});
  }
  return align_rows(rows, "", "   ");
}

std::string format_user_details(const json::value& user, std::int64_t now_ms) {
  Rows rows{{"ID:", text_or_dash(user, "id")},
            {"Username:", text_or_dash(user, "username")},
            {"Role:", text_or_dash(user, "role")},
            {"State:", enabled_state(user)},
            {"Tenant:", text_or_dash(user, "tenant_id")},
            {"Created:", time_and_relative(user, "created_at", now_ms)},
            {"Password changed:", time_and_relative(user, "password_changed_at", now_ms)}};
  if (get_string(user, "disabled_at")) {
    rows.push_back({"Disabled:", time_and_relative(user, "disabled_at", now_ms)});
  }
  return details(rows);
}

std::string format_tenant_table(const json::array& items, std::int64_t now_ms) {
  Rows rows{{"ID", "NAME", "STATE", "CREATED"}};
  for (const json::value& tenant : items) {
    rows.push_back({text_or_dash(tenant, "id"), text_or_dash(tenant, "name"), enabled_state(tenant),
                    relative_or_dash(tenant, "created_at", now_ms)});
  }
  return align_rows(rows, "", "   ");
}

std::string format_tenant_details(const json::value& tenant, std::int64_t now_ms) {
  Rows rows{{"ID:", text_or_dash(tenant, "id")},
            {"Name:", text_or_dash(tenant, "name")},
            {"State:", enabled_state(tenant)},
            {"Created:", time_and_relative(tenant, "created_at", now_ms)}};
  if (get_string(tenant, "disabled_at")) {
    rows.push_back({"Disabled:", time_and_relative(tenant, "disabled_at", now_ms)});
  }
  if (const json::value* owner = get_object(tenant, "owner")) {
    rows.push_back({"Owner:", name_and_id(*owner, "username", "id")});
  }
  return details(rows);
}

std::string format_session_table(const json::array& items, std::int64_t now_ms) {
  Rows rows{{"ID", "USER", "KIND", "SOURCE", "CREATED", "LAST SEEN", "EXPIRES", "CURRENT"}};
  for (const json::value& session : items) {
    auto current = get_bool(session, "current");
    rows.push_back({text_or_dash(session, "id"), text_or_dash(session, "user_id"),
                    text_or_dash(session, "kind"), text_or_dash(session, "source"),
                    relative_or_dash(session, "created_at", now_ms),
                    relative_or_dash(session, "last_seen_at", now_ms),
                    relative_or_dash(session, "expires_at", now_ms),
                    current && *current ? "yes" : "no"});
  }
  return align_rows(rows, "", "   ");
}

}  // namespace hecs::cli
