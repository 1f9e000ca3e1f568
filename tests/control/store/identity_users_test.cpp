// IdentityStore on both backends: users and sessions (issue 5).
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "identity_fixture.h"

namespace hecs::control::store::identity_test {
namespace {

// The same fixture, its own suite: a suite is instantiated once per test binary.
class IdentityUsers : public Identity {};

// ---- users ------------------------------------------------------------------------------

TEST_P(IdentityUsers, CreatesAUserAndFindsItByUsername) {
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

TEST_P(IdentityUsers, RefusesAUsernameTakenInAnotherTenant) {
  ASSERT_TRUE(identity_->create_user(user("u-ann", "ann")));
  auto again = identity_->create_user(user("u-ann2", "ann", kTenantB));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::conflict);
  EXPECT_THAT(*identity_->list_users(kTenantB), IsEmpty());
}

TEST_P(IdentityUsers, ListsTheUsersOfOneTenantByUsername) {
  ASSERT_TRUE(identity_->create_user(user("u-2", "zoe")));
  ASSERT_TRUE(identity_->create_user(user("u-1", "adam")));
  ASSERT_TRUE(identity_->create_user(user("u-3", "bob", kTenantB)));
  auto users = identity_->list_users(kTenantA);
  ASSERT_TRUE(users) << users.error().message;
  ASSERT_EQ(users->size(), 2U);
  EXPECT_EQ((*users)[0].username, "adam");
  EXPECT_EQ((*users)[1].username, "zoe");
}

TEST_P(IdentityUsers, TreatsAUserOfAnotherTenantAsNotFoundAndLeavesItAlone) {
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

TEST_P(IdentityUsers, ChangesAUsersPasswordRoleAndDisabledTime) {
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

TEST_P(IdentityUsers, CountsTheOwnersOfATenantThatAreNotDisabled) {
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

TEST_P(IdentityUsers, FindsASessionByTokenWithWhatARequestNeedsOfItsUserAndTenant) {
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

TEST_P(IdentityUsers, ListsOnlyLiveSessionsOfTheTenantNewestFirst) {
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

TEST_P(IdentityUsers, RevokesOneSessionOnceAndNotAnotherTenants) {
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

TEST_P(IdentityUsers, RevokesEveryLiveSessionOfAUserButTheOneKept) {
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

TEST_P(IdentityUsers, MovesASessionsLastSeenForwardOnly) {
  add_users();
  ASSERT_TRUE(identity_->create_session(session("s-1", "u-ann", kNow)));
  ASSERT_TRUE(identity_->touch_session("s-1", kNow + 500));
  EXPECT_EQ(identity_->get_session(kTenantA, "s-1")->last_seen_at, kNow + 500);
  ASSERT_TRUE(identity_->touch_session("s-1", kNow + 100));
  EXPECT_EQ(identity_->get_session(kTenantA, "s-1")->last_seen_at, kNow + 500);
}

HECS_STORE_ON_BOTH_BACKENDS(IdentityUsers);

}  // namespace
}  // namespace hecs::control::store::identity_test
