// Text helpers for human output: terminal-safe escaping, widths, times and sizes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hecs::cli {

// Makes a server-supplied string safe to print on a terminal: C0 and C1 control characters,
// DEL, invalid UTF-8 and the invisible/bidi format characters (U+200B..U+200F, U+202A..U+202E,
// U+2066..U+2069, U+FEFF) become visible escapes (\n, \x1b, \u009b, \u202e), so a hostile
// hostname can neither drive the terminal nor disguise itself. Everything else is kept.
std::string escape_for_terminal(std::string_view text);

// Decodes the UTF-8 sequence starting at text[i] into cp; returns its length, or 0 when the
// bytes there are not valid UTF-8 (overlong, surrogate, truncated).
std::size_t decode_utf8(std::string_view text, std::size_t i, std::uint32_t& cp);

// Code points escape_for_terminal shows escaped: C0, DEL, C1, invisible and bidi controls.
bool is_unsafe_code_point(std::uint32_t cp);

// Columns the text takes, counting one per code point (good enough for aligned tables of
// escaped, mostly ASCII strings; wide CJK characters count as one).
std::size_t display_width(std::string_view text);

// Parses an RFC 3339 timestamp ("2026-11-25T18:57:30.123Z", "...+02:00") into unix ms.
std::optional<std::int64_t> parse_rfc3339_ms(std::string_view text);

// Unix ms as RFC 3339 in UTC to the second: "2026-11-25T18:57:30Z".
std::string format_utc(std::int64_t unix_ms);

// A point in time given on the command line: RFC 3339 ("2026-11-25T18:00:00Z"), or a
// duration before now ("90m", "7d", as parse_duration_s reads it). nullopt for anything else.
std::optional<std::int64_t> parse_time_or_ago(std::string_view text, std::int64_t now_ms);

// "12s ago", "5m ago", "3h ago", "2d ago"; "in 4s" for a time ahead of now (clock skew).
std::string relative_time(std::int64_t then_ms, std::int64_t now_ms);

// Binary units: "512 B", "1.5 KiB", "3.7 GiB".
std::string human_bytes(double bytes);

// "3d 4h", "2h 5m", "42s".
std::string human_duration(std::int64_t seconds);

// Left-aligned columns separated by `gap`, each line prefixed by `indent`; the last column is
// not padded, so lines carry no trailing blanks. Cells must already be escaped.
std::string align_rows(const std::vector<std::vector<std::string>>& rows, std::string_view indent,
                       std::string_view gap);

// "90s", "30m", "24h", "7d" as seconds; nullopt for anything else (no unit, a sign, a fraction,
// several units, an overflow).
std::optional<std::int64_t> parse_duration_s(std::string_view text);

// Shortest text that reads back as the same double, and as a floating value: "12.3", "3.0",
// "1e+21".
std::string shortest_double(double value);

}  // namespace hecs::cli
