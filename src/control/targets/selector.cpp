// Selectors (targets.h): a hand-written scanner over the Kubernetes label-selector grammar.
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "control/targets/syntax.h"
#include "control/targets/targets.h"

namespace hecs::control::targets {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Result<Selector> run() {
    Selector selector;
    for (;;) {
      skip_spaces();
      if (++index_ > kMaxRequirements) {
        return fail(Errc::invalid_input,
                    fmt::format("selector: more than {} requirements", kMaxRequirements));
      }
      auto requirement = parse_requirement();
      if (!requirement) {
        return tl::unexpected(std::move(requirement.error()));
      }
      selector.requirements.push_back(std::move(*requirement));
      skip_spaces();
      if (at_end()) {
        return selector;
      }
      if (peek() != ',') {
        return error(fmt::format("unexpected {}, expected ',' or the end", here()));
      }
      ++pos_;
    }
  }

 private:
  Result<Requirement> parse_requirement() {
    Requirement requirement;
    if (!at_end() && peek() == '!') {
      ++pos_;
      skip_spaces();
      auto key = read_key();
      if (!key) {
        return tl::unexpected(std::move(key.error()));
      }
      return Requirement{std::move(*key), Op::not_exists, {}};
    }
    auto key = read_key();
    if (!key) {
      return tl::unexpected(std::move(key.error()));
    }
    requirement.key = std::move(*key);
    skip_spaces();
    if (at_end() || peek() == ',') {
      requirement.op = Op::exists;
      return requirement;
    }
    if (peek() == '=' || (peek() == '!' && next_is('='))) {
      if (peek() == '=') {
        requirement.op = Op::equals;
        pos_ += next_is('=') ? 2 : 1;
      } else {
        requirement.op = Op::not_equals;
        pos_ += 2;
      }
      skip_spaces();
      auto value = read_value(/*allow_empty=*/true);
      if (!value) {
        return tl::unexpected(std::move(value.error()));
      }
      requirement.values.push_back(std::move(*value));
      return requirement;
    }
    const std::size_t word_start = pos_;
    while (!at_end() && is_letter(peek())) {
      ++pos_;
    }
    const std::string_view word = text_.substr(word_start, pos_ - word_start);
    if (word != "in" && word != "notin") {
      pos_ = word_start;
      return error(fmt::format("unexpected {} after key {}, expected =, ==, !=, in or notin",
                               here(), detail::echo(requirement.key)));
    }
    requirement.op = word == "in" ? Op::in : Op::not_in;
    auto values = read_set(word);
    if (!values) {
      return tl::unexpected(std::move(values.error()));
    }
    requirement.values = std::move(*values);
    return requirement;
  }

  // "(a, b)" after in/notin: sorted, unique.
  Result<std::vector<std::string>> read_set(std::string_view word) {
    skip_spaces();
    if (at_end() || peek() != '(') {
      return error(fmt::format("unexpected {}, expected '(' after {}", here(), word));
    }
    ++pos_;
    std::vector<std::string> values;
    for (;;) {
      skip_spaces();
      auto value = read_value(/*allow_empty=*/false);
      if (!value) {
        return tl::unexpected(std::move(value.error()));
      }
      if (values.size() == kMaxSetValues) {
        return error(fmt::format("more than {} values in the set", kMaxSetValues));
      }
      values.push_back(std::move(*value));
      skip_spaces();
      if (!at_end() && peek() == ')') {
        ++pos_;
        break;
      }
      if (at_end() || peek() != ',') {
        return error(fmt::format("unexpected {}, expected ',' or ')' in the set", here()));
      }
      ++pos_;
    }
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    return values;
  }

  Result<std::string> read_key() {
    const std::size_t start = pos_;
    while (!at_end() && detail::is_key_char(peek())) {
      ++pos_;
    }
    if (pos_ == start) {
      return error(fmt::format("unexpected {}, expected a key", here()));
    }
    const std::string_view key = text_.substr(start, pos_ - start);
    if (auto problem = detail::key_problem(key); !problem.empty()) {
      pos_ = start;
      return error(fmt::format("key {}: {}", detail::echo(key), problem));
    }
    return std::string(key);
  }

