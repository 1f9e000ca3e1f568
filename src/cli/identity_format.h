// Human output for identities: who is logged in, API keys, users, tenants and sessions. Every
// server string is passed through escape_for_terminal().
#pragma once

#include <cstdint>
#include <string>

#include <boost/json/value.hpp>

namespace hecs::cli {

// GET /auth/me as "Label: value" lines: user or API key, role, tenant, session.
std::string format_whoami(const boost::json::value& me);

// "admin (superadmin) in tenant default", or "API key 1f… (admin) in tenant default".
std::string describe_principal(const boost::json::value& me);

// Columns ID, NAME, PREFIX, ROLE, STATE, EXPIRES, LAST USED.
std::string format_api_key_table(const boost::json::array& items, std::int64_t now_ms);
// One key as "Label: value" lines.
std::string format_api_key_details(const boost::json::value& key, std::int64_t now_ms);
// What `keys create` and `keys rotate` print: the key once, with a warning that it is not shown
// again, then its details (and, after a rotation, until when the old key still works).
std::string format_new_api_key(const boost::json::value& key, std::int64_t now_ms);

// Columns ID, USERNAME, ROLE, STATE, CREATED, PASSWORD CHANGED.
std::string format_user_table(const boost::json::array& items, std::int64_t now_ms);
std::string format_user_details(const boost::json::value& user, std::int64_t now_ms);

// Columns ID, NAME, STATE, CREATED.
std::string format_tenant_table(const boost::json::array& items, std::int64_t now_ms);
std::string format_tenant_details(const boost::json::value& tenant, std::int64_t now_ms);

// Columns ID, USER, KIND, SOURCE, CREATED, LAST SEEN, EXPIRES, CURRENT.
std::string format_session_table(const boost::json::array& items, std::int64_t now_ms);

// "disabled" when `disabled_at` is a time, else "active".
std::string enabled_state(const boost::json::value& item);

}  // namespace hecs::cli
