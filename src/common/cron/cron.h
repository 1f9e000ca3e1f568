// Cron expressions for schedules (docs/tasks.md, "Schedules"): parsing, and the fire times of
// a schedule in a time zone. Pure: no clock, no I/O but the system time zone database
// (/usr/share/zoneinfo, package tzdata, read once per zone through Howard Hinnant's date
// library built with USE_OS_TZDB; nothing is downloaded).
//
// Syntax: five fields, "minute hour day-of-month month day-of-week", separated by spaces or
// tabs. A field is a list "a,b,c" of elements; an element is `*`, a number, a range "a-b", or
// a step "*/n" or "a-b/n". Ranges are 0-59, 0-23, 1-31, 1-12 (or JAN-DEC) and 0-7 (or
// SUN-SAT; 0 and 7 are Sunday); names are case-insensitive and allowed in ranges. Nicknames:
// @yearly (@annually), @monthly, @weekly, @daily (@midnight), @hourly. Refused: @reboot, six
// or seven fields (seconds, years), empty list elements, steps outside 1..span, reversed
// ranges, anything else, and expressions over 256 bytes.
//
// Day rule (Vixie cron): when day-of-month and day-of-week are both restricted, a day matches
// if either matches; when either is written with a leading `*` (so `*/2` too), both must.
//
// Time zones and daylight saving time, as cronie/Vixie cron. A schedule is *wildcard* when
// its minute or hour field starts with `*` ("*/15 * * * *", "0 * * * *", "*/5 3 * * *"),
// *fixed* otherwise ("30 2 * * *", "0 8-18 * * 1-5", @daily).
//  - a local time skipped by a forward jump (Europe/Paris, last Sunday of March, 02:00 →
//    03:00): a fixed schedule fires once at the first instant after the gap (03:00 local,
//    01:00 UTC), however many of its times fell in the gap; a wildcard one skips them;
//  - a local time repeated by a backward jump (last Sunday of October, 03:00 → 02:00): a fixed
//    schedule fires at the first occurrence only; a wildcard one fires at both.
// Fire times are instants: two that coincide (a gap fire and a 03:00 time) fire once.
// Known limit: the date library does not read the zone files' rule for years after their
// last listed transition (2037 in Debian's tzdata), so later years stay on that offset.
//
// Nothing here throws. Threading: every function is pure and thread-safe; a Zone is a cheap
// handle to the process-wide, immutable zone database and may be shared.
#pragma once

#include <bitset>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace date {
class time_zone;
}

namespace hecs::cron {

constexpr std::size_t kMaxExpressionBytes = 256;
// next_fire looks this far past `after`: five years, enough to reach the next 29 February.
constexpr std::chrono::days kHorizon{1827};

struct Schedule {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days_of_month;   // bits 1..31
  std::bitset<13> months;          // bits 1..12
  std::bitset<7> days_of_week;     // bit 0 = Sunday
  bool day_of_month_star = false;  // the field starts with `*` (day rule)
  bool day_of_week_star = false;
  bool wildcard = false;  // the minute or hour field starts with `*` (DST rule)

  friend bool operator==(const Schedule&, const Schedule&) = default;
};

// Errc::invalid_input; the message names the field: "minute: 61 out of range 0..59".
Result<Schedule> parse(std::string_view expression);

// A time zone of the system database. The default Zone is UTC and needs no database.
class Zone {
 public:
  Zone() = default;
  // "Europe/Paris", "America/New_York", "UTC". Errc::invalid_input for a name the database does
  // not hold, and for "localtime" (the host's own zone: a schedule must not depend on the host).
  static Result<Zone> locate(std::string_view name);

  std::string_view name() const;
  const date::time_zone* get() const { return zone_; }  // nullptr for UTC

 private:
  explicit Zone(const date::time_zone* zone) : zone_(zone) {}
  const date::time_zone* zone_ = nullptr;
};

// Zone::locate without the handle, to validate input.
Result<void> check_zone(std::string_view name);

// The first fire strictly after `after`, evaluated in `zone`; nullopt when there is none within
// kHorizon (e.g. "0 0 30 2 *"), or when `after` is outside 1970..9999.
std::optional<std::chrono::sys_seconds> next_fire(const Schedule& schedule,
                                                  std::chrono::sys_seconds after,
                                                  const Zone& zone = {});

// The fires in (from_exclusive, to_inclusive], oldest first, at most `max` of them: what a
// scheduler missed while it was down.
std::vector<std::chrono::sys_seconds> fires_between(const Schedule& schedule,
                                                    std::chrono::sys_seconds from_exclusive,
                                                    std::chrono::sys_seconds to_inclusive,
                                                    const Zone& zone, std::size_t max);

}  // namespace hecs::cron
