#include "common/cron/cron.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <date/date.h>
#include <date/tz.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hecs::cron {
namespace {

using std::chrono::sys_seconds;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

// "2026-03-29 01:00" or "2026-03-29 01:00:30", UTC.
sys_seconds at(std::string_view text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  const std::string copy(text);
  const int n = std::sscanf(copy.c_str(), "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &s);
  EXPECT_GE(n, 5) << text;
  return date::sys_days{date::year{y} / mo / d} + std::chrono::hours{h} + std::chrono::minutes{mi} +
         std::chrono::seconds{s};
}

std::string utc(sys_seconds t) { return date::format("%F %R", t); }

Zone zone(std::string_view name) {
  auto z = Zone::locate(name);
  EXPECT_TRUE(z) << name << ": " << z.error().message;
  return z ? *z : Zone{};
}

Schedule schedule(std::string_view expression) {
  auto s = parse(expression);
  EXPECT_TRUE(s) << expression << ": " << s.error().message;
  return s ? *s : Schedule{};
}

std::vector<std::string> next_fires(const Schedule& s, sys_seconds after, const Zone& z,
                                    std::size_t count) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < count; ++i) {
    auto next = next_fire(s, after, z);
    if (!next) {
      break;
    }
    out.push_back(utc(*next));
    after = *next;
  }
  return out;
}

struct FireCase {
  std::string_view expression;
  std::string_view zone;
  std::string_view after;               // UTC
  std::vector<std::string_view> fires;  // UTC, in order; local time in the comment
};

