// API key authentication and its cache, against a real SQLite store.
#include "control/auth/auth.h"

#include <gtest/gtest.h>
#include <soci/soci.h>

#include "support/tempdir.h"

namespace hecs::control::auth {
namespace {

class ManualClock final : public Clock {
 public:
  std::int64_t now_ms() const override { return now; }
  std::int64_t now = 1'800'000'000'000;
};

class Auth : public ::testing::Test {
 protected:
  void SetUp() override {
    db::Options options;
    options.url = (dir_.path() / "control.db").string();
    auto opened = store::open_and_migrate(options);
    ASSERT_TRUE(opened) << opened.error().message;
    db_ = std::move(*opened);
    identities_.emplace(*db_);
    tenant_id_ = random_uuid();
    store::Tenant tenant{tenant_id_, "default", clock_.now, std::nullopt};
    ASSERT_TRUE(identities_->create_tenant(tenant, record(key_)));
  }

  store::ApiKey record(const std::string& key) const {
    store::ApiKey out;
    out.id = random_uuid();
    out.tenant_id = tenant_id_;
    out.prefix = key.substr(0, 11);
    out.hash = hash_api_key(key);
    out.role = "admin";
    out.created_at = clock_.now;
    return out;
  }

  void revoke_in_database(const std::string& key) {
    const std::string hash = hash_api_key(key);
    const long long at = clock_.now;
    ASSERT_TRUE(db_->transact([&](soci::session& sql) -> Result<void> {
      sql << "UPDATE api_keys SET revoked_at = :at WHERE hash = :hash", soci::use(at),
          soci::use(hash);
      return {};
    }));
  }

  Result<Principal> login(const std::string& key, KeyCache* cache) {
    const std::string header = "Bearer " + key;
    return authenticate(*identities_, &header, clock_, cache);
  }

  test::TempDir dir_{"auth"};
  std::unique_ptr<db::Database> db_;
  std::optional<store::IdentityStore> identities_;
  ManualClock clock_;
  std::string key_ = generate_api_key();
  std::string tenant_id_;
};

TEST_F(Auth, AcceptsAStoredKeyAndRejectsMissingMalformedAndUnknownOnesAlike) {
  auto ok = login(key_, nullptr);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->tenant_id, tenant_id_);
  EXPECT_EQ(ok->role, Role::admin);
  EXPECT_EQ(authenticate(*identities_, nullptr, clock_).error().code, Errc::unauthorized);
  // The key with its last character changed (one key in 62 ends with 'x': never the key itself).
  std::string damaged = key_;
  damaged.back() = damaged.back() == 'x' ? 'y' : 'x';
  for (const std::string& bad : {std::string("hecs_short"), generate_api_key(), damaged}) {
    auto refused = login(bad, nullptr);
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.error().code, Errc::unauthorized);
    EXPECT_EQ(refused.error().message, "invalid API key");
  }
}

TEST_F(Auth, ARevocationInTheDatabaseTakesEffectAtOnceWithoutCacheAndWithinTheTtlWithIt) {
  KeyCache cache(5000);
  ASSERT_TRUE(login(key_, &cache));
  revoke_in_database(key_);
  EXPECT_FALSE(login(key_, nullptr)) << "no cache: the store is asked each time";
  clock_.now += 4999;
  EXPECT_TRUE(login(key_, &cache)) << "within the ttl the cached verdict holds";
  clock_.now += 1;
  auto refused = login(key_, &cache);
  ASSERT_FALSE(refused) << "after the ttl the store is asked again";
  EXPECT_EQ(refused.error().code, Errc::unauthorized);
}

TEST_F(Auth, ARevocationWithItsOwnTimeIsHonouredEvenFromTheCache) {
  KeyCache cache(60'000);
  store::ApiKey expiring = record(generate_api_key());
  std::string key = generate_api_key();
  expiring.hash = hash_api_key(key);
  expiring.revoked_at = clock_.now + 1000;  // scheduled revocation
  ASSERT_TRUE(identities_->create_api_key(expiring));
  ASSERT_TRUE(login(key, &cache));
  clock_.now += 1000;
  EXPECT_FALSE(login(key, &cache));
}

TEST_F(Auth, UnknownKeysAreNeverCachedSoAKeyCreatedLaterWorksAtOnce) {
  KeyCache cache;
  std::string later = generate_api_key();
  EXPECT_FALSE(login(later, &cache));
  EXPECT_EQ(cache.size(), 0U);
  ASSERT_TRUE(identities_->create_api_key(record(later)));
  EXPECT_TRUE(login(later, &cache));
  EXPECT_EQ(cache.size(), 1U);
}

TEST_F(Auth, RefusesAKeyFromItsExpiryOn) {
  const std::string key = generate_api_key();
  store::ApiKey expiring = record(key);
  expiring.expires_at = clock_.now + 1000;
  ASSERT_TRUE(identities_->create_api_key(expiring));
  EXPECT_TRUE(login(key, nullptr));
  clock_.now += 1000;
  auto refused = login(key, nullptr);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::unauthorized);
  EXPECT_EQ(refused.error().message, "invalid API key");
}

TEST_F(Auth, RefusesTheKeysOfADisabledTenantUntilItIsEnabledAgain) {
  ASSERT_TRUE(identities_->set_tenant_disabled(tenant_id_, clock_.now));
  auto refused = login(key_, nullptr);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::unauthorized);
  EXPECT_EQ(refused.error().message, "invalid API key");
  ASSERT_TRUE(identities_->set_tenant_disabled(tenant_id_, std::nullopt));
  EXPECT_TRUE(login(key_, nullptr));
}

TEST_F(Auth, ReportsTheUseOfARevokedKeyAndOfNoOtherRefusal) {
  const std::string header = "Bearer " + key_;
  std::optional<store::ApiKey> used;
  ASSERT_TRUE(authenticate(*identities_, &header, clock_, nullptr, &used));
  EXPECT_FALSE(used) << "an accepted key";

  const std::string unknown = "Bearer " + generate_api_key();
  EXPECT_FALSE(authenticate(*identities_, &unknown, clock_, nullptr, &used));
  EXPECT_FALSE(used) << "an unknown key";

  auto stored = identities_->find_api_key_by_hash(hash_api_key(key_));
  ASSERT_TRUE(stored);
  ASSERT_TRUE(identities_->revoke_api_key(tenant_id_, stored->id, clock_.now));
  auto refused = authenticate(*identities_, &header, clock_, nullptr, &used);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::unauthorized);
  EXPECT_EQ(refused.error().message, "invalid API key");
  ASSERT_TRUE(used);
  EXPECT_EQ(used->id, stored->id);
  EXPECT_EQ(used->tenant_id, tenant_id_);
}

TEST(KeyCache, ExpiresEntriesWhenTheClockGoesBackAndStaysWithinItsCapacity) {
  KeyCache cache(5000, 3);
  store::ApiKey key;
  key.id = "k";
  cache.put("h1", key, 10'000);
  EXPECT_TRUE(cache.find("h1", 10'000));
  EXPECT_FALSE(cache.find("h1", 9'999)) << "a clock that went back must not extend trust";
  EXPECT_FALSE(cache.find("h1", 15'000));
  for (int i = 0; i < 10; ++i) {
    cache.put("x" + std::to_string(i), key, 10'000);
    EXPECT_LE(cache.size(), 3U);
  }
  cache.put("h2", key, 10'000);
  cache.forget("h2");
  EXPECT_FALSE(cache.find("h2", 10'000));
}

}  // namespace
}  // namespace hecs::control::auth
