// The hecs-control REST calls hecsctl makes, as JSON documents checked for their outer shape.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "cli/http_client.h"
#include "common/result.h"

namespace hecs::cli {

struct DeviceQuery {
  std::optional<bool> online;  // online=true|false
  std::string text;            // q=, empty for none
  int limit = 0;               // limit=, 0 for the server's default
  std::string cursor;          // cursor=, from a previous page's next_cursor
};

// "/api/v1/devices?limit=50&online=true&q=pi" with each value percent-encoded.
std::string devices_target(const DeviceQuery& query);

// The one-line text of a failed answer: "<title>: <detail> (HTTP 404)" from an RFC 9457 problem,
// or "<reason> (HTTP 502)" when the body is not one. Server text is escaped for a terminal.
std::string describe_http_error(long status, std::string_view body);  // NOLINT(google-runtime-int)

enum class Method { get, post, put, patch, del };

// One REST call whose 2xx answer must be a JSON object (204 No Content reads as {}); `body`
// (POST and PATCH) is sent as JSON, "{}" when null. Errors: those of HttpClient; a non-2xx
// answer maps to the Errc of its status with describe_http_error() as the message (and "retry
// in Ns" when the server sent Retry-After, a hint to log in again for a refused session
// token); a 2xx answer that is not a JSON object is Errc::corrupt. With `problem`, a non-2xx
// answer whose body is a JSON object (a problem document) is also stored there, for a caller
// that acts on its "code".
Result<boost::json::value> call_api(HttpClient& http, Method method, const std::string& target,
                                    const boost::json::value* body = nullptr,
                                    boost::json::value* problem = nullptr);

// A GET whose 2xx answer is text (a task's output), returned as the server sent it, not
// escaped. Errors as for call_api().
Result<std::string> call_text(HttpClient& http, const std::string& target);

// call_api() for an answer that must hold an "items" array (Errc::corrupt otherwise).
Result<boost::json::value> call_items(HttpClient& http, const std::string& target);

// The Errc::corrupt error for a 2xx answer that lacks a documented member.
Error missing_member(const HttpClient& http, std::string_view target, std::string_view what);

enum class Decision { accept, reject, revoke };

// Borrows the client, which must outlive it. Errors: those of call_api(); a 2xx answer that is
// not the documented JSON shape is Errc::corrupt.
class DevicesApi {
 public:
  explicit DevicesApi(HttpClient& http) : http_(http) {}

  // One page: {"items":[...],"next_cursor":...,"total":N} as the server sent it.
  Result<boost::json::value> list_page(const DeviceQuery& query);
  // Every page, following next_cursor: {"items":[...],"total":<items collected>}.
  Result<boost::json::value> list_all(DeviceQuery query);
  // One device object.
  Result<boost::json::value> show(std::string_view id);
  // POST /devices/{id}/accept|reject|revoke: {"device_id":...,"state":...}. Errc::conflict when
  // the device's state does not allow it, Errc::not_found for an unknown id.
  Result<boost::json::value> decide(std::string_view id, Decision decision);
  // PUT /devices/{id}/tags: replaces the tags ("key=value" or "key"; none clears them).
  // {"id":...,"tags":[...]} as the server normalised them; Errc::invalid_input for a malformed
  // tag, Errc::not_found for an unknown id.
  Result<boost::json::value> set_tags(std::string_view id, const std::vector<std::string>& tags);

 private:
  HttpClient& http_;
};

}  // namespace hecs::cli