// Europe/Paris 2026: 29 March 01:00 UTC, 02:00 CET → 03:00 CEST; 25 October 01:00 UTC,
// 03:00 CEST → 02:00 CET. America/New_York 2026: 8 March 07:00 UTC, 02:00 EST → 03:00 EDT;
// 1 November 06:00 UTC, 02:00 EDT → 01:00 EST.
const std::vector<FireCase> kFireCases = {
    // UTC
    {"0 * * * *",
     "UTC",
     "2026-01-01 00:00",
     {"2026-01-01 01:00", "2026-01-01 02:00", "2026-01-01 03:00"}},
    {"*/15 * * * *",
     "UTC",
     "2026-01-01 00:07:30",
     {"2026-01-01 00:15", "2026-01-01 00:30", "2026-01-01 00:45", "2026-01-01 01:00"}},
    {"30 2 * * *",
     "UTC",
     "2026-03-28 12:00",
     {"2026-03-29 02:30", "2026-03-30 02:30", "2026-03-31 02:30"}},
    {"0 0 29 2 *",
     "UTC",
     "2026-01-01 00:00",
     {"2028-02-29 00:00", "2032-02-29 00:00", "2036-02-29 00:00"}},
    // both days restricted: the 13th or a Friday (13 February 2026 is both: once)
    {"0 12 13 * 5",
     "UTC",
     "2026-02-01 00:00",
     {"2026-02-06 12:00", "2026-02-13 12:00", "2026-02-20 12:00", "2026-02-27 12:00",
      "2026-03-06 12:00", "2026-03-13 12:00"}},
    {"0 0 1 * 1",
     "UTC",
     "2026-02-20 00:00",
     {"2026-02-23 00:00", "2026-03-01 00:00", "2026-03-02 00:00", "2026-03-09 00:00"}},
    // day-of-month written with `*`: both must hold, odd days that are Mondays (Vixie)
    {"0 0 */2 * 1",
     "UTC",
     "2026-02-01 00:00",
     {"2026-02-09 00:00", "2026-02-23 00:00", "2026-03-09 00:00"}},
    // names, case-insensitive, in lists and ranges; 1 July 2026 is a Wednesday
    {"0 9 * JAN,jul mon-FRI",
     "UTC",
     "2026-06-30 12:00",
     {"2026-07-01 09:00", "2026-07-02 09:00", "2026-07-03 09:00", "2026-07-06 09:00"}},
    {"@weekly",
     "UTC",
     "2026-01-01 00:00",
     {"2026-01-04 00:00", "2026-01-11 00:00", "2026-01-18 00:00"}},
    {"0 0 * * 7", "UTC", "2026-01-01 00:00", {"2026-01-04 00:00", "2026-01-11 00:00"}},
    {"@yearly",
     "UTC",
     "2026-06-01 00:00",
     {"2027-01-01 00:00", "2028-01-01 00:00", "2029-01-01 00:00"}},
    {"5-20/5,45 */6 * * *",
     "UTC",
     "2026-01-01 00:00",
     {"2026-01-01 00:05", "2026-01-01 00:10", "2026-01-01 00:15", "2026-01-01 00:20",
      "2026-01-01 00:45", "2026-01-01 06:05"}},
    {"0 0 1 */3 *",
     "UTC",
     "2026-01-01 00:00",
     {"2026-04-01 00:00", "2026-07-01 00:00", "2026-10-01 00:00"}},
    {"0 0 30 2 *", "UTC", "2026-01-01 00:00", {}},
    {"0 0 31 4,6,9,11 *", "UTC", "2026-01-01 00:00", {}},

    // Europe/Paris, spring forward
    // 28 Mar 02:30 CET; 29 Mar 02:30 does not exist: 03:00 CEST; 30 Mar 02:30 CEST
    {"30 2 * * *",
     "Europe/Paris",
     "2026-03-27 12:00",
     {"2026-03-28 01:30", "2026-03-29 01:00", "2026-03-30 00:30"}},
    // 01:00 CET, (02:00 skipped), 03:00 CEST, 04:00 CEST
    {"0 * * * *",
     "Europe/Paris",
     "2026-03-28 23:30",
     {"2026-03-29 00:00", "2026-03-29 01:00", "2026-03-29 02:00"}},
    // 01:45 CET, 03:00 CEST, 03:15, 03:30
    {"*/15 * * * *",
     "Europe/Paris",
     "2026-03-29 00:40",
     {"2026-03-29 00:45", "2026-03-29 01:00", "2026-03-29 01:15", "2026-03-29 01:30"}},
    {"0 3 * * *",
     "Europe/Paris",
     "2026-03-28 12:00",
     {"2026-03-29 01:00", "2026-03-30 01:00", "2026-03-31 01:00"}},
    // 29 Mar: the 02:00 of the gap and the real 03:00 are one instant, one fire
    {"0 2,3 * * *",
     "Europe/Paris",
     "2026-03-28 12:00",
     {"2026-03-29 01:00", "2026-03-30 00:00", "2026-03-30 01:00"}},
    // wildcard minute: the skipped hour is skipped
    {"*/15 2 * * *",
     "Europe/Paris",
     "2026-03-27 12:00",
     {"2026-03-28 01:00", "2026-03-28 01:15", "2026-03-28 01:30", "2026-03-28 01:45",
      "2026-03-30 00:00"}},
    // midnight: 28 and 29 Mar 00:00 CET, 30 Mar 00:00 CEST
    {"@daily",
     "Europe/Paris",
     "2026-03-27 12:00",
     {"2026-03-27 23:00", "2026-03-28 23:00", "2026-03-29 22:00"}},

    // Europe/Paris, fall back
    // 24 Oct 02:30 CEST; 25 Oct first 02:30 (CEST) only; 26 Oct 02:30 CET
    {"30 2 * * *",
     "Europe/Paris",
     "2026-10-23 12:00",
     {"2026-10-24 00:30", "2026-10-25 00:30", "2026-10-26 01:30"}},
    // 02:00 CEST, 02:00 CET, 03:00 CET
    {"0 * * * *",
     "Europe/Paris",
     "2026-10-24 23:30",
     {"2026-10-25 00:00", "2026-10-25 01:00", "2026-10-25 02:00"}},
    // 02:45 CEST, 02:00 CET, 02:15 CET, 02:30 CET
    {"*/15 * * * *",
     "Europe/Paris",
     "2026-10-25 00:40",
     {"2026-10-25 00:45", "2026-10-25 01:00", "2026-10-25 01:15", "2026-10-25 01:30"}},
    {"0 3 * * *",
     "Europe/Paris",
     "2026-10-24 12:00",
     {"2026-10-25 02:00", "2026-10-26 02:00", "2026-10-27 02:00"}},
    // fixed: 02:00 and 02:30 CEST only, then 26 Oct 02:00 CET
    {"0,30 2 * * *",
     "Europe/Paris",
     "2026-10-24 23:50",
     {"2026-10-25 00:00", "2026-10-25 00:30", "2026-10-26 01:00"}},
    // wildcard minute: both 02:xx hours
    {"*/15 2 * * *",
     "Europe/Paris",
     "2026-10-24 23:50",
     {"2026-10-25 00:00", "2026-10-25 00:15", "2026-10-25 00:30", "2026-10-25 00:45",
      "2026-10-25 01:00", "2026-10-25 01:15", "2026-10-25 01:30", "2026-10-25 01:45",
      "2026-10-26 01:00"}},
    // 29 February 2028 00:00 CET
    {"0 0 29 2 *", "Europe/Paris", "2026-01-01 00:00", {"2028-02-28 23:00", "2032-02-28 23:00"}},

    // America/New_York
    // 8 Mar 02:30 does not exist: 03:00 EDT; then 02:30 EDT
    {"30 2 * * *",
     "America/New_York",
     "2026-03-07 12:00",
     {"2026-03-08 07:00", "2026-03-09 06:30", "2026-03-10 06:30"}},
    // 1 Nov: first 01:30 (EDT) only; then 01:30 EST
    {"30 1 * * *",
     "America/New_York",
     "2026-10-31 12:00",
     {"2026-11-01 05:30", "2026-11-02 06:30", "2026-11-03 06:30"}},
    // wildcard minute: 01:30 EDT, 01:00 EST, 01:30 EST, then 2 Nov 01:00 EST
    {"*/30 1 * * *",
     "America/New_York",
     "2026-11-01 05:00",
     {"2026-11-01 05:30", "2026-11-01 06:00", "2026-11-01 06:30", "2026-11-02 06:00"}},
    // Friday 09:00 EST, Monday 09:00 EDT
    {"0 9 * * 1-5",
     "America/New_York",
     "2026-03-06 12:00",
     {"2026-03-06 14:00", "2026-03-09 13:00", "2026-03-10 13:00"}},
    {"0 0 1 1 *", "America/New_York", "2026-06-01 00:00", {"2027-01-01 05:00", "2028-01-01 05:00"}},
};

