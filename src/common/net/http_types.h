// Plain HTTP request and response types: what route handlers see, without Asio or Beast
// (DESIGN §9 build hygiene).
#pragma once

#include <functional>
#include <memory>
#include <optional>
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

// A response body produced over time (server-sent events, text/event-stream). The server
// sends the head (status, headers, Transfer-Encoding: chunked), then calls pull() each time
// the previous piece is on the wire. The stream answers each pull by calling `deliver` exactly
// once, from any thread, whenever it likes: with text to send as one chunk; with an empty string,
// meaning "nothing new" (the server then sends the SSE comment ": keepalive\n\n", so the stream
// should deliver "" about every 15 s when idle); or with std::nullopt: the end (the server
// finishes the chunked body, and the connection may be reused). close() is called exactly once
// when the stream ends for any reason: after nullopt, when the client goes away, or when the
// server stops; after close() a pending deliver may still be called and must be harmless.
// pull() and close() never overlap but may come from different threads (close() from the one
// calling HttpServer::stop()); neither should block for long.
class BodyStream {
 public:
  BodyStream() = default;
  BodyStream(const BodyStream&) = delete;
  BodyStream(BodyStream&&) = delete;
  BodyStream& operator=(const BodyStream&) = delete;
  BodyStream& operator=(BodyStream&&) = delete;
  virtual ~BodyStream() = default;
  virtual void pull(std::function<void(std::optional<std::string>)> deliver) = 0;
  virtual void close() = 0;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the body is this stream and `body` is ignored (HEAD: headers only, then close()).
  std::shared_ptr<BodyStream> stream;
};

// An RFC 9457 problem (application/problem+json) with a stable `code` member.
Response problem(int status, std::string_view code, std::string_view title,
                 std::string_view detail = {});

// Percent-decodes; Errc::invalid_input on a bad escape or a decoded NUL.
Result<std::string> url_decode(std::string_view text, bool plus_is_space);

}  // namespace hecs::net
