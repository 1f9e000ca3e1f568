#include "cli/text.h"

#include <gtest/gtest.h>

namespace hecs::cli {
namespace {

TEST(TerminalEscaping, TurnsAnsiEscapeSequencesIntoVisibleText) {
  EXPECT_EQ(escape_for_terminal("pi\x1b[2J\x1b]0;owned\x07"), "pi\\x1b[2J\\x1b]0;owned\\x07");
}

TEST(TerminalEscaping, KeepsANewlineFromForgingAnotherLine) {
  EXPECT_EQ(escape_for_terminal("pi-01\nhecsctl: all good\r"), "pi-01\\nhecsctl: all good\\r");
}

TEST(TerminalEscaping, EscapesDelAndC1Controls) {
  EXPECT_EQ(escape_for_terminal("a\x7f"
                                "b\xc2\x9b"
                                "31m"),
            "a\\x7fb\\u009b31m");
}

TEST(TerminalEscaping, EscapesBidiOverridesThatDisguiseAName) {
  EXPECT_EQ(escape_for_terminal("pi-\xe2\x80\xae"
                                "10-ip"),
            "pi-\\u202e10-ip");
}

TEST(TerminalEscaping, EscapesBytesThatAreNotUtf8) {
  EXPECT_EQ(escape_for_terminal("a\xff"
                                "b\xc0\xaf"),
            "a\\xffb\\xc0\\xaf");
}

TEST(TerminalEscaping, KeepsPrintableUnicodeAsIs) {
  EXPECT_EQ(escape_for_terminal("café-π-温度 48 °C"), "café-π-温度 48 °C");
}

TEST(DisplayWidth, CountsCodePointsNotBytes) { EXPECT_EQ(display_width("café"), 4u); }

TEST(Rfc3339, ParsesUtcWithMilliseconds) {
  EXPECT_EQ(parse_rfc3339_ms("1970-01-01T00:00:01.5Z"), 1500);
  EXPECT_EQ(parse_rfc3339_ms("2000-01-01T00:00:00Z"), 946684800000);
  EXPECT_EQ(parse_rfc3339_ms("2026-11-25T18:57:30.123Z"), 1795633050123);
}

TEST(Rfc3339, AppliesTheUtcOffset) {
  EXPECT_EQ(parse_rfc3339_ms("2000-01-01T02:00:00+02:00"), 946684800000);
}

TEST(Rfc3339, RejectsWhatIsNotATimestamp) {
  EXPECT_FALSE(parse_rfc3339_ms(""));
  EXPECT_FALSE(parse_rfc3339_ms("yesterday"));
  EXPECT_FALSE(parse_rfc3339_ms("2026-02-30T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339_ms("2026-11-25T18:57:30"));
  EXPECT_FALSE(parse_rfc3339_ms("2026-11-25T18:57:30Zjunk"));
}

TEST(RelativeTime, UsesTheLargestWholeUnit) {
  constexpr std::int64_t kNow = 1'000'000'000;
  EXPECT_EQ(relative_time(kNow - 12'400, kNow), "12s ago");
  EXPECT_EQ(relative_time(kNow - 300'000, kNow), "5m ago");
  EXPECT_EQ(relative_time(kNow - 10'800'001, kNow), "3h ago");
  EXPECT_EQ(relative_time(kNow - 172'800'000, kNow), "2d ago");
}

TEST(RelativeTime, SaysInForATimeAheadOfTheLocalClock) {
  EXPECT_EQ(relative_time(14'000, 10'000), "in 4s");
}

TEST(HumanBytes, UsesBinaryUnits) {
  EXPECT_EQ(human_bytes(512), "512 B");
  EXPECT_EQ(human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(human_bytes(4.0 * 1024 * 1024 * 1024), "4.0 GiB");
}

TEST(HumanDuration, ShowsTwoUnits) {
  EXPECT_EQ(human_duration(42), "42s");
  EXPECT_EQ(human_duration(3 * 86400 + 4 * 3600 + 5), "3d 4h");
}

TEST(Duration, ReadsSecondsMinutesHoursAndDays) {
  EXPECT_EQ(parse_duration_s("90s"), 90);
  EXPECT_EQ(parse_duration_s("30m"), 1800);
  EXPECT_EQ(parse_duration_s("24h"), 86400);
  EXPECT_EQ(parse_duration_s("7d"), 604800);
}

TEST(Duration, RejectsWhatIsNotOneWholeNumberWithAUnit) {
  for (const char* text : {"", "d", "30", "1.5h", "-1h", "+1h", "1h30m", "1w", "h1", " 1h",
                           "99999999999999999999d", "9223372036854775807d"}) {
    EXPECT_FALSE(parse_duration_s(text)) << text;
  }
}

TEST(AlignRows, PadsEveryColumnButTheLast) {
  EXPECT_EQ(align_rows({{"A", "BB", "C"}, {"café", "-", "long last"}}, "  ", " | "),
            "  A    | BB | C\n"
            "  café | -  | long last\n");
}

}  // namespace
}  // namespace hecs::cli
