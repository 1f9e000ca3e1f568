// IdentityStore on both backends: tenants, API keys, users and sessions (issue 5).
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "control/store/store.h"
#include "store_fixture.h"

namespace hecs::control::store {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr const char* kTenantC = "33333333-3333-4333-8333-333333333333";
constexpr std::int64_t kNow = 1'700'000'000'000;

Tenant tenant(const std::string& id, const std::string& name) {
  Tenant out;
  out.id = id;
  out.name = name;
  out.created_at = kNow;
  return out;
}

ApiKey api_key(const std::string& id, const std::string& tenant_id = kTenantA,
               std::optional<std::int64_t> expires_at = std::nullopt) {
  ApiKey out;
  out.id = id;
  out.tenant_id = tenant_id;
  out.prefix = "hecs_" + id.substr(0, 6);
  out.hash = "hash-" + id;
  out.role = "admin";
  out.created_at = kNow;
  out.name = "ci " + id;
  out.expires_at = expires_at;
  out.created_by = "bootstrap";
  return out;
}

User user(const std::string& id, const std::string& username,
          const std::string& tenant_id = kTenantA, const std::string& role = "admin") {
  User out;
  out.id = id;
  out.tenant_id = tenant_id;
  out.username = username;
  out.password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";
  out.role = role;
  out.created_at = kNow;
  out.password_changed_at = kNow;
  return out;
}

Session session(const std::string& id, const std::string& user_id, std::int64_t created_at,
                const std::string& tenant_id = kTenantA) {
  Session out;
  out.id = id;
  out.token_hash = "token-" + id;
  out.csrf_hash = "csrf-" + id;
  out.user_id = user_id;
  out.tenant_id = tenant_id;
  out.kind = "cookie";
  out.created_at = created_at;
  out.last_seen_at = created_at;
  out.expires_at = created_at + 3'600'000;
  out.source = "203.0.113.7";
  out.user_agent = "curl/8";
  return out;
}

std::vector<std::string> key_ids(const std::vector<ApiKey>& keys) {
  std::vector<std::string> out;
  out.reserve(keys.size());
  for (const ApiKey& k : keys) {
    out.push_back(k.id);
  }
  return out;
}

std::vector<std::string> session_ids(const std::vector<Session>& sessions) {
  std::vector<std::string> out;
  out.reserve(sessions.size());
  for (const Session& s : sessions) {
    out.push_back(s.id);
  }
  return out;
}

// Tenants A and B exist; tests add their own keys, users and sessions.
class Identity : public Store {
 protected:
  void SetUp() override {
    Store::SetUp();
    ASSERT_TRUE(identity_->create_tenant(tenant(kTenantA, "alpha")));
    ASSERT_TRUE(identity_->create_tenant(tenant(kTenantB, "bravo")));
  }

  ApiKey stored_key(const std::string& tenant_id, const std::string& id) {
    auto found = identity_->get_api_key(tenant_id, id);
    EXPECT_TRUE(found) << found.error().message;
    return found ? *found : ApiKey{};
  }

  User stored_user(const std::string& tenant_id, const std::string& id) {
    auto found = identity_->get_user(tenant_id, id);
    EXPECT_TRUE(found) << found.error().message;
    return found ? *found : User{};
  }

  // Users "ann" in A and "bob" in B, for session tests.
  void add_users() {
    ASSERT_TRUE(identity_->create_user(user("u-ann", "ann")));
    ASSERT_TRUE(identity_->create_user(user("u-amy", "amy")));
    ASSERT_TRUE(identity_->create_user(user("u-bob", "bob", kTenantB)));
  }
};

// ---- tenants ---------------------------------------------------------------------------

TEST_P(Identity, GetsAndListsTenantsAndReportsAnUnknownIdAsNotFound) {
  auto got = identity_->get_tenant(kTenantB);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->name, "bravo");
  EXPECT_EQ(got->created_at, kNow);
  EXPECT_FALSE(got->disabled_at);

