// Fuzz target for cron expressions (src/common/cron): whatever text an operator sends as a
// schedule, parse returns a Result and never crashes, and what it accepts gives fire times that
// are strictly after their start, in order, within the horizon, found in bounded time, in UTC
// and in Europe/Paris.
//
// Input: the first line is the expression; the bytes after it (or, without a newline, the
// expression itself) pick the start time between 1970 and 2100.
// Built twice by CMakeLists.txt: by clang with libFuzzer (cron_fuzz) and by g++ with
// replay_main.cpp (fuzz_replay_cron, which runs the stored corpus in every unit test run).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/cron/cron.h"

namespace {

using std::chrono::sys_seconds;

// A broken invariant, not an input problem: make libFuzzer keep the input and stop.
[[noreturn]] void invariant_broken() { std::abort(); }

std::uint64_t fnv1a(std::string_view bytes) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (char c : bytes) {
    hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  }
  return hash;
}

void check_fires(const hecs::cron::Schedule& schedule, sys_seconds after,
                 const hecs::cron::Zone& zone) {
  sys_seconds t = after;
  std::size_t found = 0;
  for (; found < 4; ++found) {
    const auto next = hecs::cron::next_fire(schedule, t, zone);
    if (!next) {
      break;
    }
    if (*next <= t || *next > t + hecs::cron::kHorizon) {
      invariant_broken();
    }
    t = *next;
  }
  const auto until = after + std::chrono::days{3};
  const auto fires = hecs::cron::fires_between(schedule, after, until, zone, 16);
  sys_seconds previous = after;
  for (const auto fire : fires) {
    if (fire <= previous || fire > until) {
      invariant_broken();
    }
    previous = fire;
  }
  const auto first = hecs::cron::next_fire(schedule, after, zone);
  if (!fires.empty() && (!first || *first != fires.front())) {
    invariant_broken();
  }
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string_view expression = input.substr(0, newline);
  const std::string_view seed =
      newline == std::string_view::npos ? expression : input.substr(newline + 1);

  auto schedule = hecs::cron::parse(expression);
  if (!schedule) {
    if (schedule.error().code != hecs::Errc::invalid_input || schedule.error().message.empty()) {
      invariant_broken();
    }
    return 0;
  }
  constexpr std::int64_t kSpan = 130LL * 365 * 24 * 3600;  // 1970..2100
  const sys_seconds after{std::chrono::seconds{static_cast<std::int64_t>(fnv1a(seed) % kSpan)}};
  static const hecs::cron::Zone paris = [] {
    auto zone = hecs::cron::Zone::locate("Europe/Paris");
    if (!zone) {
      invariant_broken();  // the time zone database is missing: nothing to fuzz
    }
    return *zone;
  }();
  check_fires(*schedule, after, hecs::cron::Zone{});
  check_fires(*schedule, after, paris);
  return 0;
}
