// IdentityStore on both backends: tenants and API keys (issue 5).
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "identity_fixture.h"

namespace hecs::control::store::identity_test {
namespace {

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

HECS_STORE_ON_BOTH_BACKENDS(Identity);

}  // namespace
}  // namespace hecs::control::store::identity_test
