// Plain HTTP request and response types: what route handlers see, without Asio or Beast
// (DESIGN §9 build hygiene).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace hecs::net {

struct Request {
  std::string method;  // "GET"
  std::string target;  // raw request target, "/api/v1/devices?limit=5"
  std::string path;    // percent-decoded path, "/api/v1/devices"
  std::vector<std::pair<std::string, std::string>> query;    // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string remote;  // "127.0.0.1:51234"

  // First value of a query parameter / header (name lower-case), or nullptr.
  const std::string* query_param(std::string_view name) const;
  const std::string* header(std::string_view lower_name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// An RFC 9457 problem (application/problem+json) with a stable `code` member.
Response problem(int status, std::string_view code, std::string_view title,
                 std::string_view detail = {});

// Percent-decodes; Errc::invalid_input on a bad escape or a decoded NUL.
Result<std::string> url_decode(std::string_view text, bool plus_is_space);

}  // namespace hecs::net
