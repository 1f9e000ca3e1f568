// Events (events.h): change counters per tenant, and the device streams waiting on them.
#include "control/devices/events.h"

#include <algorithm>

namespace hecs::control::devices {

std::uint64_t Events::version(const std::string& tenant) const {
  std::lock_guard lock(mutex_);
  auto it = versions_.find(tenant);
  return it == versions_.end() ? 0 : it->second;
}

std::uint64_t Events::wait(const std::string& tenant, std::uint64_t seen, Wake wake) {
  std::unique_lock lock(mutex_);
  auto it = versions_.find(tenant);
  if (it != versions_.end() && it->second > seen) {
    lock.unlock();
    wake(true);
    return 0;
  }
  const auto handle = next_handle_++;
  waiters_.push_back({handle, tenant, std::chrono::steady_clock::now(), std::move(wake)});
  return handle;
}

void Events::cancel(std::uint64_t handle) {
  std::lock_guard lock(mutex_);
  std::erase_if(waiters_, [&](const Waiter& w) { return w.handle == handle; });
}

void Events::notify(const std::vector<std::string>& tenants) {
  std::vector<Wake> woken;
  {
    std::lock_guard lock(mutex_);
    for (const auto& tenant : tenants) {
      ++versions_[tenant];
    }
    std::erase_if(waiters_, [&](Waiter& w) {
      if (std::find(tenants.begin(), tenants.end(), w.tenant) == tenants.end()) {
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

void Events::sweep(std::chrono::milliseconds idle) {
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

bool Events::acquire(std::size_t max) {
  std::lock_guard lock(mutex_);
  if (streams_ >= max) {
    return false;
  }
  ++streams_;
  return true;
}

void Events::release() {
  std::lock_guard lock(mutex_);
  if (streams_ > 0) {
    --streams_;
  }
}

std::size_t Events::streams() const {
  std::lock_guard lock(mutex_);
  return streams_;
}

}  // namespace hecs::control::devices
