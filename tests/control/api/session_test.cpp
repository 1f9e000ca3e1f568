// Logins, sessions, CSRF and API keys over the API (S39–S42).
#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "control/api/api_fixture.h"

namespace hecs::control::api::test {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;

using Sessions = ApiFixture;

TEST_F(Sessions, ACookieLoginSetsAHostOnlySecureHttpOnlyStrictCookie) {  // S41
  auto r = login("admin", admin_password_);
  ASSERT_EQ(r.status, 201) << r.raw.body;
  const std::string cookie = r.header("Set-Cookie");
  EXPECT_THAT(cookie, ::testing::StartsWith("__Host-hecs_session=hecss_"));
  for (const char* attribute : {"; Path=/", "; Secure", "; HttpOnly", "; SameSite=Strict"}) {
    EXPECT_THAT(cookie, HasSubstr(attribute));
  }
  EXPECT_THAT(cookie, Not(HasSubstr("Domain=")));
  EXPECT_FALSE(r.body.as_object().contains("token"));  // the token is only in the cookie
  auto me = get("/api/v1/auth/me", session_of(r));
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(me.body.at("username"), "admin");
  EXPECT_EQ(me.body.at("role"), "superadmin");
}

TEST_F(Sessions, ACookieSessionChangesStateOnlyWithItsCsrfTokenAndNeverCrossSite) {  // S41
  Cred s = session_of(login("admin", admin_password_));
  const std::string body = json::serialize(json::object{{"name", "ci"}, {"role", "viewer"}});
  Cred no_token = s;
  no_token.csrf.clear();
  EXPECT_EQ(call("POST", "/api/v1/keys", no_token, body).status, 403);
  Cred wrong = s;
  // One character changed (a token that happened to start with 'x' once made this the token).
  wrong.csrf[0] = s.csrf[0] == 'x' ? 'y' : 'x';
  EXPECT_EQ(call("POST", "/api/v1/keys", wrong, body).status, 403);
  EXPECT_EQ(call("POST", "/api/v1/keys", s, body, {{"sec-fetch-site", "cross-site"}}).status, 403);
  EXPECT_EQ(get("/api/v1/keys", super_).body.at("items").as_array().size(), 1u);  // nothing made
  EXPECT_EQ(get("/api/v1/keys", no_token).status, 200);  // reading needs no token
  EXPECT_EQ(call("POST", "/api/v1/keys", s, body, {{"sec-fetch-site", "same-origin"}}).status, 201);
}

TEST_F(Sessions, ACrossSiteLoginIsRefused) {  // S41: login CSRF
  auto r = call("POST", "/api/v1/auth/login", {},
                json::serialize(json::object{{"username", "admin"}, {"password", admin_password_}}),
                {{"sec-fetch-site", "cross-site"}});
  EXPECT_EQ(r.status, 403);
  EXPECT_TRUE(r.header("Set-Cookie").empty());
}

TEST_F(Sessions, LoginRotatesTheSessionTheRequestCameWith) {  // S41
  Cred planted = session_of(login("admin", admin_password_));
  // A second login presenting the first session's cookie: that session ends.
  auto again =
      call("POST", "/api/v1/auth/login", planted,
           json::serialize(json::object{{"username", "admin"}, {"password", admin_password_}}));
  ASSERT_EQ(again.status, 201);
  Cred fresh = session_of(again);
  EXPECT_NE(fresh.cookie, planted.cookie);
  EXPECT_EQ(get("/api/v1/auth/me", planted).status, 401);
  EXPECT_EQ(get("/api/v1/auth/me", fresh).status, 200);
}

TEST_F(Sessions, ATokenSessionWorksAsBearerOnlyAndLogoutEndsIt) {
  Cred t = session_of(login("admin", admin_password_, "token"));
  ASSERT_FALSE(t.bearer.empty());
  EXPECT_EQ(get("/api/v1/auth/me", t).status, 200);
  EXPECT_EQ(get("/api/v1/auth/me", Cred{"", t.bearer, ""}).status, 401);  // not as a cookie
  EXPECT_EQ(call("POST", "/api/v1/auth/logout", t).status, 204);
  EXPECT_EQ(get("/api/v1/auth/me", t).status, 401);
}

TEST_F(Sessions, SessionsExpireWhenIdleAndAfterTheirLifetime) {
  Cred t = session_of(login("admin", admin_password_, "token"));
  clock_.now += 59 * 60 * 1000;
  EXPECT_EQ(get("/api/v1/auth/me", t).status, 200);  // and this request counts as activity
  clock_.now += 59 * 60 * 1000;
  EXPECT_EQ(get("/api/v1/auth/me", t).status, 200);
  clock_.now += 61 * 60 * 1000;  // idle over an hour
  EXPECT_EQ(get("/api/v1/auth/me", t).status, 401);
  Cred u = session_of(login("admin", admin_password_, "token"));
  for (int i = 0; i < 14; ++i) {  // active all along, but 12 h is the most
    clock_.now += 55 * 60 * 1000;
    get("/api/v1/auth/me", u);
  }
  EXPECT_EQ(get("/api/v1/auth/me", u).status, 401);
}

TEST_F(Sessions, SessionsAreListedAndOneCanBeRevoked) {
  Cred one = session_of(login("admin", admin_password_, "token"));
  Cred two = session_of(login("admin", admin_password_, "token"));
  auto list = get("/api/v1/sessions", one);
  ASSERT_EQ(list.status, 200);
  auto items = list.body.at("items").as_array();
  ASSERT_EQ(items.size(), 2u);
  std::string other;
  for (const auto& s : items) {
    if (!s.at("current").as_bool()) {
      other = std::string(s.at("id").as_string());
    }
    EXPECT_EQ(s.at("source"), "198.51.100.7");
  }
  ASSERT_FALSE(other.empty());
  EXPECT_EQ(call("DELETE", "/api/v1/sessions/" + other, one).status, 200);
  EXPECT_EQ(get("/api/v1/auth/me", two).status, 401);
  EXPECT_EQ(get("/api/v1/auth/me", one).status, 200);
}

TEST_F(Sessions, APasswordChangeEndsTheUsersOtherSessions) {
  Cred keep = session_of(login("admin", admin_password_, "token"));
  Cred other = session_of(login("admin", admin_password_, "token"));
  const std::string next = "a brand new passphrase";
  auto wrong =
      call("POST", "/api/v1/auth/password", keep,
           json::serialize(json::object{{"current_password", "nope"}, {"new_password", next}}));
  EXPECT_EQ(wrong.status, 403);
  auto weak = call("POST", "/api/v1/auth/password", keep,
                   json::serialize(json::object{{"current_password", admin_password_},
                                                {"new_password", "short"}}));
  EXPECT_EQ(weak.status, 400);
  auto ok = call(
      "POST", "/api/v1/auth/password", keep,
      json::serialize(json::object{{"current_password", admin_password_}, {"new_password", next}}));
  ASSERT_EQ(ok.status, 204) << ok.raw.body;
  EXPECT_EQ(get("/api/v1/auth/me", keep).status, 200);
  EXPECT_EQ(get("/api/v1/auth/me", other).status, 401);
  EXPECT_EQ(login("admin", admin_password_).status, 401);
  EXPECT_EQ(login("admin", next).status, 201);
}

TEST_F(Sessions, RepeatedFailedLoginsAreThrottledPerAccountAndPerAddress) {  // S39
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(login("admin", "wrong password " + std::to_string(i)).status, 401);
  }
  auto blocked = login("admin", admin_password_);  // even the right password, for now
  EXPECT_EQ(blocked.status, 429);
  EXPECT_GT(std::stoi(blocked.header("Retry-After")), 0);
  EXPECT_EQ(login("admin", admin_password_, "cookie", "203.0.113.9:1000").status,
            429);  // per account
  clock_.now += 15 * 60 * 1000;
  EXPECT_EQ(login("admin", admin_password_).status, 201);
  // Per address: many accounts from one address.
  for (int i = 0; i < 20; ++i) {
    login("nobody-" + std::to_string(i), "wrong", "cookie", "192.0.2.1:5000");
  }
  EXPECT_EQ(login("admin", admin_password_, "cookie", "192.0.2.1:5001").status, 429);
  EXPECT_EQ(login("admin", admin_password_, "cookie", "192.0.2.2:5001").status, 201);
}