// NOLINTNEXTLINE(readability-identifier-naming): the name gtest looks for
void PrintTo(const FireCase& c, std::ostream* os) {
  *os << c.expression << " in " << c.zone << " after " << c.after;
}

class CronFireTable : public ::testing::TestWithParam<FireCase> {};

TEST_P(CronFireTable, GivesTheExpectedFires) {
  const FireCase& c = GetParam();
  SCOPED_TRACE(std::string(c.expression) + " in " + std::string(c.zone) + " after " +
               std::string(c.after));
  const std::vector<std::string> expected(c.fires.begin(), c.fires.end());
  const std::size_t count = std::max<std::size_t>(expected.size(), 1);  // none: look for one
  EXPECT_THAT(next_fires(schedule(c.expression), at(c.after), zone(c.zone), count),
              ElementsAreArray(expected));
}

INSTANTIATE_TEST_SUITE_P(Zones, CronFireTable, ::testing::ValuesIn(kFireCases),
                         [](const ::testing::TestParamInfo<FireCase>& param) {
                           std::string name;
                           for (char c : param.param.zone) {
                             name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           }
                           return name + "_" + std::to_string(param.index);
                         });

// The rules of cron.h applied to every UTC minute in turn, to check next_fire's segment walk.
bool matches_local(const Schedule& s, date::local_seconds t) {
  const auto day = std::chrono::floor<date::days>(t);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss time{t - day};
  const bool dom = s.days_of_month[static_cast<unsigned>(ymd.day())];
  const bool dow = s.days_of_week[date::weekday{day}.c_encoding()];
  const bool day_ok = (s.day_of_month_star || s.day_of_week_star) ? dom && dow : dom || dow;
  return time.seconds().count() == 0 && s.minutes[time.minutes().count()] &&
         s.hours[time.hours().count()] && s.months[static_cast<unsigned>(ymd.month())] && day_ok;
}

