#include "cli/text.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace hecs::cli {

bool is_unsafe_code_point(std::uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0x200B && cp <= 0x200F) ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
}

std::size_t decode_utf8(std::string_view text, std::size_t i, std::uint32_t& cp) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  std::size_t len = 0;
  std::uint32_t min = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    len = 2;
    cp = lead & 0x1Fu;
    min = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    len = 3;
    cp = lead & 0x0Fu;
    min = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    len = 4;
    cp = lead & 0x07u;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > text.size()) {
    return 0;
  }
  for (std::size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0u) != 0x80u) {
      return 0;
    }
    cp = (cp << 6) | (byte(i + k) & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return len;
}

std::string escape_for_terminal(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (c == '\n' || c == '\t' || c == '\r') {
      out += c == '\n' ? "\\n" : c == '\t' ? "\\t" : "\\r";
      ++i;
      continue;
    }
    std::uint32_t cp = 0;
    std::size_t len = c >= 0x80 ? decode_utf8(text, i, cp) : 0;
    if (len == 0) {
      out += fmt::format("\\x{:02x}", c);
      ++i;
    } else if (is_unsafe_code_point(cp)) {
      out += fmt::format("\\u{:04x}", cp);
      i += len;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  return out;
}

std::size_t display_width(std::string_view text) {
  std::size_t width = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0u) != 0x80u) {
      ++width;
    }
  }
  return width;
}

std::optional<std::int64_t> parse_rfc3339_ms(std::string_view text) {
  auto digits = [&](std::size_t pos, std::size_t n) -> std::optional<std::int64_t> {
    if (pos + n > text.size()) {
      return std::nullopt;
    }
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data() + pos, text.data() + pos + n, value);
    if (ec != std::errc() || end != text.data() + pos + n) {
      return std::nullopt;
    }
    return value;
  };
  auto at = [&](std::size_t pos, std::string_view allowed) {
    return pos < text.size() && allowed.find(text[pos]) != std::string_view::npos;
  };
  auto year = digits(0, 4), month = digits(5, 2), day = digits(8, 2);
  auto hour = digits(11, 2), minute = digits(14, 2), second = digits(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || !at(4, "-") || !at(7, "-") ||
      !at(10, "Tt ") || !at(13, ":") || !at(16, ":") || *hour > 23 || *minute > 59 ||
      *second > 60) {
    return std::nullopt;
  }
  std::chrono::year_month_day date{std::chrono::year{static_cast<int>(*year)},
                                   std::chrono::month{static_cast<unsigned>(*month)},
                                   std::chrono::day{static_cast<unsigned>(*day)}};
  if (!date.ok()) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  std::int64_t millis = 0;
  if (at(pos, ".")) {
    std::int64_t scale = 100;
    for (++pos; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos) {
      millis += (text[pos] - '0') * scale;
      scale /= 10;
    }
  }
  std::int64_t offset_s = 0;
  if (at(pos, "Zz") && pos + 1 == text.size()) {
    offset_s = 0;
  } else if (at(pos, "+-") && pos + 6 == text.size() && at(pos + 3, ":")) {
    auto oh = digits(pos + 1, 2), om = digits(pos + 4, 2);
    if (!oh || !om || *oh > 23 || *om > 59) {
      return std::nullopt;
    }
    offset_s = (text[pos] == '-' ? -1 : 1) * (*oh * 3600 + *om * 60);
  } else {
    return std::nullopt;
  }
  std::int64_t days = std::chrono::sys_days{date}.time_since_epoch().count();
  std::int64_t secs = days * 86400 + *hour * 3600 + *minute * 60 + *second - offset_s;
  return secs * 1000 + millis;
}

std::string relative_time(std::int64_t then_ms, std::int64_t now_ms) {
  std::int64_t delta = (now_ms - then_ms) / 1000;
  bool future = delta < 0;
  std::int64_t s = future ? -delta : delta;
  std::string amount = s < 60      ? fmt::format("{}s", s)
                       : s < 3600  ? fmt::format("{}m", s / 60)
                       : s < 86400 ? fmt::format("{}h", s / 3600)
                                   : fmt::format("{}d", s / 86400);
  return future ? "in " + amount : amount + " ago";
}

std::string format_utc(std::int64_t unix_ms) {
  std::chrono::sys_time<std::chrono::milliseconds> when{std::chrono::milliseconds(unix_ms)};
  auto day = std::chrono::floor<std::chrono::days>(when);
  std::chrono::year_month_day date(day);
  std::chrono::hh_mm_ss time(std::chrono::floor<std::chrono::seconds>(when - day));
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                     time.hours().count(), time.minutes().count(), time.seconds().count());
}

std::optional<std::int64_t> parse_time_or_ago(std::string_view text, std::int64_t now_ms) {
  if (auto ago = parse_duration_s(text); ago && *ago <= now_ms / 1000) {
    return now_ms - *ago * 1000;
  }
  return parse_rfc3339_ms(text);
}

std::string human_bytes(double bytes) {
  static constexpr std::array<const char*, 6> kUnits{"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  std::size_t unit = 0;
  while (std::fabs(bytes) >= 1024.0 && unit + 1 < kUnits.size()) {
    bytes /= 1024.0;
    ++unit;
  }
  return unit == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, kUnits[unit]);
}

std::string human_duration(std::int64_t seconds) {
  if (seconds >= 86400) {
    return fmt::format("{}d {}h", seconds / 86400, seconds % 86400 / 3600);
  }
  if (seconds >= 3600) {
    return fmt::format("{}h {}m", seconds / 3600, seconds % 3600 / 60);
  }
  if (seconds >= 60) {
    return fmt::format("{}m {}s", seconds / 60, seconds % 60);
  }
  return fmt::format("{}s", seconds);
}

std::string align_rows(const std::vector<std::vector<std::string>>& rows, std::string_view indent,
                       std::string_view gap) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], display_width(row[i]));
    }
  }
  std::string out;
  for (const auto& row : rows) {
    out += indent;
    for (std::size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) {
        out += std::string(widths[i] - display_width(row[i]), ' ');
        out += gap;
      }
    }
    out += '\n';
  }
  return out;
}

std::optional<std::int64_t> parse_duration_s(std::string_view text) {
  if (text.size() < 2) {
    return std::nullopt;
  }
  std::int64_t unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    default:
      return std::nullopt;
  }
  std::string_view digits = text.substr(0, text.size() - 1);
  std::int64_t count = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits[0] == '-' ||
      count > std::numeric_limits<std::int64_t>::max() / unit) {
    return std::nullopt;
  }
  return count * unit;
}

std::string shortest_double(double value) {
  std::array<char, 32> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  if (ec != std::errc()) {
    return "0";
  }
  std::string text(buf.data(), end);
  if (text.find_first_of(".en") == std::string::npos) {
    text += ".0";  // 3.0 stays a float for whoever reads the JSON or YAML back
  }
  return text;
}

}  // namespace hecs::cli
