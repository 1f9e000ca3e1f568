// Human output for enrolment: enrollment tokens, the agent's enrolment file, command-signing
// keys. Every server string is passed through escape_for_terminal().
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

namespace hecs::cli {

// What the agent reads from its boot partition as hecs-enroll.yaml.
inline constexpr const char* kEnrolmentFileName = "hecs-enroll.yaml";

// "revoked", else "expired", else "used up", else "active" ("-" when the object lacks the
// members to tell).
std::string token_state(const boost::json::value& token, std::int64_t now_ms);

// Columns ID, PREFIX, USES (uses/max), EXPIRES, AUTO-APPROVE, TAGS, STATE.
std::string format_token_table(const boost::json::array& items, std::int64_t now_ms);

// The enrolment file: YAML with the keys token, control_url and ca_sha256, values quoted where
// YAML would read them as another type.
std::string enrolment_file(std::string_view token, std::string_view control_url,
                           std::string_view ca_sha256);

// What `tokens create` prints: the token once with a warning that it is not shown again, its
// limits, the CA fingerprint, and the enrolment file for control_url.
std::string format_new_token(const boost::json::value& token, std::string_view control_url,
                             std::int64_t now_ms);

// True when the url's host is localhost or a loopback address, which a node cannot reach.
bool is_loopback_url(std::string_view url);

// Columns KID, STATE, CREATED, PUBLIC KEY.
std::string format_key_table(const boost::json::array& items, std::int64_t now_ms);

// The kid of the first key in `state` ("next", "active"), empty when none.
std::string key_in_state(const boost::json::array& items, std::string_view state);

}  // namespace hecs::cli