  auto all = identity_->list_tenants();
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 2U);
  EXPECT_EQ((*all)[0].name, "alpha");
  EXPECT_EQ((*all)[1].name, "bravo");

  auto missing = identity_->get_tenant(kTenantC);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

TEST_P(Identity, RenamesATenantAndRefusesANameThatIsTaken) {
  auto renamed = identity_->rename_tenant(kTenantA, "acme");
  ASSERT_TRUE(renamed) << renamed.error().message;
  EXPECT_EQ(renamed->name, "acme");
  EXPECT_EQ(identity_->get_tenant(kTenantA)->name, "acme");

  auto taken = identity_->rename_tenant(kTenantA, "bravo");
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, Errc::conflict);
  EXPECT_EQ(identity_->get_tenant(kTenantA)->name, "acme");

  auto missing = identity_->rename_tenant(kTenantC, "charlie");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

TEST_P(Identity, DisablesATenantAndEnablesItAgain) {
  auto disabled = identity_->set_tenant_disabled(kTenantA, kNow + 5);
  ASSERT_TRUE(disabled) << disabled.error().message;
  EXPECT_EQ(disabled->disabled_at, kNow + 5);
  EXPECT_EQ(identity_->get_tenant(kTenantA)->disabled_at, kNow + 5);
  EXPECT_FALSE(identity_->get_tenant(kTenantB)->disabled_at) << "only the tenant named";

  auto enabled = identity_->set_tenant_disabled(kTenantA, std::nullopt);
  ASSERT_TRUE(enabled) << enabled.error().message;
  EXPECT_FALSE(enabled->disabled_at);
  EXPECT_FALSE(identity_->get_tenant(kTenantA)->disabled_at);

  auto missing = identity_->set_tenant_disabled(kTenantC, kNow);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

TEST_P(Identity, CreatesATenantWithItsFirstKeyAndFirstUser) {
  ASSERT_TRUE(identity_->create_tenant(tenant(kTenantC, "charlie"), api_key("k-first", kTenantC),
                                       user("u-first", "charlie-admin", kTenantC, "owner")));
  EXPECT_EQ(identity_->get_tenant(kTenantC)->name, "charlie");
  EXPECT_EQ(stored_key(kTenantC, "k-first").hash, "hash-k-first");
  auto admin = identity_->find_user_by_username("charlie-admin");
  ASSERT_TRUE(admin && *admin);
  EXPECT_EQ((**admin).tenant_id, kTenantC);
  EXPECT_EQ((**admin).role, "owner");
}

TEST_P(Identity, RollsTheWholeTenantBackWhenItsFirstUsersNameIsTaken) {
  ASSERT_TRUE(identity_->create_user(user("u-root", "root")));
  auto created = identity_->create_tenant(tenant(kTenantC, "charlie"), api_key("k-first", kTenantC),
                                          user("u-first", "root", kTenantC, "owner"));
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, Errc::conflict);

  EXPECT_EQ(identity_->get_tenant(kTenantC).error().code, Errc::not_found);
  auto by_name = identity_->find_tenant_by_name("charlie");
  ASSERT_TRUE(by_name);
  EXPECT_FALSE(by_name->has_value());
  EXPECT_EQ(identity_->find_api_key_by_hash("hash-k-first").error().code, Errc::not_found);
  EXPECT_EQ((**identity_->find_user_by_username("root")).tenant_id, kTenantA);
}

TEST_P(Identity, RollsTheTenantBackWhenItsNameIsTaken) {
  auto created = identity_->create_tenant(tenant(kTenantC, "alpha"), api_key("k-first", kTenantC));
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, Errc::conflict);
  EXPECT_EQ(identity_->find_api_key_by_hash("hash-k-first").error().code, Errc::not_found);
  EXPECT_EQ(identity_->list_tenants()->size(), 2U);
}

// ---- API keys ---------------------------------------------------------------------------

