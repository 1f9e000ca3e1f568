// Who may use hecs-control, over its REST API (docs/api.md): login and sessions, API keys,
// users of a tenant, and tenants (superadmin). Each answer is the server's JSON document,
// checked for the members hecsctl reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "cli/api.h"
#include "cli/http_client.h"
#include "common/result.h"

namespace hecs::cli {

// Whether `text` is a canonical UUID, as the server's ids are.
bool looks_like_uuid(std::string_view text);

// Every class borrows the client, which must outlive it. Errors: those of call_api() (api.h); a
// 2xx answer without the members named below is Errc::corrupt.
class AuthApi {
 public:
  explicit AuthApi(HttpClient& http) : http_(http) {}

  // POST /auth/login in token mode: {"user":{…},"session":{…},"token":"hecss_…",…}.
  // Errc::unauthorized for wrong credentials, Errc::unavailable when throttled (the message
  // says when to retry).
  Result<boost::json::value> login(std::string_view username, std::string_view password);
  // POST /auth/logout: ends the session the client's token belongs to.
  Result<void> logout();
  // GET /auth/me: {"kind","tenant_id","role",…}.
  Result<boost::json::value> me();
  // POST /auth/password (a session only): Errc::forbidden for a wrong current password.
  Result<void> change_password(std::string_view current, std::string_view next);
  // GET /sessions[?all=true]: {"items":[…]}.
  Result<boost::json::value> list_sessions(bool all);
  // DELETE /sessions/{id}: the ended session.
  Result<boost::json::value> revoke_session(std::string_view id);

 private:
  HttpClient& http_;
};

struct NewApiKey {
  std::string name;
  std::string role;
  std::int64_t expires_in_s = 0;  // 60 .. 63244800
};

class ApiKeysApi {
 public:
  explicit ApiKeysApi(HttpClient& http) : http_(http) {}

  Result<boost::json::value> list();                     // {"items":[key objects]}
  Result<boost::json::value> show(std::string_view id);  // one key object
  // The key object plus "key", shown this once.
  Result<boost::json::value> create(const NewApiKey& request);
  Result<boost::json::value> revoke(std::string_view id);  // the revoked key object
  // The new key object plus "key", "replaces" and "old_key_expires_at".
  Result<boost::json::value> rotate(std::string_view id, std::int64_t overlap_s,
                                    std::optional<std::int64_t> expires_in_s);

 private:
  HttpClient& http_;
};

// Users of the caller's tenant (GET, POST /users, GET, PATCH /users/{id}) and tenants (the
// same under /tenants): list() is {"items":[…]}, the others one object with an "id".
class CollectionApi {
 public:
  CollectionApi(HttpClient& http, std::string path) : http_(http), path_(std::move(path)) {}

  Result<boost::json::value> list();
  Result<boost::json::value> show(std::string_view id);
  Result<boost::json::value> create(const boost::json::object& body);
  Result<boost::json::value> update(std::string_view id, const boost::json::object& changes);
  // `text` itself when it looks like a UUID, else the id of the one item whose `name_member`
  // equals it (Errc::not_found when none does).
  Result<std::string> resolve(std::string_view text, std::string_view name_member);

 private:
  Result<boost::json::value> one(Result<boost::json::value> answer, const std::string& target);

  HttpClient& http_;
  std::string path_;  // "/api/v1/users"
};

inline CollectionApi users_api(HttpClient& http) { return {http, "/api/v1/users"}; }
inline CollectionApi tenants_api(HttpClient& http) { return {http, "/api/v1/tenants"}; }

}  // namespace hecs::cli
