// Login throttling (S39): a sliding window of failures per account and per client address.
#include <algorithm>

#include "control/auth/auth.h"

namespace hecs::control::auth {

std::optional<std::int64_t> LoginThrottle::wait(
    const std::unordered_map<std::string, Failures>& map, const std::string& key,
    std::uint32_t limit, std::int64_t now) const {
  auto it = map.find(key);
  if (it == map.end()) {
    return std::nullopt;
  }
  const auto& at = it->second.at;
  auto recent = std::count_if(at.begin(), at.end(),
                              [&](std::int64_t t) { return t > now - limits_.window_ms; });
  if (static_cast<std::uint32_t>(recent) < limit) {
    return std::nullopt;
  }
  // Free again when the oldest failure that counts leaves the window.
  std::int64_t oldest = at[at.size() - limit];
  std::int64_t ms = oldest + limits_.window_ms - now;
  return std::max<std::int64_t>(1, (ms + 999) / 1000);
}

void LoginThrottle::add(std::unordered_map<std::string, Failures>& map, const std::string& key,
                        std::uint32_t limit, std::int64_t now) {
  if (map.size() >= limits_.max_entries && !map.contains(key)) {
    // Drop the entries whose failures all left the window; if none did, the one with the
    // oldest last failure. An attacker with many addresses can only forget their own.
    std::erase_if(map,
                  [&](const auto& e) { return e.second.at.back() <= now - limits_.window_ms; });
    if (map.size() >= limits_.max_entries) {
      auto oldest = std::min_element(map.begin(), map.end(), [](const auto& a, const auto& b) {
        return a.second.at.back() < b.second.at.back();
      });
      map.erase(oldest);
    }
  }
  auto& at = map[key].at;
  at.push_back(now);
  if (at.size() > limit) {
    at.erase(at.begin(), at.end() - limit);
  }
}

std::optional<std::int64_t> LoginThrottle::retry_after_s(const std::string& account,
                                                         const std::string& source,
                                                         std::int64_t now_ms) const {
  std::lock_guard lock(mutex_);
  auto a = wait(accounts_, account, limits_.per_account, now_ms);
  auto s = wait(sources_, source, limits_.per_source, now_ms);
  if (a && s) {
    return std::max(*a, *s);
  }
  return a ? a : s;
}

void LoginThrottle::failed(const std::string& account, const std::string& source,
                           std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  add(accounts_, account, limits_.per_account, now_ms);
  add(sources_, source, limits_.per_source, now_ms);
}

void LoginThrottle::succeeded(const std::string& account) {
  std::lock_guard lock(mutex_);
  accounts_.erase(account);
}

std::string source_address(std::string_view remote) {
  if (remote.starts_with('[')) {
    auto end = remote.find(']');
    return std::string(remote.substr(1, end == std::string_view::npos ? remote.npos : end - 1));
  }
  auto colon = remote.rfind(':');
  if (colon != std::string_view::npos && remote.find(':') == colon) {
    return std::string(remote.substr(0, colon));
  }
  return std::string(remote);
}

}  // namespace hecs::control::auth
