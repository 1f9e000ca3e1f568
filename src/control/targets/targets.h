// Device tags and the selectors that pick devices by them (docs/tasks.md, "Targets").
//
// A tag is "key=value" or a bare "key" (empty value). Keys: 1..63 characters of
// [A-Za-z0-9._-/], starting and ending with a letter or digit. Values: 0..63 characters of
// [A-Za-z0-9._-], starting and ending with a letter or digit when not empty. A device holds at
// most 64 tags, keys unique. "k=" is the bare tag "k".
//
// A selector has the grammar of Kubernetes label selectors: requirements joined by commas (a
// comma inside parentheses belongs to the set), spaces and tabs allowed around tokens:
//   k=v  k==v  k!=v      value as a tag value; may be empty ("k=" matches the bare tag k)
//   k in (a,b)  k notin (a,b)   1..64 non-empty values
//   k  !k                exists, does not exist
// All requirements must hold. `!=` and `notin` match a device without the key. Refused
// (Errc::invalid_input, the message names the requirement and column): the empty selector,
// more than 1024 bytes, more than 32 requirements, anything else.
//
// Nothing here throws. Threading: every function is pure and thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace hecs::control::targets {

constexpr std::size_t kMaxTagPart = 63;  // key or value
constexpr std::size_t kMaxTags = 64;
constexpr std::size_t kMaxSelectorBytes = 1024;
constexpr std::size_t kMaxRequirements = 32;
constexpr std::size_t kMaxSetValues = 64;

struct Tag {
  std::string key;
  std::string value;  // empty for a bare key

  friend bool operator==(const Tag&, const Tag&) = default;
  friend auto operator<=>(const Tag&, const Tag&) = default;
};

// "site=haguenau", "gpu". Errc::invalid_input naming the part at fault.
Result<Tag> parse_tag(std::string_view text);
// A device's tags: each as parse_tag, keys unique, at most kMaxTags. Order kept.
Result<std::vector<Tag>> parse_tags(const std::vector<std::string>& texts);
std::string to_string(const Tag& tag);  // "key=value", or "key" when the value is empty

enum class Op { equals, not_equals, in, not_in, exists, not_exists };

struct Requirement {
  std::string key;
  Op op = Op::exists;
  std::vector<std::string> values;  // one for (not_)equals, sorted and unique for (not_)in

  friend bool operator==(const Requirement&, const Requirement&) = default;
};

struct Selector {
  std::vector<Requirement> requirements;  // at least one; canonical order, no duplicates

  friend bool operator==(const Selector&, const Selector&) = default;
};

Result<Selector> parse_selector(std::string_view text);
// True when every requirement holds for a device with these tags.
bool matches(const Selector& selector, const std::vector<Tag>& tags);
// The canonical form: requirements sorted by key, then operator, then values; `=` for `==`;
// sets sorted; no spaces but the ones around in/notin ("env!=lab,site in (a,b)"). Parsing it
// gives the same Selector: selectors that differ only in spelling, order or repetition print
// the same.
std::string to_string(const Selector& selector);

}  // namespace hecs::control::targets
