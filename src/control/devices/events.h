// Device events: a change counter per tenant, bumped after ingest or an enrolment decision has
// committed a change of a device's online state, hostname or enrolment state, and the live
// streams of GET /api/v1/devices/events waiting on it (docs/api.md). The streams read what
// changed from the store (devices.changed_at); the counter only wakes them.
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

namespace hecs::control::devices {

class Events {
 public:
  using Wake = std::function<void(bool changed)>;

  // The tenant's change counter now.
  std::uint64_t version(const std::string& tenant) const;
  // Calls `wake(true)` once the tenant's counter passes `seen` (at once if it has: returns 0
  // then), or `wake(false)` from sweep() when it waited longer than `idle`. Returns a handle for
  // cancel().
  std::uint64_t wait(const std::string& tenant, std::uint64_t seen, Wake wake);
  void cancel(std::uint64_t handle);
  void notify(const std::vector<std::string>& tenants);
  void sweep(std::chrono::milliseconds idle);

  // Stream slots: acquire() is false when `max` streams are open already.
  bool acquire(std::size_t max);
  void release();
  std::size_t streams() const;

 private:
  struct Waiter {
    std::uint64_t handle;
    std::string tenant;
    std::chrono::steady_clock::time_point since;
    Wake wake;
  };
  mutable std::mutex mutex_;
  std::map<std::string, std::uint64_t> versions_;
  std::vector<Waiter> waiters_;
  std::uint64_t next_handle_ = 1;
  std::size_t streams_ = 0;
};

}  // namespace hecs::control::devices
