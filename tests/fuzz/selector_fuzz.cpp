// Fuzz target for device tags and selectors (src/control/targets): whatever an operator sends
// as a selector or a tag, the parsers return a Result and never crash; what they accept keeps
// the limits, reads back unchanged from its canonical form, and matches as its negation does
// not.
//
// Input: the first line is a selector; each further line is a tag of the device it is matched
// against.
// Built twice by CMakeLists.txt: by clang with libFuzzer (selector_fuzz) and by g++ with
// replay_main.cpp (fuzz_replay_selector, which runs the stored corpus in every unit test run).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "control/targets/targets.h"

namespace {

namespace targets = hecs::control::targets;

// A broken invariant, not an input problem: make libFuzzer keep the input and stop.
[[noreturn]] void invariant_broken() { std::abort(); }

targets::Op negation(targets::Op op) {
  switch (op) {
    case targets::Op::equals:
      return targets::Op::not_equals;
    case targets::Op::not_equals:
      return targets::Op::equals;
    case targets::Op::in:
      return targets::Op::not_in;
    case targets::Op::not_in:
      return targets::Op::in;
    case targets::Op::exists:
      return targets::Op::not_exists;
    case targets::Op::not_exists:
      return targets::Op::exists;
  }
  invariant_broken();
}

// Each line is a tag; those that parse must read back unchanged from to_string.
std::vector<targets::Tag> device_tags(std::string_view input, std::size_t newline) {
  std::vector<std::string> lines;
  std::vector<targets::Tag> tags;
  for (std::size_t start = newline; start != std::string_view::npos;) {
    const auto end = input.find('\n', start + 1);
    const auto line = input.substr(
        start + 1, end == std::string_view::npos ? std::string_view::npos : end - start - 1);
    lines.emplace_back(line);
    if (auto tag = targets::parse_tag(line)) {
      auto again = targets::parse_tag(targets::to_string(*tag));
      if (!again || *again != *tag || tag->key.empty() || tag->key.size() > targets::kMaxTagPart ||
          tag->value.size() > targets::kMaxTagPart) {
        invariant_broken();
      }
      tags.push_back(std::move(*tag));
    }
    start = end;
  }
  if (auto parsed = targets::parse_tags(lines); parsed && parsed->size() > targets::kMaxTags) {
    invariant_broken();
  }
  return tags;
}

// A selector matches when each of its requirements does, and a requirement when its negation
// does not.
void check_matching(const targets::Selector& selector, const std::vector<targets::Tag>& tags) {
  bool all = true;
  for (const auto& requirement : selector.requirements) {
    if (requirement.values.size() > targets::kMaxSetValues) {
      invariant_broken();
    }
    const targets::Selector one{{requirement}};
    targets::Selector negated = one;
    negated.requirements.front().op = negation(requirement.op);
    const bool holds = targets::matches(one, tags);
    if (targets::matches(negated, tags) == holds) {
      invariant_broken();
    }
    all = all && holds;
  }
  if (targets::matches(selector, tags) != all) {
    invariant_broken();
  }
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::vector<targets::Tag> tags = device_tags(input, newline);

  auto selector = targets::parse_selector(input.substr(0, newline));
  if (!selector) {
    if (selector.error().code != hecs::Errc::invalid_input || selector.error().message.empty()) {
      invariant_broken();
    }
    return 0;
  }
  const auto& requirements = selector->requirements;
  if (requirements.empty() || requirements.size() > targets::kMaxRequirements) {
    invariant_broken();
  }
  const std::string canonical = targets::to_string(*selector);
  auto again = targets::parse_selector(canonical);
  if (!again || *again != *selector || targets::to_string(*again) != canonical) {
    invariant_broken();
  }
  check_matching(*selector, tags);
  return 0;
}
