// The IdentityStore tests' fixture and row makers (identity_store_test.cpp: tenants and API
// keys; identity_users_test.cpp: users and sessions).
#pragma once

#include <optional>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "control/store/store.h"
#include "store_fixture.h"

namespace hecs::control::store::identity_test {
using ::testing::ElementsAre;
using ::testing::IsEmpty;

inline constexpr const char* kTenantC = "33333333-3333-4333-8333-333333333333";
inline constexpr std::int64_t kNow = 1'700'000'000'000;

inline Tenant tenant(const std::string& id, const std::string& name) {
  Tenant out;
  out.id = id;
  out.name = name;
  out.created_at = kNow;
  return out;
}

inline ApiKey api_key(const std::string& id, const std::string& tenant_id = kTenantA,
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

inline User user(const std::string& id, const std::string& username,
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

inline Session session(const std::string& id, const std::string& user_id, std::int64_t created_at,
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

inline std::vector<std::string> key_ids(const std::vector<ApiKey>& keys) {
  std::vector<std::string> out;
  out.reserve(keys.size());
  for (const ApiKey& k : keys) {
    out.push_back(k.id);
  }
  return out;
}

inline std::vector<std::string> session_ids(const std::vector<Session>& sessions) {
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

}  // namespace hecs::control::store::identity_test
