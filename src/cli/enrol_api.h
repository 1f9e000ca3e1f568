// The enrolment side of the hecs-control REST API that hecsctl drives: enrollment tokens and
// the command-signing keys (docs/api.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "cli/api.h"
#include "common/result.h"

namespace hecs::cli {

// POST /api/v1/enrollment-tokens; the server checks every range again.
struct TokenRequest {
  std::int64_t expires_in_s = 86400;  // 60 .. 31536000
  std::int64_t max_uses = 1;          // 1 .. 100000
  std::vector<std::string> tags{};    // <= 32, each 1..64 of A-Za-z0-9_.:=/-
  bool auto_approve = false;
  std::string description{};  // <= 200 bytes
};

// The JSON body for the request, every field set.
boost::json::value token_request_body(const TokenRequest& request);

// Borrows the client, which must outlive it. Errors: those of call_api() (api.h); a 2xx answer
// without the members named below is Errc::corrupt.
class EnrolmentApi {
 public:
  explicit EnrolmentApi(HttpClient& http) : http_(http) {}

  // The new token object, with "token" (its only showing) and "ca_sha256".
  Result<boost::json::value> create_token(const TokenRequest& request);
  // {"items":[token objects]}.
  Result<boost::json::value> list_tokens();
  // The revoked token object; Errc::not_found for an unknown id.
  Result<boost::json::value> revoke_token(std::string_view id);

  // {"items":[{"kid","public_key","state","created_at"}]} for each call. rotate_key adds a
  // "next" key (Errc::conflict when one is already waiting); activate_key makes it the active
  // one (Errc::conflict without a next key).
  Result<boost::json::value> list_keys();
  Result<boost::json::value> rotate_key();
  Result<boost::json::value> activate_key();

 private:
  Result<boost::json::value> items(Method method, const std::string& target);

  HttpClient& http_;
};

}  // namespace hecs::cli