TEST_P(Identity, StoresEveryFieldOfAnApiKey) {
  ApiKey key = api_key("k-1", kTenantA, kNow + 9000);
  key.created_by = "user:u-ann";
  ASSERT_TRUE(identity_->create_api_key(key));
  const ApiKey got = stored_key(kTenantA, "k-1");
  EXPECT_EQ(got.tenant_id, kTenantA);
  EXPECT_EQ(got.prefix, key.prefix);
  EXPECT_EQ(got.hash, "hash-k-1");
  EXPECT_EQ(got.role, "admin");
  EXPECT_EQ(got.created_at, kNow);
  EXPECT_EQ(got.name, "ci k-1");
  EXPECT_EQ(got.expires_at, kNow + 9000);
  EXPECT_EQ(got.created_by, "user:u-ann");
  EXPECT_FALSE(got.revoked_at);
  EXPECT_FALSE(got.last_used_at);
  EXPECT_FALSE(got.replaced_by);
}

TEST_P(Identity, ListsAndGetsOnlyTheKeysOfTheTenantAsked) {
  ASSERT_TRUE(identity_->create_api_key(api_key("k-a1")));
  ASSERT_TRUE(identity_->create_api_key(api_key("k-a2")));
  ASSERT_TRUE(identity_->create_api_key(api_key("k-b1", kTenantB)));

  auto a = identity_->list_api_keys(kTenantA);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_THAT(key_ids(*a), ElementsAre("k-a1", "k-a2"));
  auto b = identity_->list_api_keys(kTenantB);
  ASSERT_TRUE(b);
  EXPECT_THAT(key_ids(*b), ElementsAre("k-b1"));
  EXPECT_THAT(*identity_->list_api_keys(kTenantC), IsEmpty());

  auto foreign = identity_->get_api_key(kTenantA, "k-b1");
  ASSERT_FALSE(foreign) << "another tenant's key looks like no key at all";
  EXPECT_EQ(foreign.error().code, Errc::not_found);
  EXPECT_EQ(identity_->get_api_key(kTenantA, "k-none").error().code, Errc::not_found);
}

TEST_P(Identity, RevokingAKeyTwiceKeepsTheFirstTime) {
  ASSERT_TRUE(identity_->create_api_key(api_key("k-1")));
  auto first = identity_->revoke_api_key(kTenantA, "k-1", kNow + 10);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->revoked_at, kNow + 10);
  auto second = identity_->revoke_api_key(kTenantA, "k-1", kNow + 20);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->revoked_at, kNow + 10);
  EXPECT_EQ(stored_key(kTenantA, "k-1").revoked_at, kNow + 10);
}

TEST_P(Identity, DoesNotRevokeAnotherTenantsKey) {
  ASSERT_TRUE(identity_->create_api_key(api_key("k-b1", kTenantB)));
  auto revoked = identity_->revoke_api_key(kTenantA, "k-b1", kNow);
  ASSERT_FALSE(revoked);
  EXPECT_EQ(revoked.error().code, Errc::not_found);
  EXPECT_FALSE(stored_key(kTenantB, "k-b1").revoked_at);
}

