// A blocking HTTPS/HTTP client (GET, POST, PUT and PATCH of JSON, DELETE) over one libcurl easy
// handle, with the bearer credential attached.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace hecs::cli {

struct HttpResponse {
  long status = 0;  // NOLINT(google-runtime-int): libcurl's type for the status code
  std::string content_type;
  std::string body;
  std::string retry_after;  // the Retry-After header (429, 503), "" when absent
};

// Percent-encodes everything but RFC 3986 unreserved characters: for a query value or a single
// path segment.
std::string url_encode(std::string_view text);

class HttpClient {
 public:
  struct Options {
    std::string base_url;   // "http(s)://host:port[/prefix]", no trailing slash
    std::string api_key;    // an API key or session token, sent as "Authorization: Bearer
                            // <key>", never logged; empty: no Authorization header
    std::string ca_file{};  // the only CA trusted for https; empty: the system trust store
    std::chrono::seconds timeout{30};
  };

  // Errc::internal if libcurl cannot start.
  static Result<HttpClient> create(Options options);

  // GET base_url + target ("/api/v1/..."); any HTTP status is returned as a response.
  // Errc::unavailable: cannot connect or resolve; Errc::timeout: no full answer in time;
  // Errc::corrupt: body over 64 MiB; Errc::unauthorized: the server's TLS certificate does not
  // verify (the message suggests --ca-file). Messages name the base url, never the key.
  Result<HttpResponse> get(std::string_view target);
  // POST with `json_body` as application/json; errors as for get(). Never retried.
  Result<HttpResponse> post(std::string_view target, std::string_view json_body);
  // PUT with `json_body` as application/json; errors as for get(). Never retried.
  Result<HttpResponse> put(std::string_view target, std::string_view json_body);
  // PATCH with `json_body` as application/json; errors as for get(). Never retried.
  Result<HttpResponse> patch(std::string_view target, std::string_view json_body);
  // DELETE without a body; errors as for get().
  Result<HttpResponse> del(std::string_view target);

  const std::string& base_url() const { return options_.base_url; }
  // Whether the credential is a login session's token ("hecss_…"), which expires.
  bool sends_session_token() const { return options_.api_key.starts_with("hecss_"); }

  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  ~HttpClient();

 private:
  struct Handles;
  HttpClient(Options options, std::unique_ptr<Handles> handles);
  Result<HttpResponse> perform(std::string_view method, std::string_view target,
                               std::string_view json_body);

  Options options_;
  std::unique_ptr<Handles> handles_;
};

}  // namespace hecs::cli
