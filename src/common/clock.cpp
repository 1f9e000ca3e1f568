#include "common/clock.h"

#include <array>
#include <cerrno>
#include <ctime>

#include <fmt/format.h>
#include <sys/random.h>

#include "common/result.h"

namespace hecs {

std::int64_t SystemClock::now_ms() const {
  using namespace std::chrono;  // NOLINT(google-build-using-namespace): local, for readability
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string format_rfc3339_ms(std::int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  auto ms = static_cast<int>(unix_ms % 1000);
  if (ms < 0) {
    ms += 1000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

std::string random_uuid() {
  // The kernel's CSPRNG directly: 16 bytes never come back short, and going through OpenSSL
  // here would load and initialise libcrypto's providers in processes that need nothing else
  // of it (about 2 MiB of the agent's resident memory; bench/RESULTS.md).
  std::array<unsigned char, 16> b{};
  ssize_t got = -1;
  do {
    got = getrandom(b.data(), b.size(), 0);
  } while (got < 0 && errno == EINTR);
  HECS_CHECK(got == static_cast<ssize_t>(b.size()), "kernel CSPRNG unavailable");
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      out += '-';
    }
    out += fmt::format("{:02x}", b[i]);
  }
  return out;
}

bool is_uuid(std::string_view text) {
  if (text.size() != 36) {
    return false;
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') {
        return false;
      }
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

}  // namespace hecs