TEST_P(Identity, RotationCutsTheOldKeysExpiryToTheOverlapAndNamesItsReplacement) {
  ASSERT_TRUE(identity_->create_api_key(api_key("k-old")));  // never expires
  ASSERT_TRUE(identity_->rotate_api_key(kTenantA, "k-old", api_key("k-new", kTenantA, kNow + 9000),
                                        kNow + 60'000, kNow));
  const ApiKey old = stored_key(kTenantA, "k-old");
  EXPECT_EQ(old.expires_at, kNow + 60'000);
  EXPECT_EQ(old.replaced_by, "k-new");
  EXPECT_FALSE(old.revoked_at);
  const ApiKey made = stored_key(kTenantA, "k-new");
  EXPECT_EQ(made.expires_at, kNow + 9000);
  EXPECT_FALSE(made.replaced_by);
}

TEST_P(Identity, RotationNeverLengthensTheOldKeysLife) {
  ASSERT_TRUE(identity_->create_api_key(api_key("k-old", kTenantA, kNow + 30'000)));
  ASSERT_TRUE(identity_->rotate_api_key(kTenantA, "k-old", api_key("k-new"), kNow + 60'000, kNow));
  EXPECT_EQ(stored_key(kTenantA, "k-old").expires_at, kNow + 30'000);

  ASSERT_TRUE(identity_->create_api_key(api_key("k-old2", kTenantA, kNow + 30'000)));
  ASSERT_TRUE(identity_->rotate_api_key(kTenantA, "k-old2", api_key("k-new2"), kNow + 1, kNow));
  EXPECT_EQ(stored_key(kTenantA, "k-old2").expires_at, kNow + 1);
}

TEST_P(Identity, RefusesToRotateARevokedExpiredOrRotatedKeyAndWritesNothing) {
  ASSERT_TRUE(identity_->create_api_key(api_key("k-revoked")));
  ASSERT_TRUE(identity_->revoke_api_key(kTenantA, "k-revoked", kNow - 1));
  ASSERT_TRUE(identity_->create_api_key(api_key("k-expired", kTenantA, kNow)));
  ASSERT_TRUE(identity_->create_api_key(api_key("k-rotated")));
  ASSERT_TRUE(identity_->rotate_api_key(kTenantA, "k-rotated", api_key("k-next"), kNow + 50, kNow));

  for (const std::string old : {"k-revoked", "k-expired", "k-rotated"}) {
    const ApiKey before = stored_key(kTenantA, old);
    auto rotated =
        identity_->rotate_api_key(kTenantA, old, api_key("k-made-" + old), kNow + 10, kNow);
    ASSERT_FALSE(rotated) << old;
    EXPECT_EQ(rotated.error().code, Errc::conflict) << old;
    EXPECT_EQ(identity_->get_api_key(kTenantA, "k-made-" + old).error().code, Errc::not_found)
        << old << ": the replacement must not be stored";
    const ApiKey after = stored_key(kTenantA, old);
    EXPECT_EQ(after.expires_at, before.expires_at) << old;
    EXPECT_EQ(after.replaced_by, before.replaced_by) << old;
  }
}

TEST_P(Identity, DoesNotRotateAnotherTenantsKey) {
  ASSERT_TRUE(identity_->create_api_key(api_key("k-b1", kTenantB)));
  auto rotated = identity_->rotate_api_key(kTenantA, "k-b1", api_key("k-new"), kNow + 10, kNow);
  ASSERT_FALSE(rotated);
  EXPECT_EQ(rotated.error().code, Errc::not_found);
  EXPECT_FALSE(stored_key(kTenantB, "k-b1").replaced_by);
  EXPECT_EQ(identity_->get_api_key(kTenantA, "k-new").error().code, Errc::not_found);
}

TEST_P(Identity, RefusesAReplacementThatBelongsToAnotherTenant) {
  ASSERT_TRUE(identity_->create_api_key(api_key("k-old")));
  auto rotated =
      identity_->rotate_api_key(kTenantA, "k-old", api_key("k-new", kTenantB), kNow + 10, kNow);
  ASSERT_FALSE(rotated);
  EXPECT_EQ(rotated.error().code, Errc::invalid_input);
  EXPECT_EQ(identity_->get_api_key(kTenantB, "k-new").error().code, Errc::not_found);
  EXPECT_FALSE(stored_key(kTenantA, "k-old").replaced_by);
}

TEST_P(Identity, TwoRotationsOfOneKeyAtOnceLetExactlyOneWin) {
  constexpr int kRounds = 10;
  for (int round = 0; round < kRounds; ++round) {
    const std::string old = "k-old-" + std::to_string(round);
    ASSERT_TRUE(identity_->create_api_key(api_key(old)));
    std::atomic<int> won{0};
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    threads.reserve(2);
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&, t] {
        ready.fetch_add(1);
        while (ready.load() < 2) {
        }
        const std::string made = old + "-by-" + std::to_string(t);
        if (identity_->rotate_api_key(kTenantA, old, api_key(made), kNow + 10, kNow)) {
          won.fetch_add(1);
        }
      });
    }
    for (auto& thread : threads) {
      thread.join();
    }
    ASSERT_EQ(won.load(), 1) << "round " << round;
    const ApiKey stored = stored_key(kTenantA, old);
    ASSERT_TRUE(stored.replaced_by);
    int live_replacements = 0;
    for (int t = 0; t < 2; ++t) {
      live_replacements +=
          identity_->get_api_key(kTenantA, old + "-by-" + std::to_string(t)).has_value() ? 1 : 0;
    }
    EXPECT_EQ(live_replacements, 1) << "round " << round;
    EXPECT_TRUE(identity_->get_api_key(kTenantA, *stored.replaced_by)) << "round " << round;
  }
}

TEST_P(Identity, FindsAKeyByHashWithItsTenantsDisabledTime) {
  ASSERT_TRUE(identity_->create_api_key(api_key("k-1")));
  auto live = identity_->find_api_key_by_hash("hash-k-1");
  ASSERT_TRUE(live) << live.error().message;
  EXPECT_EQ(live->id, "k-1");
  EXPECT_FALSE(live->tenant_disabled_at);

  ASSERT_TRUE(identity_->set_tenant_disabled(kTenantA, kNow + 7));
  auto disabled = identity_->find_api_key_by_hash("hash-k-1");
  ASSERT_TRUE(disabled) << disabled.error().message;
  EXPECT_EQ(disabled->tenant_disabled_at, kNow + 7);
}

TEST_P(Identity, MovesAKeysLastUseForwardOnly) {
  ASSERT_TRUE(identity_->create_api_key(api_key("k-1")));
  ASSERT_TRUE(identity_->touch_api_key("k-1", kNow + 100));
  ASSERT_TRUE(identity_->touch_api_key("k-1", kNow + 50));  // a request that finished late
  EXPECT_EQ(stored_key(kTenantA, "k-1").last_used_at, kNow + 100);
  auto missing = identity_->touch_api_key("k-none", kNow);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

// ---- users ------------------------------------------------------------------------------

TEST_P(Identity, CreatesAUserAndFindsItByUsername) {
  ASSERT_TRUE(identity_->create_user(user("u-ann", "ann")));
  auto found = identity_->find_user_by_username("ann");
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_TRUE(found->has_value());
  const User& ann = **found;
  EXPECT_EQ(ann.id, "u-ann");
  EXPECT_EQ(ann.tenant_id, kTenantA);
  EXPECT_EQ(ann.password_hash, user("x", "x").password_hash);
  EXPECT_EQ(ann.role, "admin");
  EXPECT_EQ(ann.created_at, kNow);
  EXPECT_EQ(ann.password_changed_at, kNow);
  EXPECT_FALSE(ann.disabled_at);

  auto nobody = identity_->find_user_by_username("Ann");
  ASSERT_TRUE(nobody);
  EXPECT_FALSE(nobody->has_value());
}

TEST_P(Identity, RefusesAUsernameTakenInAnotherTenant) {
  ASSERT_TRUE(identity_->create_user(user("u-ann", "ann")));
  auto again = identity_->create_user(user("u-ann2", "ann", kTenantB));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::conflict);
  EXPECT_THAT(*identity_->list_users(kTenantB), IsEmpty());
}

TEST_P(Identity, ListsTheUsersOfOneTenantByUsername) {
  ASSERT_TRUE(identity_->create_user(user("u-2", "zoe")));
  ASSERT_TRUE(identity_->create_user(user("u-1", "adam")));
  ASSERT_TRUE(identity_->create_user(user("u-3", "bob", kTenantB)));
  auto users = identity_->list_users(kTenantA);
  ASSERT_TRUE(users) << users.error().message;
  ASSERT_EQ(users->size(), 2U);
  EXPECT_EQ((*users)[0].username, "adam");
  EXPECT_EQ((*users)[1].username, "zoe");
}

TEST_P(Identity, TreatsAUserOfAnotherTenantAsNotFoundAndLeavesItAlone) {
  ASSERT_TRUE(identity_->create_user(user("u-bob", "bob", kTenantB, "owner")));
  EXPECT_EQ(identity_->get_user(kTenantA, "u-bob").error().code, Errc::not_found);
  EXPECT_EQ(identity_->set_password(kTenantA, "u-bob", "new", kNow + 1).error().code,
            Errc::not_found);
  EXPECT_EQ(identity_->set_role(kTenantA, "u-bob", "viewer").error().code, Errc::not_found);
  EXPECT_EQ(identity_->set_user_disabled(kTenantA, "u-bob", kNow + 1).error().code,
            Errc::not_found);

  const User bob = stored_user(kTenantB, "u-bob");
  EXPECT_EQ(bob.password_hash, user("x", "x").password_hash);
  EXPECT_EQ(bob.password_changed_at, kNow);
  EXPECT_EQ(bob.role, "owner");
  EXPECT_FALSE(bob.disabled_at);
}

TEST_P(Identity, ChangesAUsersPasswordRoleAndDisabledTime) {
  ASSERT_TRUE(identity_->create_user(user("u-ann", "ann")));
  ASSERT_TRUE(identity_->set_password(kTenantA, "u-ann", "$argon2id$new", kNow + 1));
  User ann = stored_user(kTenantA, "u-ann");
  EXPECT_EQ(ann.password_hash, "$argon2id$new");
  EXPECT_EQ(ann.password_changed_at, kNow + 1);

  auto promoted = identity_->set_role(kTenantA, "u-ann", "owner");
  ASSERT_TRUE(promoted) << promoted.error().message;
  EXPECT_EQ(promoted->role, "owner");

  auto disabled = identity_->set_user_disabled(kTenantA, "u-ann", kNow + 2);
  ASSERT_TRUE(disabled) << disabled.error().message;
  EXPECT_EQ(disabled->disabled_at, kNow + 2);
  auto enabled = identity_->set_user_disabled(kTenantA, "u-ann", std::nullopt);
  ASSERT_TRUE(enabled) << enabled.error().message;
  EXPECT_FALSE(enabled->disabled_at);
  EXPECT_EQ(stored_user(kTenantA, "u-ann").role, "owner");
}

TEST_P(Identity, CountsTheOwnersOfATenantThatAreNotDisabled) {
  ASSERT_TRUE(identity_->create_user(user("u-1", "owner-1", kTenantA, "owner")));
  ASSERT_TRUE(identity_->create_user(user("u-2", "super", kTenantA, "superadmin")));
  ASSERT_TRUE(identity_->create_user(user("u-3", "owner-off", kTenantA, "owner")));
  ASSERT_TRUE(identity_->set_user_disabled(kTenantA, "u-3", kNow));
  ASSERT_TRUE(identity_->create_user(user("u-4", "admin", kTenantA, "admin")));
  ASSERT_TRUE(identity_->create_user(user("u-5", "owner-b", kTenantB, "owner")));

  EXPECT_EQ(*identity_->count_active_owners(kTenantA), 2U);
  EXPECT_EQ(*identity_->count_active_owners(kTenantB), 1U);
  EXPECT_EQ(*identity_->count_active_owners(kTenantC), 0U);
  ASSERT_TRUE(identity_->set_role(kTenantA, "u-1", "admin"));
  EXPECT_EQ(*identity_->count_active_owners(kTenantA), 1U);
}

// ---- sessions ---------------------------------------------------------------------------

TEST_P(Identity, FindsASessionByTokenWithWhatARequestNeedsOfItsUserAndTenant) {
  add_users();
  Session s = session("s-1", "u-ann", kNow);
  s.kind = "bearer";
  ASSERT_TRUE(identity_->create_session(s));
  auto grant = identity_->find_session_by_token("token-s-1");
  ASSERT_TRUE(grant) << grant.error().message;
  EXPECT_EQ(grant->session.id, "s-1");
  EXPECT_EQ(grant->session.csrf_hash, "csrf-s-1");
  EXPECT_EQ(grant->session.user_id, "u-ann");
  EXPECT_EQ(grant->session.tenant_id, kTenantA);
  EXPECT_EQ(grant->session.kind, "bearer");
  EXPECT_EQ(grant->session.created_at, kNow);
  EXPECT_EQ(grant->session.last_seen_at, kNow);
  EXPECT_EQ(grant->session.expires_at, kNow + 3'600'000);
  EXPECT_EQ(grant->session.source, "203.0.113.7");
  EXPECT_EQ(grant->session.user_agent, "curl/8");
  EXPECT_FALSE(grant->session.revoked_at);
  EXPECT_EQ(grant->username, "ann");
  EXPECT_EQ(grant->role, "admin");
  EXPECT_FALSE(grant->user_disabled_at);
  EXPECT_FALSE(grant->tenant_disabled_at);

  ASSERT_TRUE(identity_->set_role(kTenantA, "u-ann", "viewer"));
  ASSERT_TRUE(identity_->set_user_disabled(kTenantA, "u-ann", kNow + 1));
  ASSERT_TRUE(identity_->set_tenant_disabled(kTenantA, kNow + 2));
  grant = identity_->find_session_by_token("token-s-1");
  ASSERT_TRUE(grant) << grant.error().message;
  EXPECT_EQ(grant->role, "viewer");
  EXPECT_EQ(grant->user_disabled_at, kNow + 1);
  EXPECT_EQ(grant->tenant_disabled_at, kNow + 2);

  auto unknown = identity_->find_session_by_token("token-none");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::not_found);
}

TEST_P(Identity, ListsOnlyLiveSessionsOfTheTenantNewestFirst) {
  add_users();
  ASSERT_TRUE(identity_->create_session(session("s-old", "u-ann", kNow)));
  ASSERT_TRUE(identity_->create_session(session("s-new", "u-ann", kNow + 20)));
  ASSERT_TRUE(identity_->create_session(session("s-amy", "u-amy", kNow + 10)));
  ASSERT_TRUE(identity_->create_session(session("s-revoked", "u-ann", kNow + 30)));
  ASSERT_TRUE(identity_->revoke_session(kTenantA, "s-revoked", kNow + 31));
  Session expired = session("s-expired", "u-ann", kNow + 40);
  expired.expires_at = kNow + 100;
  ASSERT_TRUE(identity_->create_session(expired));
  ASSERT_TRUE(identity_->create_session(session("s-bob", "u-bob", kNow + 50, kTenantB)));

  auto all = identity_->list_sessions(kTenantA, "", kNow + 100);
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_THAT(session_ids(*all), ElementsAre("s-new", "s-amy", "s-old"));
  auto ann = identity_->list_sessions(kTenantA, "u-ann", kNow + 100);
  ASSERT_TRUE(ann) << ann.error().message;
  EXPECT_THAT(session_ids(*ann), ElementsAre("s-new", "s-old"));
  auto before_expiry = identity_->list_sessions(kTenantA, "u-ann", kNow + 99);
  ASSERT_TRUE(before_expiry);
  EXPECT_THAT(session_ids(*before_expiry), ElementsAre("s-expired", "s-new", "s-old"));
  EXPECT_THAT(*identity_->list_sessions(kTenantA, "u-bob", kNow), IsEmpty())
      << "another tenant's user";
}

TEST_P(Identity, RevokesOneSessionOnceAndNotAnotherTenants) {
  add_users();
  ASSERT_TRUE(identity_->create_session(session("s-1", "u-ann", kNow)));
  ASSERT_TRUE(identity_->create_session(session("s-bob", "u-bob", kNow, kTenantB)));

  auto revoked = identity_->revoke_session(kTenantA, "s-1", kNow + 5);
  ASSERT_TRUE(revoked) << revoked.error().message;
  EXPECT_EQ(revoked->revoked_at, kNow + 5);
  EXPECT_EQ(identity_->revoke_session(kTenantA, "s-1", kNow + 9)->revoked_at, kNow + 5);
  EXPECT_EQ(identity_->find_session_by_token("token-s-1")->session.revoked_at, kNow + 5);

  auto foreign = identity_->revoke_session(kTenantA, "s-bob", kNow);
  ASSERT_FALSE(foreign);
  EXPECT_EQ(foreign.error().code, Errc::not_found);
  EXPECT_FALSE(identity_->find_session_by_token("token-s-bob")->session.revoked_at);
  EXPECT_EQ(identity_->get_session(kTenantA, "s-bob").error().code, Errc::not_found);
}

TEST_P(Identity, RevokesEveryLiveSessionOfAUserButTheOneKept) {
  add_users();
  ASSERT_TRUE(identity_->create_session(session("s-1", "u-ann", kNow)));
  ASSERT_TRUE(identity_->create_session(session("s-2", "u-ann", kNow + 1)));
  ASSERT_TRUE(identity_->create_session(session("s-3", "u-ann", kNow + 2)));
  ASSERT_TRUE(identity_->create_session(session("s-gone", "u-ann", kNow + 3)));
  ASSERT_TRUE(identity_->revoke_session(kTenantA, "s-gone", kNow + 4));
  Session expired = session("s-expired", "u-ann", kNow);
  expired.expires_at = kNow + 10;
  ASSERT_TRUE(identity_->create_session(expired));
  ASSERT_TRUE(identity_->create_session(session("s-amy", "u-amy", kNow)));

  auto n = identity_->revoke_user_sessions(kTenantA, "u-ann", kNow + 10, "s-2");
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 2U) << "live sessions only: not the kept, revoked or expired ones";
  EXPECT_EQ(identity_->get_session(kTenantA, "s-1")->revoked_at, kNow + 10);
  EXPECT_FALSE(identity_->get_session(kTenantA, "s-2")->revoked_at);
  EXPECT_EQ(identity_->get_session(kTenantA, "s-3")->revoked_at, kNow + 10);
  EXPECT_EQ(identity_->get_session(kTenantA, "s-gone")->revoked_at, kNow + 4);
  EXPECT_FALSE(identity_->get_session(kTenantA, "s-amy")->revoked_at);

  EXPECT_EQ(*identity_->revoke_user_sessions(kTenantA, "u-ann", kNow + 20), 1U);
  EXPECT_EQ(identity_->get_session(kTenantA, "s-2")->revoked_at, kNow + 20);
  EXPECT_EQ(*identity_->revoke_user_sessions(kTenantA, "u-bob", kNow + 20), 0U)
      << "another tenant's user";
  EXPECT_FALSE(identity_->find_session_by_token("token-s-amy")->session.revoked_at);
}

TEST_P(Identity, MovesASessionsLastSeenForwardOnly) {
  add_users();
  ASSERT_TRUE(identity_->create_session(session("s-1", "u-ann", kNow)));
  ASSERT_TRUE(identity_->touch_session("s-1", kNow + 500));
  EXPECT_EQ(identity_->get_session(kTenantA, "s-1")->last_seen_at, kNow + 500);
  ASSERT_TRUE(identity_->touch_session("s-1", kNow + 100));
  EXPECT_EQ(identity_->get_session(kTenantA, "s-1")->last_seen_at, kNow + 500);
}

HECS_STORE_ON_BOTH_BACKENDS(Identity);

}  // namespace
}  // namespace hecs::control::store
