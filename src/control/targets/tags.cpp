// Tags (targets.h) and the character rules they share with selectors (syntax.h).
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "control/targets/syntax.h"
#include "control/targets/targets.h"

namespace hecs::control::targets {
namespace detail {
namespace {

constexpr std::size_t kMaxEcho = 64;

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string describe(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte < 0x20 || byte > 0x7e) {
    return fmt::format("byte 0x{:02x}", byte);
  }
  return fmt::format("'{}'", c);
}

// What is wrong with a key or value, or "".
std::string problem(std::string_view text, bool (*allowed)(char)) {
  if (text.size() > kMaxTagPart) {
    return fmt::format("longer than {} characters", kMaxTagPart);
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (!allowed(text[i])) {
      return fmt::format("invalid {} at column {}", describe(text[i]), i + 1);
    }
  }
  if (!text.empty() && (!is_alnum(text.front()) || !is_alnum(text.back()))) {
    return "must start and end with a letter or digit";
  }
  return {};
}

}  // namespace

bool is_value_char(char c) { return is_alnum(c) || c == '.' || c == '_' || c == '-'; }
bool is_key_char(char c) { return is_value_char(c) || c == '/'; }

std::string key_problem(std::string_view key) {
  if (key.empty()) {
    return "empty";
  }
  return problem(key, is_key_char);
}

std::string value_problem(std::string_view value) { return problem(value, is_value_char); }

std::string echo(std::string_view text) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == kMaxEcho) {
      out += "...";
      break;
    }
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x20 || byte > 0x7e || byte == '"' || byte == '\\') {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out += text[i];
    }
  }
  out += '"';
  return out;
}

}  // namespace detail

Result<Tag> parse_tag(std::string_view text) {
  const std::size_t eq = text.find('=');
  const std::string_view key = text.substr(0, eq);
  const std::string_view value = eq == std::string_view::npos ? "" : text.substr(eq + 1);
  if (auto problem = detail::key_problem(key); !problem.empty()) {
    return fail(Errc::invalid_input, fmt::format("tag {}: key: {}", detail::echo(text), problem));
  }
  if (auto problem = detail::value_problem(value); !problem.empty()) {
    return fail(Errc::invalid_input, fmt::format("tag {}: value: {}", detail::echo(text), problem));
  }
  return Tag{std::string(key), std::string(value)};
}

Result<std::vector<Tag>> parse_tags(const std::vector<std::string>& texts) {
  if (texts.size() > kMaxTags) {
    return fail(Errc::invalid_input,
                fmt::format("tags: {} tags, at most {}", texts.size(), kMaxTags));
  }
  std::vector<Tag> tags;
  tags.reserve(texts.size());
  std::set<std::string_view> keys;
  for (const auto& text : texts) {
    auto tag = parse_tag(text);
    if (!tag) {
      return tl::unexpected(std::move(tag.error()));
    }
    tags.push_back(std::move(*tag));
  }
  for (const auto& tag : tags) {
    if (!keys.insert(tag.key).second) {
      return fail(Errc::invalid_input,
                  fmt::format("tags: duplicate key {}", detail::echo(tag.key)));
    }
  }
  return tags;
}

std::string to_string(const Tag& tag) {
  return tag.value.empty() ? tag.key : tag.key + "=" + tag.value;
}

}  // namespace hecs::control::targets
