// Time as an injected dependency, so tests control it (CONVENTIONS §9).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace hecs {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time in unix milliseconds.
  virtual std::int64_t now_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::int64_t now_ms() const override;
};

// "2026-11-25T18:57:30.123Z"
std::string format_rfc3339_ms(std::int64_t unix_ms);

// A random version-4 UUID from the kernel's CSPRNG, in lower-case canonical form.
std::string random_uuid();
// True for a canonical lower-case UUID (8-4-4-4-12 hex digits).
bool is_uuid(std::string_view text);

}  // namespace hecs
