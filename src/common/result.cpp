#include "common/result.h"

#include <cstdio>
#include <cstdlib>

namespace hecs {

tl::unexpected<Error> fail(Errc code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

tl::unexpected<Error> fail(Error error, std::string_view doing) {
  error.message = std::string(doing) + ": " + error.message;
  return tl::unexpected<Error>(std::move(error));
}

std::string_view errc_name(Errc code) {
  switch (code) {
    case Errc::invalid_input:
      return "invalid_input";
    case Errc::unauthorized:
      return "unauthorized";
    case Errc::not_found:
      return "not_found";
    case Errc::conflict:
      return "conflict";
    case Errc::unavailable:
      return "unavailable";
    case Errc::timeout:
      return "timeout";
    case Errc::corrupt:
      return "corrupt";
    case Errc::forbidden:
      return "forbidden";
    case Errc::internal:
      return "internal";
  }
  return "internal";
}

void check_failed(const char* cond, const char* why, const char* file, int line) {
  std::fprintf(stderr, "HECS_CHECK failed: %s (%s) at %s:%d\n", cond, why, file, line);
  std::abort();
}

}  // namespace hecs
