// Session tokens and their verification.
#include <algorithm>

#include "common/crypto/crypto.h"
#include "control/auth/auth.h"

namespace hecs::control::auth {
namespace {

constexpr std::size_t kTokenBytes = 32;
constexpr std::size_t kTokenChars = 43;  // base64url of 32 bytes, no padding

}  // namespace

std::string generate_session_token() {
  return std::string(kSessionPrefix) + crypto::base64url_encode(crypto::random_bytes(kTokenBytes));
}

bool well_formed_session_token(std::string_view token) {
  if (token.size() != kSessionPrefix.size() + kTokenChars || !token.starts_with(kSessionPrefix)) {
    return false;
  }
  return std::all_of(token.begin() + static_cast<std::ptrdiff_t>(kSessionPrefix.size()),
                     token.end(), [](char c) {
                       return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                              (c >= '0' && c <= '9') || c == '-' || c == '_';
                     });
}

std::string generate_csrf_token() { return crypto::base64url_encode(crypto::random_bytes(32)); }

std::optional<store::SessionGrant> SessionCache::find(const std::string& hash,
                                                      std::int64_t now_ms) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(hash);
  if (it == entries_.end() || now_ms < it->second.fetched_at ||
      now_ms - it->second.fetched_at >= ttl_ms_) {
    return std::nullopt;
  }
  return it->second.grant;
}

void SessionCache::put(const std::string& hash, const store::SessionGrant& grant,
                       std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  if (entries_.size() >= capacity_ && !entries_.contains(hash)) {
    entries_.clear();
  }
  entries_[hash] = Entry{grant, now_ms};
}

void SessionCache::forget_session(const std::string& session_id) {
  std::lock_guard lock(mutex_);
  std::erase_if(entries_, [&](const auto& e) { return e.second.grant.session.id == session_id; });
}

void SessionCache::clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
}

Result<Principal> authenticate_session(store::IdentityStore& identities, std::string_view token,
                                       bool from_cookie, const Clock& clock,
                                       const SessionPolicy& policy, SessionCache* cache) {
  if (!well_formed_session_token(token)) {
    return fail(Errc::unauthorized, "invalid or expired session");
  }
  const std::int64_t now = clock.now_ms();
  const std::string hash = hash_api_key(token);
  auto cached = cache != nullptr ? cache->find(hash, now) : std::nullopt;
  Result<store::SessionGrant> grant = cached ? Result<store::SessionGrant>(std::move(*cached))
                                             : identities.find_session_by_token(hash);
  if (!grant) {
    if (grant.error().code == Errc::not_found) {
      return fail(Errc::unauthorized, "invalid or expired session");
    }
    return tl::unexpected(grant.error());
  }
  if (!cached && cache != nullptr) {
    cache->put(hash, *grant, now);
  }
  const store::Session& s = grant->session;
  auto role = parse_role(grant->role);
  // A cookie token is only good as a cookie and a bearer token only as a bearer token: a token
  // that leaked from one place cannot be replayed through the other.
  const bool right_channel = (s.kind == "cookie") == from_cookie;
  if (s.revoked_at || now >= s.expires_at || now - s.last_seen_at >= policy.idle_ms ||
      grant->user_disabled_at || grant->tenant_disabled_at || !role || !right_channel) {
    return fail(Errc::unauthorized, "invalid or expired session");
  }
  if (now - s.last_seen_at >= policy.touch_every_ms) {
    if (identities.touch_session(s.id, now)) {
      if (cache != nullptr) {
        auto touched = *grant;
        touched.session.last_seen_at = now;
        cache->put(hash, touched, now);
      }
    }
  }
  Principal p;
  p.kind = Principal::Kind::session;
  p.tenant_id = s.tenant_id;
  p.role = *role;
  p.user_id = s.user_id;
  p.session_id = s.id;
  p.username = grant->username;
  p.cookie = from_cookie;
  p.csrf_hash = s.csrf_hash;
  return p;
}

}  // namespace hecs::control::auth
