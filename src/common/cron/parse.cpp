// Parsing of cron expressions (cron.h). Each field becomes a 64-bit set of its values; the
// errors name the field and echo the offending text, which is printable ASCII by then.
#include <algorithm>
#include <array>
#include <bitset>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "common/cron/cron.h"

namespace hecs::cron {
namespace {

constexpr std::array<std::string_view, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kDayNames = {"sun", "mon", "tue", "wed",
                                                       "thu", "fri", "sat"};

struct FieldSpec {
  std::string_view name;
  int min;
  int max;
  std::span<const std::string_view> names;  // empty, or the names of min, min+1, …
};

constexpr FieldSpec kMinute{"minute", 0, 59, {}};
constexpr FieldSpec kHour{"hour", 0, 23, {}};
constexpr FieldSpec kDayOfMonth{"day-of-month", 1, 31, {}};
constexpr FieldSpec kMonth{"month", 1, 12, kMonthNames};
constexpr FieldSpec kDayOfWeek{"day-of-week", 0, 7, kDayNames};

struct Field {
  std::uint64_t bits = 0;
  bool star = false;  // written with a leading `*`
};

tl::unexpected<Error> field_error(const FieldSpec& spec, std::string_view what) {
  return fail(Errc::invalid_input, fmt::format("{}: {}", spec.name, what));
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Case-insensitive comparison with a lower-case `expected`.
bool equals_lower(std::string_view text, std::string_view expected) {
  return text.size() == expected.size() && std::equal(text.begin(), text.end(), expected.begin(),
                                                      [](char a, char b) { return lower(a) == b; });
}

// Reads a number or a name at the front of `text` and consumes it.
Result<int> parse_value(const FieldSpec& spec, std::string_view& text) {
  std::size_t n = 0;
  if (n < text.size() && is_digit(text[n])) {
    int value = 0;
    while (n < text.size() && is_digit(text[n])) {
      value = std::min(value * 10 + (text[n] - '0'), 100000);  // capped: no overflow
      ++n;
    }
    const std::string_view token = text.substr(0, n);
    text.remove_prefix(n);
    if (value < spec.min || value > spec.max) {
      return field_error(spec, fmt::format("{} out of range {}..{}", token, spec.min, spec.max));
    }
    return value;
  }
  while (n < text.size() && is_alpha(text[n])) {
    ++n;
  }
  if (n == 0) {
    const std::string_view rest = text.empty() ? std::string_view("end of field") : text;
    return field_error(spec, fmt::format("expected a value at \"{}\"", rest));
  }
  const std::string_view token = text.substr(0, n);
  text.remove_prefix(n);
  if (spec.names.empty()) {
    return field_error(
        spec, fmt::format("unexpected \"{}\" (names are for month and day-of-week)", token));
  }
  for (std::size_t i = 0; i < spec.names.size(); ++i) {
    if (equals_lower(token, spec.names[i])) {
      return spec.min + static_cast<int>(i);
    }
  }
  return field_error(spec, fmt::format("unknown name \"{}\"", token));
}

struct Range {
  int low = 0;
  int high = 0;
  bool ranged = false;  // `*` or "a-b": a step may follow
};

// The front of an element: "*", "a" or "a-b", consumed from `text`.
Result<Range> parse_range(const FieldSpec& spec, std::string_view& text, std::string_view element) {
  if (!text.empty() && text.front() == '*') {
    text.remove_prefix(1);
    return Range{spec.min, spec.max, true};
  }
  auto first = parse_value(spec, text);
  if (!first) {
    return tl::unexpected(std::move(first.error()));
  }
  if (text.empty() || text.front() != '-') {
    return Range{*first, *first, false};
  }
  text.remove_prefix(1);
  auto last = parse_value(spec, text);
  if (!last) {
    return tl::unexpected(std::move(last.error()));
  }
  if (*last < *first) {
    return field_error(spec, fmt::format("reversed range \"{}\"", element));
  }
  return Range{*first, *last, true};
}

// The number after '/', consumed from `text`.
Result<int> parse_step(const FieldSpec& spec, std::string_view& text, std::string_view element) {
  std::size_t n = 0;
  while (n < text.size() && is_digit(text[n])) {
    ++n;
  }
  if (n == 0) {
    return field_error(spec, fmt::format("expected a step number in \"{}\"", element));
  }
  const std::string_view token = text.substr(0, n);
  text.remove_prefix(n);
  int step = 0;
  for (char c : token) {
    step = std::min(step * 10 + (c - '0'), 100000);  // capped: no overflow
  }
  const int span = spec.max - spec.min + 1;
  if (step < 1 || step > span) {
    return field_error(spec, fmt::format("step {} out of range 1..{}", token, span));
  }
  return step;
}

// One element of a list: "*", "*/n", "a", "a-b", "a-b/n".
Result<std::uint64_t> parse_element(const FieldSpec& spec, std::string_view text) {
  const std::string_view element = text;
  auto range = parse_range(spec, text, element);
  if (!range) {
    return tl::unexpected(std::move(range.error()));
  }
  int step = 1;
  if (!text.empty() && text.front() == '/') {
    if (!range->ranged) {
      return field_error(spec, fmt::format("a step needs * or a range: \"{}\"", element));
    }
    text.remove_prefix(1);
    auto parsed = parse_step(spec, text, element);
    if (!parsed) {
      return tl::unexpected(std::move(parsed.error()));
    }
    step = *parsed;
  }
  if (!text.empty()) {
    return field_error(spec, fmt::format("unexpected \"{}\" in \"{}\"", text, element));
  }
  std::uint64_t bits = 0;
  for (int v = range->low; v <= range->high; v += step) {
    bits |= std::uint64_t{1} << v;
  }
  return bits;
}

Result<Field> parse_field(const FieldSpec& spec, std::string_view text) {
  Field field;
  field.star = !text.empty() && text.front() == '*';
  for (;;) {
    const std::size_t comma = text.find(',');
    const std::string_view element = text.substr(0, comma);
    if (element.empty()) {
      return field_error(spec, "empty list element");
    }
    auto bits = parse_element(spec, element);
    if (!bits) {
      return tl::unexpected(std::move(bits.error()));
    }
    field.bits |= *bits;
    if (comma == std::string_view::npos) {
      return field;
    }
    text.remove_prefix(comma + 1);
  }
}

template <std::size_t N>
std::bitset<N> to_bits(std::uint64_t bits) {
  std::bitset<N> out;
  for (std::size_t i = 0; i < N; ++i) {
    out[i] = ((bits >> i) & 1U) != 0;
  }
  return out;
}

std::optional<std::string_view> expand_nickname(std::string_view nickname) {
  constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kNicknames = {{
      {"@yearly", "0 0 1 1 *"},
      {"@annually", "0 0 1 1 *"},
      {"@monthly", "0 0 1 * *"},
      {"@weekly", "0 0 * * 0"},
      {"@daily", "0 0 * * *"},
      {"@midnight", "0 0 * * *"},
      {"@hourly", "0 * * * *"},
  }};
  for (const auto& [name, expansion] : kNicknames) {
    if (equals_lower(nickname, name)) {
      return expansion;
    }
  }
  return std::nullopt;
}

std::vector<std::string_view> split_fields(std::string_view text) {
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) {
      ++i;
    }
    const std::size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') {
      ++i;
    }
    if (i > start) {
      fields.push_back(text.substr(start, i - start));
    }
  }
  return fields;
}