std::vector<std::string> scan(const Schedule& s, sys_seconds after, const Zone& z,
                              std::size_t count) {
  std::vector<std::string> out;
  const date::time_zone* tz = z.get();
  for (auto u = std::chrono::floor<std::chrono::minutes>(after) + std::chrono::minutes{1};
       out.size() < count && u < after + std::chrono::days{4}; u += std::chrono::minutes{1}) {
    const date::sys_info info = tz->get_info(u);
    const date::local_seconds local{u.time_since_epoch() + info.offset};
    bool fire = false;
    if (matches_local(s, local)) {
      const date::local_info li = tz->get_info(local);
      const bool repeat =
          li.result == date::local_info::ambiguous && li.second.offset == info.offset;
      fire = s.wildcard || !repeat;
    }
    if (!fire && !s.wildcard && info.begin == u) {
      const auto before = tz->get_info(u - std::chrono::seconds{1}).offset;
      for (auto t = date::local_seconds{u.time_since_epoch() + before};
           t < date::local_seconds{u.time_since_epoch() + info.offset};
           t += std::chrono::minutes{1}) {
        fire = fire || matches_local(s, t);
      }
    }
    if (fire) {
      out.push_back(utc(u));
    }
  }
  return out;
}

std::string random_field(std::mt19937& rng, int min, int max) {
  std::uniform_int_distribution<int> value(min, max);
  switch (std::uniform_int_distribution<int>(0, 4)(rng)) {
    case 0:
      return "*";
    case 1:
      return "*/" + std::to_string(std::uniform_int_distribution<int>(2, 7)(rng));
    case 2: {
      int a = value(rng), b = value(rng);
      return std::to_string(std::min(a, b)) + "-" + std::to_string(std::max(a, b));
    }
    case 3:
      return std::to_string(value(rng)) + "," + std::to_string(value(rng));
    default:
      return std::to_string(value(rng));
  }
}

// The transitions of 2026, and a day without one.
std::vector<sys_seconds> transitions_of(const Zone& z) {
  std::vector<sys_seconds> transitions = {at("2026-06-15 12:00")};
  for (auto t = at("2026-01-01 00:00"); t < at("2027-01-01 00:00");) {
    t = z.get()->get_info(t).end;
    if (t < at("2027-01-01 00:00")) {
      transitions.push_back(t);
    }
  }
  return transitions;
}

// An hour field naming the local hour just before `transition`, one of the next two, or a
// range: the hours a transition skips or repeats, and their neighbours.
std::string hour_near(std::mt19937& rng, const Zone& z, sys_seconds transition) {
  const auto local =
      date::make_zoned(z.get(), transition - std::chrono::seconds{1}).get_local_time();
  const int h = static_cast<int>(
      date::hh_mm_ss{local - std::chrono::floor<date::days>(local)}.hours().count());
  const int pick = std::uniform_int_distribution<int>(0, 3)(rng);
  return pick == 3 ? std::to_string(h) + "-" + std::to_string(std::min(h + 1, 23))
                   : std::to_string((h + pick) % 24);
}