  Result<std::string> read_value(bool allow_empty) {
    const std::size_t start = pos_;
    while (!at_end() && detail::is_value_char(peek())) {
      ++pos_;
    }
    const std::string_view value = text_.substr(start, pos_ - start);
    if (value.empty() && !allow_empty) {
      return error(fmt::format("unexpected {}, expected a value", here()));
    }
    if (auto problem = detail::value_problem(value); !problem.empty()) {
      pos_ = start;
      return error(fmt::format("value {}: {}", detail::echo(value), problem));
    }
    return std::string(value);
  }

  void skip_spaces() {
    while (!at_end() && is_space(peek())) {
      ++pos_;
    }
  }
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }
  bool next_is(char c) const { return pos_ + 1 < text_.size() && text_[pos_ + 1] == c; }
  std::string here() const {
    return at_end() ? std::string("end") : detail::echo(text_.substr(pos_, 1));
  }

  tl::unexpected<Error> error(std::string_view what) const {
    return fail(Errc::invalid_input,
                fmt::format("selector: requirement {} at column {}: {}", index_, pos_ + 1, what));
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t index_ = 0;  // of the requirement being read, from 1
};

bool has(const std::vector<Tag>& tags, std::string_view key,
         const std::vector<std::string>* values) {
  return std::any_of(tags.begin(), tags.end(), [&](const Tag& tag) {
    return tag.key == key &&
           (values == nullptr || std::binary_search(values->begin(), values->end(), tag.value));
  });
}

}  // namespace

Result<Selector> parse_selector(std::string_view text) {
  if (text.size() > kMaxSelectorBytes) {
    return fail(Errc::invalid_input,
                fmt::format("selector: longer than {} bytes", kMaxSelectorBytes));
  }
  if (std::all_of(text.begin(), text.end(), is_space)) {
    return fail(Errc::invalid_input, "selector: empty");
  }
  auto selector = Parser(text).run();
  if (!selector) {
    return selector;
  }
  auto& requirements = selector->requirements;
  auto order = [](const Requirement& r) { return std::tie(r.key, r.op, r.values); };
  std::sort(requirements.begin(), requirements.end(),
            [&](const Requirement& a, const Requirement& b) { return order(a) < order(b); });
  requirements.erase(std::unique(requirements.begin(), requirements.end()), requirements.end());
  return selector;
}

bool matches(const Selector& selector, const std::vector<Tag>& tags) {
  return std::all_of(selector.requirements.begin(), selector.requirements.end(),
                     [&](const Requirement& r) {
                       switch (r.op) {
                         case Op::equals:
                         case Op::in:
                           return has(tags, r.key, &r.values);
                         case Op::not_equals:
                         case Op::not_in:
                           return !has(tags, r.key, &r.values);
                         case Op::exists:
                           return has(tags, r.key, nullptr);
                         case Op::not_exists:
                           return !has(tags, r.key, nullptr);
                       }
                       return false;
                     });
}

std::string to_string(const Selector& selector) {
  std::string out;
  for (const auto& r : selector.requirements) {
    if (!out.empty()) {
      out += ',';
    }
    const std::string first = r.values.empty() ? std::string() : r.values.front();
    switch (r.op) {
      case Op::equals:
        out += fmt::format("{}={}", r.key, first);
        break;
      case Op::not_equals:
        out += fmt::format("{}!={}", r.key, first);
        break;
      case Op::in:
        out += fmt::format("{} in ({})", r.key, fmt::join(r.values, ","));
        break;
      case Op::not_in:
        out += fmt::format("{} notin ({})", r.key, fmt::join(r.values, ","));
        break;
      case Op::exists:
        out += r.key;
        break;
      case Op::not_exists:
        out += "!" + r.key;
        break;
    }
  }
  return out;
}

}  // namespace hecs::control::targets
