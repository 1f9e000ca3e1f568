// Session tokens and authenticate_session, against a real SQLite store.
#include <string>

#include <gtest/gtest.h>

#include "control/auth/auth.h"
#include "support/tempdir.h"

namespace hecs::control::auth {
namespace {

class ManualClock final : public Clock {
 public:
  std::int64_t now_ms() const override { return now; }
  std::int64_t now = 1'800'000'000'000;
};

constexpr std::int64_t kMinute = std::int64_t{60} * 1000;

TEST(SessionToken, IsThePrefixAnd43Base64urlCharacters) {
  const std::string a = generate_session_token();
  const std::string b = generate_session_token();
  EXPECT_NE(a, b);
  ASSERT_EQ(a.size(), 6U + 43U) << a;
  EXPECT_TRUE(a.starts_with("hecss_")) << a;
  EXPECT_EQ(
      a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 6),
      std::string::npos)
      << a;
  EXPECT_TRUE(well_formed_session_token(a));
  EXPECT_FALSE(well_formed_session_token(generate_api_key()));
}

TEST(SessionToken, RefusesATokenOfTheWrongShapeOrAlphabet) {
  const std::string good = generate_session_token();
  const std::string body = good.substr(6);
  for (const std::string& bad :
       {std::string(), std::string("hecss_"), "hecs_" + body, "HECSS_" + body,
        good.substr(0, good.size() - 1), good + "A", "hecss_" + body.substr(1) + "+",
        "hecss_" + body.substr(1) + "/", "hecss_" + body.substr(1) + "=",
        "hecss_" + body.substr(1) + " ", "hecss_" + body.substr(1) + std::string(1, '\0'),
        "hecss_" + body.substr(2) + "\xc3\xa9"}) {
    EXPECT_FALSE(well_formed_session_token(bad)) << bad;
  }
}

class Sessions : public ::testing::Test {
 protected:
  void SetUp() override {
    db::Options options;
    options.url = (dir_.path() / "control.db").string();
    auto opened = store::open_and_migrate(options);
    ASSERT_TRUE(opened) << opened.error().message;
    db_ = std::move(*opened);
    identities_.emplace(*db_);
    tenant_id_ = random_uuid();
    ASSERT_TRUE(identities_->create_tenant({tenant_id_, "default", clock_.now, std::nullopt}));
    user_id_ = random_uuid();
    store::User u;
    u.id = user_id_;
    u.tenant_id = tenant_id_;
    u.username = "ann";
    u.password_hash = "unused";
    u.role = "operator";
    u.created_at = clock_.now;
    u.password_changed_at = clock_.now;
    ASSERT_TRUE(identities_->create_user(u));
  }

  // A session as login makes one; returns its token.
  std::string login(const std::string& kind = "cookie") {
    std::string token = generate_session_token();
    store::Session s;
    s.id = random_uuid();
    s.token_hash = hash_api_key(token);
    s.csrf_hash = "csrf-" + s.id;
    s.user_id = user_id_;
    s.tenant_id = tenant_id_;
    s.kind = kind;
    s.created_at = clock_.now;
    s.last_seen_at = clock_.now;
    s.expires_at = clock_.now + policy_.lifetime_ms;
    EXPECT_TRUE(identities_->create_session(s));
    session_id_ = s.id;
    return token;
  }

  Result<Principal> check(const std::string& token, bool from_cookie = true,
                          SessionCache* cache = nullptr) {
    return authenticate_session(*identities_, token, from_cookie, clock_, policy_, cache);
  }

  void expect_refused(const std::string& token, bool from_cookie = true,
                      SessionCache* cache = nullptr) {
    auto refused = check(token, from_cookie, cache);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::unauthorized);
    EXPECT_EQ(refused.error().message, "invalid or expired session") << "one answer for all";
  }

  std::int64_t last_seen() {
    auto s = identities_->get_session(tenant_id_, session_id_);
    EXPECT_TRUE(s) << s.error().message;
    return s ? s->last_seen_at : -1;
  }

  test::TempDir dir_{"sessions"};
  std::unique_ptr<db::Database> db_;
  std::optional<store::IdentityStore> identities_;
  ManualClock clock_;
  SessionPolicy policy_;
  std::string tenant_id_;
  std::string user_id_;
  std::string session_id_;
};

TEST_F(Sessions, AcceptsALiveSessionAndSaysWhoItIs) {
  const std::string token = login();
  auto p = check(token);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->kind, Principal::Kind::session);
  EXPECT_EQ(p->tenant_id, tenant_id_);
  EXPECT_EQ(p->role, Role::operator_);
  EXPECT_EQ(p->user_id, user_id_);
  EXPECT_EQ(p->session_id, session_id_);
  EXPECT_EQ(p->username, "ann");
  EXPECT_TRUE(p->cookie);
  EXPECT_EQ(p->csrf_hash, "csrf-" + session_id_);
  EXPECT_EQ(p->actor(), "user:" + user_id_);

  const std::string bearer = login("bearer");
  auto b = check(bearer, false);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_FALSE(b->cookie);
}

TEST_F(Sessions, RefusesAnUnknownOrMalformedToken) {
  login();
  expect_refused(generate_session_token());
  expect_refused("hecss_short");
  expect_refused(generate_api_key());
}