TEST(CronNextFire, AgreesWithAMinuteByMinuteScanAroundTransitions) {
  std::mt19937 rng(20260329);  // NOLINT(cert-msc32-c,cert-msc51-cpp): reproducible on purpose
  // Lord Howe moves by 30 minutes, Santiago at midnight, Kathmandu has a 45-minute offset.
  const std::vector<std::string_view> zones = {"Europe/Paris", "America/New_York",
                                               "Australia/Lord_Howe", "America/Santiago",
                                               "Asia/Kathmandu"};
  int compared = 0;
  for (std::string_view name : zones) {
    const Zone z = zone(name);
    const std::vector<sys_seconds> transitions = transitions_of(z);
    for (int i = 0; i < 60; ++i) {
      const auto near = transitions[static_cast<std::size_t>(i) % transitions.size()];
      const std::string hour = i % 2 == 0 ? hour_near(rng, z, near) : random_field(rng, 0, 23);
      const std::string expression = random_field(rng, 0, 59) + " " + hour + " " +
                                     (i % 5 == 0 ? random_field(rng, 1, 31) : "*") + " * " +
                                     (i % 7 == 0 ? random_field(rng, 0, 6) : "*");
      SCOPED_TRACE(expression + " in " + std::string(name));
      const Schedule s = schedule(expression);
      // Mostly from shortly before the transition, so that even dense schedules reach it.
      const int back =
          std::uniform_int_distribution<int>(0, i % 3 == 0 ? 30 * 3600 : 4 * 3600)(rng);
      const sys_seconds after = near - std::chrono::seconds{back};
      auto expected = scan(s, after, z, 12);
      auto actual = next_fires(s, after, z, 12);
      if (expected.size() < 12) {  // the scan stops after four days: compare what it saw
        actual.resize(std::min(actual.size(), expected.size()));
      }
      EXPECT_EQ(actual, expected) << "after " << utc(after);
      ++compared;
    }
  }
  EXPECT_EQ(compared, 300);
}

TEST(CronNextFire, IsStrictlyAfterItsStart) {
  const auto s = schedule("0 * * * *");
  EXPECT_EQ(utc(*next_fire(s, at("2026-01-01 01:00"))), "2026-01-01 02:00");
  EXPECT_EQ(utc(*next_fire(s, at("2026-01-01 00:59:59"))), "2026-01-01 01:00");
}

TEST(CronNextFire, FindsNothingPastTheHorizon) {
  const auto s = schedule("0 0 29 2 *");
  EXPECT_TRUE(next_fire(s, at("2026-01-01 00:00")));
  // 2100 is not a leap year: the next 29 February is in 2104, beyond five years
  EXPECT_FALSE(next_fire(s, at("2096-03-01 00:00")));
}

TEST(CronNextFire, FindsNothingOutsideTheSupportedYears) {
  const auto s = schedule("* * * * *");
  EXPECT_FALSE(next_fire(s, at("1969-12-31 23:59")));
  EXPECT_FALSE(next_fire(s, sys_seconds::max()));
  EXPECT_FALSE(next_fire(s, sys_seconds::min()));
  EXPECT_TRUE(next_fire(s, at("1970-01-01 00:00")));
}

TEST(CronFiresBetween, ListsTheMissedFiresUpToTheLimit) {
  const auto s = schedule("*/15 * * * *");
  std::vector<std::string> fires;
  for (auto t : fires_between(s, at("2026-01-01 00:00"), at("2026-01-01 01:00"), Zone{}, 10)) {
    fires.push_back(utc(t));
  }
  EXPECT_THAT(fires, ElementsAreArray({"2026-01-01 00:15", "2026-01-01 00:30", "2026-01-01 00:45",
                                       "2026-01-01 01:00"}));
  EXPECT_EQ(fires_between(s, at("2026-01-01 00:00"), at("2026-01-01 01:00"), Zone{}, 2).size(), 2U);
  EXPECT_TRUE(fires_between(s, at("2026-01-01 00:00"), at("2026-01-01 00:14"), Zone{}, 10).empty());
}

