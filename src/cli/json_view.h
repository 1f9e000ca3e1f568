// Lenient, non-throwing reads of server JSON (CONVENTIONS §3: no throwing as_* on untrusted
// data). A missing key or a value of the wrong type reads as "absent".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

namespace hecs::cli {

// The member itself when it is an object (so the getters below apply to it), else nullptr.
const boost::json::value* get_object(const boost::json::value& parent, std::string_view key);
const boost::json::array* get_array(const boost::json::value& parent, std::string_view key);
std::optional<std::string_view> get_string(const boost::json::value& parent, std::string_view key);
std::optional<bool> get_bool(const boost::json::value& parent, std::string_view key);
// Any JSON number (integer or floating) as a double.
std::optional<double> get_number(const boost::json::value& parent, std::string_view key);

// A string member escaped for a terminal; "-" when absent, empty or not a string.
std::string text_or_dash(const boost::json::value& parent, std::string_view key);

// An RFC 3339 member as "12s ago" / "in 4d" against now_ms; "-" when absent or unreadable.
std::string relative_or_dash(const boost::json::value& parent, std::string_view key,
                             std::int64_t now_ms);

// An RFC 3339 member as the server wrote it, then how far from now: "2026-11-26T19:00:00.000Z
// (in 1d)"; "-" when absent or null.
std::string time_and_relative(const boost::json::value& parent, std::string_view key,
                              std::int64_t now_ms);

// The string items of an array joined by ", ", each escaped for a terminal; "-" when there are
// none (or no array).
std::string join_strings(const boost::json::array* items);

// Indented JSON, two spaces. Strings escape every control character (C0, DEL, C1) as \u00XX,
// so the output is safe on a terminal and still the same JSON data.
std::string to_pretty_json(const boost::json::value& value);

// Block-style YAML of the same data. Strings that YAML would read as another type (true, null,
// 12, 2026-11-25T...) are quoted; control characters are escaped by the emitter.
std::string to_yaml(const boost::json::value& value);

}  // namespace hecs::cli
