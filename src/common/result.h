// Errors as values (CONVENTIONS §3). Every fallible HECS function returns Result<T>.
#pragma once

#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace hecs {

enum class Errc {  // what the caller can do, not where it failed
  invalid_input,   // reject, never retry (HTTP 400; message dropped and counted)
  unauthorized,    // 401: who is calling is not established (signature, key, session)
  forbidden,       // 403: the caller is known but may not do this (role, CSRF)
  not_found,       // 404
  conflict,        // 409: stale version, replayed seq, duplicate id
  unavailable,     // retry with backoff: broker down, database busy
  timeout,         // retry, perhaps with a longer deadline
  corrupt,         // stored data damaged: quarantine and alert
  internal,        // our bug: 500 and a loud log
};

struct Error {
  Errc code = Errc::internal;
  std::string message;  // lower case, no final period, safe to show an operator
};

template <class T = void>  // a type, not an alias, so that [[nodiscard]] holds
struct [[nodiscard]] Result : tl::expected<T, Error> {
  using tl::expected<T, Error>::expected;
};

tl::unexpected<Error> fail(Errc code, std::string message);
// Prefixes what was being done: fail(err, "enrol") gives "enrol: <err.message>".
tl::unexpected<Error> fail(Error error, std::string_view doing);

std::string_view errc_name(Errc code);

}  // namespace hecs

// Aborts in every build: for broken invariants (our bugs), never for input.
#define HECS_CHECK(cond, why)                               \
  do {                                                      \
    if (!(cond)) {                                          \
      ::hecs::check_failed(#cond, why, __FILE__, __LINE__); \
    }                                                       \
  } while (0)

namespace hecs {
[[noreturn]] void check_failed(const char* cond, const char* why, const char* file, int line);
}