TEST(CronFiresBetween, CountsTheRepeatedHourOfAWildcardScheduleTwice) {
  const auto s = schedule("*/15 * * * *");
  const auto fires =
      fires_between(s, at("2026-10-24 23:59"), at("2026-10-25 02:59"), zone("Europe/Paris"), 100);
  EXPECT_EQ(fires.size(), 12U);  // three real hours, although the wall clock shows two
}

// ---- parsing -------------------------------------------------------------------------------

TEST(CronParse, TreatsEquivalentSpellingsAlike) {
  EXPECT_EQ(schedule("0 0 * * 0"), schedule("@weekly"));
  EXPECT_EQ(schedule("0 0 * * 7"), schedule("0 0 * * sun"));
  EXPECT_EQ(schedule("0 0 * * 0"), schedule("0 0 * * SUN"));
  EXPECT_EQ(schedule("@yearly"), schedule("@annually"));
  EXPECT_EQ(schedule("@yearly"), schedule("0 0 1 jan *"));
  EXPECT_EQ(schedule("@daily"), schedule("@midnight"));
  EXPECT_EQ(schedule("@monthly"), schedule("0 0 1 * *"));
  EXPECT_EQ(schedule("@hourly"), schedule("0 * * * *"));
  EXPECT_EQ(schedule("0 0 * * 1-5"), schedule("0 0 * * Mon-Fri"));
  EXPECT_EQ(schedule("0 0 * * 1-5"), schedule("0 0 * * 1,2,3,4,5"));
  EXPECT_EQ(schedule("*/20 * * * *"), schedule("0,20,40 * * * *"));
  EXPECT_EQ(schedule("0-59/20 * * * *"), schedule("0,20,40 * * * *"));
  EXPECT_EQ(schedule(" \t0  0\t* * *  "), schedule("@daily"));
  EXPECT_TRUE(schedule("0 0 * * 0-7").days_of_week.all());
}

TEST(CronParse, SortsSchedulesIntoWildcardAndFixed) {
  EXPECT_TRUE(schedule("*/15 * * * *").wildcard);
  EXPECT_TRUE(schedule("0 * * * *").wildcard);
  EXPECT_TRUE(schedule("*/5 3 * * *").wildcard);
  EXPECT_TRUE(schedule("@hourly").wildcard);
  EXPECT_FALSE(schedule("30 2 * * *").wildcard);
  EXPECT_FALSE(schedule("0 8-18 * * 1-5").wildcard);
  EXPECT_FALSE(schedule("@daily").wildcard);
}

struct InvalidCase {
  std::string expression;
  std::string_view message;
};

