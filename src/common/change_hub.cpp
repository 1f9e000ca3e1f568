// ChangeHub (change_hub.h): change counters per key, and the streams waiting on them.
#include "common/change_hub.h"

#include <algorithm>

namespace hecs {

std::uint64_t ChangeHub::version(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = versions_.find(key);
  return it == versions_.end() ? 0 : it->second;
}

std::uint64_t ChangeHub::wait(const std::string& key, std::uint64_t seen, Wake wake) {
  std::unique_lock lock(mutex_);
  auto it = versions_.find(key);
  if (it != versions_.end() && it->second > seen) {
    lock.unlock();
    wake(true);
    return 0;
  }
  const auto handle = next_handle_++;
  waiters_.push_back({handle, key, std::chrono::steady_clock::now(), std::move(wake)});
  return handle;
}

void ChangeHub::cancel(std::uint64_t handle) {
  std::lock_guard lock(mutex_);
  std::erase_if(waiters_, [&](const Waiter& w) { return w.handle == handle; });
}

void ChangeHub::notify(const std::vector<std::string>& keys) {
  std::vector<Wake> woken;
  {
    std::lock_guard lock(mutex_);
    for (const auto& key : keys) {
      ++versions_[key];
    }
    std::erase_if(waiters_, [&](Waiter& w) {
      if (std::find(keys.begin(), keys.end(), w.key) == keys.end()) {
        return false;
      }
      woken.push_back(std::move(w.wake));
      return true;
    });
  }
  for (auto& wake : woken) {
    wake(true);
  }
}

void ChangeHub::sweep(std::chrono::milliseconds idle) {
  std::vector<Wake> woken;
  const auto before = std::chrono::steady_clock::now() - idle;
  {
    std::lock_guard lock(mutex_);
    std::erase_if(waiters_, [&](Waiter& w) {
      if (w.since > before) {
        return false;
      }
      woken.push_back(std::move(w.wake));
      return true;
    });
  }
  for (auto& wake : woken) {
    wake(false);
  }
}

bool ChangeHub::acquire(std::size_t max) {
  std::lock_guard lock(mutex_);
  if (streams_ >= max) {
    return false;
  }
  ++streams_;
  return true;
}

void ChangeHub::release() {
  std::lock_guard lock(mutex_);
  if (streams_ > 0) {
    --streams_;
  }
}

std::size_t ChangeHub::streams() const {
  std::lock_guard lock(mutex_);
  return streams_;
}

}  // namespace hecs