tl::unexpected<Error> expression_error(std::string_view what) {
  return fail(Errc::invalid_input, fmt::format("expression: {}", what));
}

}  // namespace

Result<Schedule> parse(std::string_view expression) {
  if (expression.size() > kMaxExpressionBytes) {
    return expression_error(fmt::format("longer than {} bytes", kMaxExpressionBytes));
  }
  for (std::size_t i = 0; i < expression.size(); ++i) {
    const auto c = static_cast<unsigned char>(expression[i]);
    if (c != '\t' && (c < 0x20 || c > 0x7e)) {
      return expression_error(fmt::format("invalid byte 0x{:02x} at column {}", c, i + 1));
    }
  }
  std::vector<std::string_view> fields = split_fields(expression);
  if (fields.empty()) {
    return expression_error("empty");
  }
  if (fields.front().front() == '@') {
    const std::string_view nickname = fields.front();
    if (fields.size() > 1) {
      return expression_error(fmt::format("unexpected \"{}\" after {}", fields[1], nickname));
    }
    if (equals_lower(nickname, "@reboot")) {
      return expression_error("@reboot is not supported: a schedule needs a time of day");
    }
    const auto expansion = expand_nickname(nickname);
    if (!expansion) {
      return expression_error(fmt::format("unknown nickname \"{}\"", nickname));
    }
    fields = split_fields(*expansion);
  }
  if (fields.size() != 5) {
    return expression_error(fmt::format(
        "{} fields, expected 5 (minute hour day-of-month month day-of-week)", fields.size()));
  }
  Schedule schedule;
  const std::array<const FieldSpec*, 5> specs = {&kMinute, &kHour, &kDayOfMonth, &kMonth,
                                                 &kDayOfWeek};
  std::array<Field, 5> parsed;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    auto field = parse_field(*specs[i], fields[i]);
    if (!field) {
      return tl::unexpected(std::move(field.error()));
    }
    parsed[i] = *field;
  }
  schedule.minutes = to_bits<60>(parsed[0].bits);
  schedule.hours = to_bits<24>(parsed[1].bits);
  schedule.days_of_month = to_bits<32>(parsed[2].bits);
  schedule.months = to_bits<13>(parsed[3].bits);
  std::uint64_t days_of_week = parsed[4].bits;
  if ((days_of_week >> 7) & 1U) {  // 7 is Sunday too
    days_of_week |= 1U;
  }
  schedule.days_of_week = to_bits<7>(days_of_week);
  schedule.day_of_month_star = parsed[2].star;
  schedule.day_of_week_star = parsed[4].star;
  schedule.wildcard = parsed[0].star || parsed[1].star;
  return schedule;
}

}  // namespace hecs::cron
