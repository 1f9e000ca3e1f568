// Acks to agents (DESIGN §4): once a batch is committed, each device whose messages it stored
// is told it may drop them from its outbox. An ack changes nothing the operator sees, so it
// gives way to the work that does:
// - a thread of its own, at the lowest CPU priority, signs and sends acks in the order they
//   came, on CPU nothing else wants;
// - while messages arrive in a burst (a task fanned out to the whole fleet answering: more
//   than burst_per_window in the current or the last window), that thread holds them, so the
//   signing, the broker's routing and the devices' checks of acks do not slow the results;
// - waiting is bounded: an ack older than max_lag is sent by a worker at normal priority
//   (counted in hecs_acks_overdue_total).
// Acks waiting for the same device are merged into one message, up to proto::kMaxAckIds ids.
//
// What cannot be sent (broker down, or still waiting at stop) is dropped, not retried: the
// agent sends the message again after its ack timeout and gets its ack then.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/object.hpp>

#include "common/metrics/metrics.h"

namespace hecs::control::devices {

struct AckOptions {
  // Far below an agent's ack timeout (60 s by default), so a slow ack never makes it resend.
  std::chrono::milliseconds max_lag{2000};
  int nice = 19;  // of the background thread
  // A burst: more than this many arrived() calls within one window (1,000 a second).
  std::size_t burst_per_window = 100;
  std::chrono::milliseconds window{100};
  // False: no background thread, acks leave only through send_overdue() (tests of the bound).
  bool background = true;
};

class AckQueue {
 public:
  // Signs and publishes one "ack" command; false when it could not be sent.
  using SendFn = std::function<bool(const std::string& device_id, boost::json::object ack)>;
  using Now = std::function<std::chrono::steady_clock::time_point()>;

  AckQueue(
      boost::asio::io_context& io, boost::asio::thread_pool& workers, metrics::Registry& metrics,
      SendFn send, AckOptions options = {},
      Now now = [] { return std::chrono::steady_clock::now(); });  // references outlive us
  ~AckQueue();
  AckQueue(const AckQueue&) = delete;
  AckQueue& operator=(const AckQueue&) = delete;

  // Starts the background thread and the timer that sends overdue acks every max_lag / 4.
  void start();
  // From any thread: `ids` of `device_id` are committed.
  void add(const std::string& device_id, std::vector<std::string> ids);
  // From any thread: a message that will be acked has arrived (counts towards a burst).
  void arrived();
  // Sends, on the caller's thread, every ack that has waited max_lag or longer; how many
  // devices it sent to.
  std::size_t send_overdue();
  // Stops the thread and the timer, and waits for a send_overdue() under way; what still waits
  // is dropped, and `send` is not called again. Idempotent; the destructor calls it.
  void stop();
  std::size_t pending() const;  // ids waiting

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with the timer's handlers and the workers' tasks
};

}  // namespace hecs::control::devices
