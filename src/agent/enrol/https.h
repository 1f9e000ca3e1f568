// A minimal HTTPS client for enrolment (module-internal): one request per connection, on the
// agent's io_context, Boost.Beast over asio::ssl. Small on purpose: the agent must stay within
// its memory budget, so no libcurl (bench/footprint.sh).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "agent/enrol/enrol.h"
#include "common/result.h"

namespace hecs::agent::enrol {

struct HttpsResponse {
  int status = 0;
  std::string body;
  std::string retry_after;  // the Retry-After header, when sent
};

struct HttpsRequest {
  std::string method = "GET";
  std::string target;  // "/api/v1/enroll"
  std::string body;    // JSON when not empty
};

class HttpsClient {
 public:
  explicit HttpsClient(boost::asio::io_context& io) : io_(io) {}

  // `ca_pem` empty: the server is not verified (only to fetch the CA, which the caller then
  // checks against its pin). Otherwise its certificate must chain to `ca_pem` and name the host.
  // Errc::unavailable for network and TLS failures, Errc::timeout after `timeout`.
  boost::asio::awaitable<Result<HttpsResponse>> request(ControlUrl url, std::string ca_pem,
                                                        HttpsRequest message,
                                                        std::chrono::seconds timeout);
  // Ends the request in progress, if any (it returns Errc::unavailable).
  void cancel();

 private:
  struct Exchange;
  boost::asio::io_context& io_;
  std::weak_ptr<Exchange> current_;
};

}  // namespace hecs::agent::enrol