TEST_F(Sessions, AnUnknownUserGetsTheSameAnswerInTheSameTimeAsAWrongPassword) {  // S40
  auto time_of = [&](const std::string& user, const std::string& remote) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = login(user, "not the password", "cookie", remote);
    auto t1 = std::chrono::steady_clock::now();
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.body.at("detail"), "invalid username or password");
    return std::chrono::duration<double>(t1 - t0).count();
  };
  std::vector<double> unknown, wrong;
  for (int i = 0; i < 4; ++i) {  // below the throttle's limits
    unknown.push_back(
        time_of("nobody-" + std::to_string(i), "192.0.2." + std::to_string(i) + ":1"));
    wrong.push_back(time_of("admin", "192.0.2." + std::to_string(10 + i) + ":1"));
  }
  std::sort(unknown.begin(), unknown.end());
  std::sort(wrong.begin(), wrong.end());
  // Both run one Argon2id verification; a shortcut for unknown users would answer in
  // microseconds, so a factor of four leaves room for the load of tests running beside.
  EXPECT_GT(unknown[2], wrong[1] / 4);
  EXPECT_GT(wrong[2], unknown[1] / 4);
}

TEST_F(Sessions, AKeyIsShownOnceStoredAsAHashAndRevokedAtOnce) {  // S42
  auto made = post("/api/v1/keys", super_, json::object{{"name", "deploy"}, {"role", "viewer"}});
  ASSERT_EQ(made.status, 201);
  const std::string key(made.body.at("key").as_string());
  EXPECT_THAT(key, ::testing::StartsWith("hecs_"));
  const std::string id(made.body.at("id").as_string());
  auto shown = get("/api/v1/keys/" + id, super_);
  EXPECT_FALSE(shown.body.as_object().contains("key"));
  EXPECT_EQ(shown.body.at("prefix"), json::value(key.substr(0, 11)));
  EXPECT_TRUE(shown.body.at("expires_at").is_string());
  Cred k{key, "", ""};
  EXPECT_EQ(get("/api/v1/devices", k).status, 200);
  EXPECT_EQ(call("DELETE", "/api/v1/keys/" + id, super_).status, 200);
  EXPECT_EQ(get("/api/v1/devices", k).status, 401);
  // The attempt is in the audit log: someone holds a revoked key.
  auto audit = get("/api/v1/audit?action=auth.revoked_key_used", super_);
  ASSERT_EQ(audit.body.at("items").as_array().size(), 1u);
  EXPECT_EQ(audit.body.at("items").at(0).at("actor"), json::value("key:" + id));
}

