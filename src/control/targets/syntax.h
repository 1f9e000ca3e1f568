// Internal to src/control/targets: the character rules of tag keys and values, shared by the
// tag and selector parsers.
#pragma once

#include <string>
#include <string_view>

namespace hecs::control::targets::detail {

bool is_key_char(char c);    // [A-Za-z0-9._-/]
bool is_value_char(char c);  // [A-Za-z0-9._-]
// Empty when `key` is a valid tag key, else what is wrong with it ("longer than 63 characters",
// "invalid ' ' at column 3").
std::string key_problem(std::string_view key);
// Empty when `value` is a valid tag value (the empty value is), else what is wrong with it.
std::string value_problem(std::string_view value);
// An outside string made safe for an error message: quoted, non-printable bytes as \xNN, cut
// at 64 bytes.
std::string echo(std::string_view text);

}  // namespace hecs::control::targets::detail