TEST_F(Sessions, RefusesARevokedSession) {
  const std::string token = login();
  ASSERT_TRUE(identities_->revoke_session(tenant_id_, session_id_, clock_.now));
  expect_refused(token);
}

TEST_F(Sessions, RefusesASessionAtItsExpiry) {
  policy_.idle_ms = policy_.lifetime_ms * 2;  // only the lifetime counts here
  const std::string token = login();
  clock_.now += policy_.lifetime_ms - 1;
  EXPECT_TRUE(check(token));
  clock_.now += 1;
  expect_refused(token);
}

TEST_F(Sessions, RefusesASessionLeftIdleForItsIdleTime) {
  const std::string token = login();
  clock_.now += policy_.idle_ms - 1;
  EXPECT_TRUE(check(token)) << "used just in time: it lives on";
  clock_.now += policy_.idle_ms - 1;
  EXPECT_TRUE(check(token));
  clock_.now += policy_.idle_ms;
  expect_refused(token);
}

TEST_F(Sessions, KeepsAnActiveSessionAliveUntilItsLifetimeEnds) {
  const std::string token = login();
  const std::int64_t end = clock_.now + policy_.lifetime_ms;
  while (clock_.now + 30 * kMinute < end) {
    clock_.now += 30 * kMinute;
    ASSERT_TRUE(check(token)) << "a request every half hour, idle limit one hour";
  }
  clock_.now = end;
  expect_refused(token);
}

TEST_F(Sessions, RefusesTheSessionOfADisabledUser) {
  const std::string token = login();
  ASSERT_TRUE(identities_->set_user_disabled(tenant_id_, user_id_, clock_.now));
  expect_refused(token);
}

TEST_F(Sessions, RefusesTheSessionOfADisabledTenant) {
  const std::string token = login();
  ASSERT_TRUE(identities_->set_tenant_disabled(tenant_id_, clock_.now));
  expect_refused(token);
}

TEST_F(Sessions, RefusesATokenPresentedThroughTheOtherChannel) {
  const std::string cookie = login("cookie");
  expect_refused(cookie, /*from_cookie=*/false);
  EXPECT_TRUE(check(cookie, true));
  const std::string bearer = login("bearer");
  expect_refused(bearer, /*from_cookie=*/true);
  EXPECT_TRUE(check(bearer, false));
}

TEST_F(Sessions, UsesTheRoleTheUserHasNow) {
  const std::string token = login();
  ASSERT_TRUE(identities_->set_role(tenant_id_, user_id_, "viewer"));
  auto p = check(token);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->role, Role::viewer);
}

TEST_F(Sessions, WritesLastSeenAtMostOnceATouchInterval) {
  const std::string token = login();
  const std::int64_t start = clock_.now;
  clock_.now = start + policy_.touch_every_ms - 1;
  ASSERT_TRUE(check(token));
  EXPECT_EQ(last_seen(), start) << "too soon to write";
  clock_.now = start + policy_.touch_every_ms;
  ASSERT_TRUE(check(token));
  EXPECT_EQ(last_seen(), start + policy_.touch_every_ms);
  clock_.now = start + 2 * policy_.touch_every_ms - 1;
  ASSERT_TRUE(check(token));
  EXPECT_EQ(last_seen(), start + policy_.touch_every_ms);
}

TEST_F(Sessions, WritesLastSeenAtMostOnceATouchIntervalWithACacheToo) {
  SessionCache cache(10 * kMinute);
  const std::string token = login();
  const std::int64_t start = clock_.now;
  for (std::int64_t t = 0; t < 3 * policy_.touch_every_ms; t += 1000) {
    clock_.now = start + t;
    ASSERT_TRUE(check(token, true, &cache)) << t;
    // Every request checks that the stored value lags by less than the interval.
    EXPECT_GT(last_seen(), clock_.now - policy_.touch_every_ms) << t;
    EXPECT_EQ((last_seen() - start) % policy_.touch_every_ms, 0) << t;
  }
}

TEST_F(Sessions, TheCacheForgetsARevokedSessionAtOnceWhenTold) {
  SessionCache cache(10 * kMinute);
  const std::string token = login();
  ASSERT_TRUE(check(token, true, &cache));
  ASSERT_TRUE(identities_->revoke_session(tenant_id_, session_id_, clock_.now));
  cache.forget_session(session_id_);
  expect_refused(token, true, &cache);
}

TEST_F(Sessions, TheCacheHonoursARevocationByAnotherProcessAfterItsTtl) {
  SessionCache cache(5000);
  const std::string token = login();
  ASSERT_TRUE(check(token, true, &cache));
  ASSERT_TRUE(identities_->revoke_session(tenant_id_, session_id_, clock_.now));
  expect_refused(token);  // no cache: at once
  clock_.now += 5000;
  expect_refused(token, true, &cache);
}

TEST_F(Sessions, ForgettingOneSessionKeepsTheOthersCached) {
  SessionCache cache(10 * kMinute);
  const std::string first = login();
  const std::string first_id = session_id_;
  const std::string second = login();
  ASSERT_TRUE(check(first, true, &cache));
  ASSERT_TRUE(check(second, true, &cache));
  cache.forget_session(first_id);
  EXPECT_FALSE(cache.find(hash_api_key(first), clock_.now));
  EXPECT_TRUE(cache.find(hash_api_key(second), clock_.now));
}

}  // namespace
}  // namespace hecs::control::auth
