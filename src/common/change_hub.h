// A change counter per key (a tenant, a task), and the live streams waiting on it: a writer bumps
// the keys it changed once its transaction committed (notify), a stream remembers the counter it
// last read (version) and waits for it to move (wait). The counter only wakes streams; they read
// what changed from the store themselves, so a slow reader holds nothing back. Used by the device
// and task event streams of hecs-control (docs/api.md).
//
// Threading: every member may be called from any thread. Wake callbacks run on the notifying or
// sweeping thread, outside the lock.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace hecs {

class ChangeHub {
 public:
  using Wake = std::function<void(bool changed)>;

  // The key's change counter now (0 before any change).
  std::uint64_t version(const std::string& key) const;
  // Calls `wake(true)` once the key's counter passes `seen` (at once if it has: returns 0 then),
  // or `wake(false)` from sweep() when it waited longer than `idle`. Returns a handle for
  // cancel().
  std::uint64_t wait(const std::string& key, std::uint64_t seen, Wake wake);
  void cancel(std::uint64_t handle);
  void notify(const std::vector<std::string>& keys);
  void sweep(std::chrono::milliseconds idle);

  // Stream slots: acquire() is false when `max` streams are open already.
  bool acquire(std::size_t max);
  void release();
  std::size_t streams() const;

 private:
  struct Waiter {
    std::uint64_t handle;
    std::string key;
    std::chrono::steady_clock::time_point since;
    Wake wake;
  };
  mutable std::mutex mutex_;
  std::map<std::string, std::uint64_t> versions_;
  std::vector<Waiter> waiters_;
  std::uint64_t next_handle_ = 1;
  std::size_t streams_ = 0;
};

}  // namespace hecs