TEST_F(Sessions, ARotatedKeyKeepsWorkingForTheOverlapThenStops) {
  auto made = post("/api/v1/keys", super_, json::object{{"name", "ci"}, {"role", "admin"}});
  Cred old{std::string(made.body.at("key").as_string()), "", ""};
  const std::string id(made.body.at("id").as_string());
  auto rotated = post("/api/v1/keys/" + id + "/rotate", super_, json::object{{"overlap_s", 3600}});
  ASSERT_EQ(rotated.status, 201) << rotated.raw.body;
  Cred next{std::string(rotated.body.at("key").as_string()), "", ""};
  EXPECT_EQ(rotated.body.at("role"), "admin");
  EXPECT_EQ(get("/api/v1/devices", old).status, 200);
  EXPECT_EQ(get("/api/v1/devices", next).status, 200);
  EXPECT_EQ(post("/api/v1/keys/" + id + "/rotate", super_, json::object{}).status, 409);
  clock_.now += 3601 * 1000;
  EXPECT_EQ(get("/api/v1/devices", old).status, 401);
  EXPECT_EQ(get("/api/v1/devices", next).status, 200);
  auto listed = get("/api/v1/keys/" + id, super_);
  EXPECT_EQ(listed.body.at("state"), "expired");
}

TEST_F(Sessions, TheLastOwnerCanNeitherBeDemotedNorDisabled) {
  auto t = make_tenant("solo");
  auto me = t.owner_user_id;
  // The owner cannot change itself; another owner can't demote the last one either.
  EXPECT_EQ(call("PATCH", "/api/v1/users/" + me, t.owner,
                 json::serialize(json::object{{"role", "admin"}}))
                .status,
            409);
  auto second =
      post("/api/v1/users", t.owner,
           json::object{
               {"username", "solo-2"}, {"password", "another long password"}, {"role", "owner"}});
  ASSERT_EQ(second.status, 201);
  EXPECT_EQ(call("PATCH", "/api/v1/users/" + me, t.owner_session,
                 json::serialize(json::object{{"disabled", true}}))
                .status,
            409);  // not oneself
  auto demoted = call("PATCH", "/api/v1/users/" + me, t.owner,
                      json::serialize(json::object{{"role", "viewer"}}));
  EXPECT_EQ(demoted.status, 200) << demoted.raw.body;  // there is another owner now
  auto audit = get("/api/v1/audit?action=users.role_change", t.owner);
  ASSERT_EQ(audit.body.at("items").as_array().size(), 1u);
  EXPECT_THAT(std::string(audit.body.at("items").at(0).at("detail").as_string()),
              HasSubstr(R"("role_to":"viewer")"));
}

}  // namespace
}  // namespace hecs::control::api::test