TEST(CronParse, RefusesMalformedExpressionsNamingTheField) {
  const std::vector<InvalidCase> cases = {
      {"", "expression: empty"},
      {" \t ", "expression: empty"},
      {std::string(257, '*'), "expression: longer than 256 bytes"},
      {"0\x01 * * * *", "expression: invalid byte 0x01 at column 2"},
      {"0 0 * * * \xc3\xa9", "expression: invalid byte 0xc3"},
      {"* * * *", "expression: 4 fields, expected 5"},
      {"0 * * * * *", "expression: 6 fields, expected 5"},
      {"0 0 0 * * * 2026", "expression: 7 fields"},
      {"@reboot", "expression: @reboot is not supported"},
      {"@REBOOT", "expression: @reboot is not supported"},
      {"@fortnightly", "expression: unknown nickname \"@fortnightly\""},
      {"@daily *", "expression: unexpected \"*\" after @daily"},
      {"61 * * * *", "minute: 61 out of range 0..59"},
      {"99999999999999 * * * *", "minute: 99999999999999 out of range 0..59"},
      {"* 24 * * *", "hour: 24 out of range 0..23"},
      {"* * 0 * *", "day-of-month: 0 out of range 1..31"},
      {"* * 32 * *", "day-of-month: 32 out of range 1..31"},
      {"* * * 13 *", "month: 13 out of range 1..12"},
      {"* * * 0 *", "month: 0 out of range 1..12"},
      {"* * * * 8", "day-of-week: 8 out of range 0..7"},
      {"*/0 * * * *", "minute: step 0 out of range 1..60"},
      {"0-30/0 * * * *", "minute: step 0 out of range 1..60"},
      {"*/61 * * * *", "minute: step 61 out of range 1..60"},
      {"1-5/ * * * *", "minute: expected a step number in \"1-5/\""},
      {"5/10 * * * *", "minute: a step needs * or a range: \"5/10\""},
      {"* 5-2 * * *", "hour: reversed range \"5-2\""},
      {"* * * * FRI-MON", "day-of-week: reversed range \"FRI-MON\""},
      {"1,,2 * * * *", "minute: empty list element"},
      {"1, * * * *", "minute: empty list element"},
      {",1 * * * *", "minute: empty list element"},
      {"5x * * * *", "minute: unexpected \"x\" in \"5x\""},
      {"*-5 * * * *", "minute: unexpected \"-5\" in \"*-5\""},
      {"? * * * *", "minute: expected a value at \"?\""},
      {"* * * * MON-", "day-of-week: expected a value at \"end of field\""},
      {"MON * * * *", "minute: unexpected \"MON\""},
      {"* * L * *", "day-of-month: unexpected \"L\""},
      {"* * * foo *", "month: unknown name \"foo\""},
      {"* * * * SUNDAY", "day-of-week: unknown name \"SUNDAY\""},
      {"* * * MON *", "month: unknown name \"MON\""},
      {"0 0 * * 1#2", "day-of-week: unexpected \"#2\" in \"1#2\""},
      {"0 0 15W * *", "day-of-month: unexpected \"W\" in \"15W\""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.expression);
    auto parsed = parse(c.expression);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().code, Errc::invalid_input);
    EXPECT_THAT(parsed.error().message, HasSubstr(c.message));
  }
}

TEST(CronParse, AcceptsAnExpressionOfExactlyTheLimit) {
  std::string expression = "0 0 * * ";
  expression += "1";
  while (expression.size() + 2 <= kMaxExpressionBytes) {
    expression += ",1";
  }
  expression.resize(kMaxExpressionBytes, ' ');
  EXPECT_TRUE(parse(expression));
}

// ---- zones ---------------------------------------------------------------------------------

TEST(CronZone, FindsZonesOfTheSystemDatabase) {
  for (std::string_view name : {"Europe/Paris", "America/New_York", "UTC", "Etc/UTC",
                                "America/Argentina/Buenos_Aires", "Etc/GMT+5"}) {
    auto z = Zone::locate(name);
    ASSERT_TRUE(z) << name << ": " << z.error().message;
    EXPECT_EQ(z->name(), name);
    EXPECT_TRUE(check_zone(name));
  }
  EXPECT_EQ(Zone{}.name(), "UTC");
}

TEST(CronZone, RefusesUnknownAndHostDependentNames) {
  for (std::string_view name :
       {"Mars/Olympus", "", "europe/paris", "../../etc/passwd", "Europe/Paris\n", "localtime",
        "posixrules", "right/Europe/Paris", "zone.tab"}) {
    auto z = Zone::locate(name);
    ASSERT_FALSE(z) << name;
    EXPECT_EQ(z.error().code, Errc::invalid_input);
    EXPECT_THAT(z.error().message, HasSubstr("time zone: "));
    EXPECT_FALSE(check_zone(name));
  }
  EXPECT_THAT(Zone::locate("Mars/Olympus").error().message,
              HasSubstr("time zone: unknown \"Mars/Olympus\""));
}

}  // namespace
}  // namespace hecs::cron
