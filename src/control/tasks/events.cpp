// Events (tasks.h): change counters per task, and the live streams waiting on them.
#include "control/tasks/tasks.h"

namespace hecs::control::tasks {

std::uint64_t Events::version(const std::string& task) const {
  std::lock_guard lock(mutex_);
  auto it = versions_.find(task);
  return it == versions_.end() ? 0 : it->second;
}

std::uint64_t Events::wait(const std::string& task, std::uint64_t seen, Wake wake) {
  std::unique_lock lock(mutex_);
  auto it = versions_.find(task);
  if (it != versions_.end() && it->second > seen) {
    lock.unlock();
    wake(true);
    return 0;
  }
  const auto handle = next_handle_++;
  waiters_.push_back({handle, task, std::chrono::steady_clock::now(), std::move(wake)});
  return handle;
}

void Events::cancel(std::uint64_t handle) {
  std::lock_guard lock(mutex_);
  std::erase_if(waiters_, [&](const Waiter& w) { return w.handle == handle; });
}

void Events::notify(const std::vector<std::string>& tasks) {
  std::vector<Wake> woken;
  {
    std::lock_guard lock(mutex_);
    for (const auto& task : tasks) {
      ++versions_[task];
    }
    std::erase_if(waiters_, [&](Waiter& w) {
      if (std::find(tasks.begin(), tasks.end(), w.task) == tasks.end()) {
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

}  // namespace hecs::control::tasks
