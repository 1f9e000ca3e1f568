// Fire times of a schedule in a time zone (cron.h), and the zone handles.
//
// The UTC time line is cut into segments of constant UTC offset (date::sys_info). Within one
// segment local time is UTC plus the offset, one to one, so the fires of a segment are its
// matching local minutes in order. Local times that no segment holds (a forward jump) are the
// gap after a segment; local times two segments hold (a backward jump) are ambiguous, and a
// fixed schedule keeps the first. Walking the segments in order gives the fires in order.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>

#include "common/cron/cron.h"

namespace hecs::cron {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using std::chrono::sys_seconds;
using LocalSeconds = date::local_seconds;
using LocalMinutes = date::local_time<minutes>;

constexpr sys_seconds kEarliest = date::sys_days{date::year{1970} / 1 / 1};
constexpr sys_seconds kLatest = date::sys_days{date::year{9999} / 1 / 1};
constexpr std::size_t kMaxZoneName = 64;

struct Segment {
  sys_seconds end;  // exclusive; sys_seconds::max() for the last one
  seconds offset;   // local time minus UTC
};

Segment segment_at(const Zone& zone, sys_seconds t) {
  if (zone.get() == nullptr) {
    return {sys_seconds::max(), seconds{0}};
  }
  const date::sys_info info = zone.get()->get_info(t);
  return {info.end, info.offset};
}

LocalSeconds to_local(sys_seconds t, seconds offset) {
  return LocalSeconds{t.time_since_epoch() + offset};
}

sys_seconds to_sys(LocalSeconds t, seconds offset) {
  return sys_seconds{t.time_since_epoch() - offset};
}

// True when local time `t`, read with `offset`, is the second of two occurrences.
bool is_repeat(const Zone& zone, LocalSeconds t, seconds offset) {
  if (zone.get() == nullptr) {
    return false;
  }
  const date::local_info info = zone.get()->get_info(t);
  return info.result == date::local_info::ambiguous && info.second.offset == offset;
}

bool day_matches(const Schedule& s, const date::year_month_day& ymd, date::weekday weekday) {
  const bool dom = s.days_of_month[static_cast<unsigned>(ymd.day())];
  const bool dow = s.days_of_week[weekday.c_encoding()];
  if (s.day_of_month_star || s.day_of_week_star) {
    return dom && dow;
  }
  return dom || dow;
}

// The first minute of the day at or after `minute_of_day` whose hour and minute match.
std::optional<int> first_minute_in_day(const Schedule& s, int minute_of_day) {
  for (int hour = minute_of_day / 60; hour < 24; ++hour) {
    if (!s.hours[static_cast<std::size_t>(hour)]) {
      continue;
    }
    const int first = hour == minute_of_day / 60 ? minute_of_day % 60 : 0;
    for (int minute = first; minute < 60; ++minute) {
      if (s.minutes[static_cast<std::size_t>(minute)]) {
        return hour * 60 + minute;
      }
    }
  }
  return std::nullopt;
}

// The first local minute at or after `from` that matches, if it is before `bound`.
std::optional<LocalMinutes> next_match(const Schedule& s, LocalMinutes from, LocalSeconds bound) {
  auto day = std::chrono::floor<date::days>(from);
  auto minute_of_day = static_cast<int>((from - day).count());
  while (day < bound) {
    const date::year_month_day ymd{day};
    if (!s.months[static_cast<unsigned>(ymd.month())]) {
      day = date::local_days{date::year_month_day{ymd.year() / ymd.month() / 1} + date::months{1}};
      minute_of_day = 0;
      continue;
    }
    if (day_matches(s, ymd, date::weekday{day})) {
      if (const auto minute = first_minute_in_day(s, minute_of_day)) {
        const LocalMinutes t = day + minutes{*minute};
        return t < bound ? std::optional<LocalMinutes>(t) : std::nullopt;
      }
    }
    day += date::days{1};
    minute_of_day = 0;
  }
  return std::nullopt;
}

bool valid_zone_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxZoneName) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '/' || c == '_' || c == '-' ||
           c == '+';
  });
}

}  // namespace

Result<Zone> Zone::locate(std::string_view name) {
  if (name == "UTC") {
    return Zone{};
  }
  if (!valid_zone_name(name)) {
    return fail(Errc::invalid_input,
                "time zone: invalid name, expected a database name such as Europe/Paris");
  }
  if (name == "localtime") {
    return fail(Errc::invalid_input,
                "time zone: \"localtime\" depends on the host, name the zone (Europe/Paris)");
  }
  try {
    date::get_tzdb();
  } catch (const std::exception& e) {
    return fail(Errc::internal, fmt::format("time zone database: {}", e.what()));
  }
  try {
    const date::time_zone* zone = date::locate_zone(name);
    // Reads the zone's file now, so that no later call on the handle can throw.
    (void)zone->get_info(kEarliest);
    return Zone{zone};
  } catch (const std::exception&) {
    return fail(Errc::invalid_input, fmt::format("time zone: unknown \"{}\"", name));
  }
}

std::string_view Zone::name() const {
  if (zone_ == nullptr) {
    return "UTC";
  }
  return zone_->name();
}

Result<void> check_zone(std::string_view name) {
  auto zone = Zone::locate(name);
  if (!zone) {
    return tl::unexpected(std::move(zone.error()));
  }
  return {};
}

std::optional<sys_seconds> next_fire(const Schedule& schedule, sys_seconds after,
                                     const Zone& zone) {
  if (after < kEarliest || after >= kLatest) {
    return std::nullopt;
  }
  const sys_seconds horizon = after + kHorizon;
  Segment segment = segment_at(zone, after);
  sys_seconds lower = after;  // exclusive
  for (;;) {
    const sys_seconds end = std::min(segment.end, horizon);
    const LocalSeconds local_end = to_local(end, segment.offset);
    LocalMinutes from = std::chrono::floor<minutes>(to_local(lower, segment.offset)) + minutes{1};
    while (auto t = next_match(schedule, from, local_end)) {
      if (schedule.wildcard || !is_repeat(zone, *t, segment.offset)) {
        return to_sys(*t, segment.offset);
      }
      from = *t + minutes{1};
    }
    if (segment.end >= horizon) {
      return std::nullopt;
    }
    const Segment next = segment_at(zone, segment.end);
    if (!schedule.wildcard && next.offset > segment.offset) {
      const LocalMinutes gap_start =
          std::chrono::ceil<minutes>(to_local(segment.end, segment.offset));
      if (next_match(schedule, gap_start, to_local(segment.end, next.offset))) {
        return segment.end;  // the first instant after the gap
      }
    }
    lower = segment.end - seconds{1};
    segment = next;
  }
}

std::vector<sys_seconds> fires_between(const Schedule& schedule, sys_seconds from_exclusive,
                                       sys_seconds to_inclusive, const Zone& zone,
                                       std::size_t max) {
  std::vector<sys_seconds> fires;
  sys_seconds after = from_exclusive;
  while (fires.size() < max) {
    const auto next = next_fire(schedule, after, zone);
    if (!next || *next > to_inclusive) {
      break;
    }
    fires.push_back(*next);
    after = *next;
  }
  return fires;
}

}  // namespace hecs::cron
