// Output text for result messages (private to src/agent/tasks): JSON strings must be valid
// UTF-8, and a process writes bytes, cut anywhere.
#pragma once

#include <string>
#include <string_view>

namespace hecs::agent::tasks {

// Appends `in` to `carry` and returns the longest valid UTF-8 text that can be made of it now:
// each invalid byte becomes U+FFFD, each NUL U+2400 (a stored text cannot hold NUL, and a
// terminal would not show it), and an incomplete sequence at the end stays in `carry` for
// the next call, unless `final` (then it is replaced too).
std::string take_utf8(std::string& carry, std::string_view in, bool final);

// The length of the longest prefix of valid UTF-8 `text` that is at most `max` bytes and does
// not end inside a character.
std::size_t utf8_prefix(std::string_view text, std::size_t max);

}  // namespace hecs::agent::tasks
