// Service::Impl (private to src/control/tasks): shared by service.cpp and results.cpp.
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <mutex>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/log.h"
#include "control/tasks/tasks.h"

namespace hecs::control::tasks {

struct Service::Impl : std::enable_shared_from_this<Service::Impl> {
  Impl(boost::asio::io_context& io, boost::asio::thread_pool& workers, store::TaskStore& tasks,
       store::GroupStore& groups, store::DeviceStore& devices, metrics::Registry& metrics,
       const Clock& clock, SendFn send, AckFn ack, Limits limits);

  Result<std::vector<std::string>> resolve(const std::string& tenant_id, const Target& target);
  Result<store::TaskRow> create(const std::string& tenant_id, const std::string& actor,
                                TaskRequest request);
  Result<std::size_t> cancel(const std::string& tenant_id, const std::string& task_id,
                             const std::optional<std::string>& device);
  void on_hello(const std::string& device_id);
  std::optional<boost::json::object> spec_of(const std::string& task_id);

  // Dispatch (service.cpp): on the workers, one pass at a time.
  void kick();
  void kick_after_results();
  void dispatch();
  void dispatch_one(const store::TaskRow& task, std::int64_t now);
  void send_runs(const std::string& task_id, const std::vector<std::string>& devices,
                 std::int64_t now);
  void arm_dispatch();

  // Results (results.cpp).
  void on_result(const std::string& device_id, const std::string& payload);
  void reject(std::string_view reason, const std::string& device_id, const std::string& why);
  void arm_results();
  void flush_results();
  std::size_t batch_size() const;  // under result_mutex
  void write_results(std::vector<store::ResultItem> batch);
  void drain();

  boost::asio::io_context& io;
  boost::asio::thread_pool& workers;
  store::TaskStore& tasks;
  store::GroupStore& groups;
  store::DeviceStore& devices;
  metrics::Registry& metrics;
  const Clock& clock;
  SendFn send;
  AckFn ack;
  Limits limits;
  boost::asio::steady_timer dispatch_timer;
  boost::asio::steady_timer result_timer;
  boost::asio::steady_timer kick_timer;  // on io; see kick_after_results
  std::atomic<bool> kick_timer_armed{false};
  std::atomic<std::chrono::steady_clock::rep> last_dispatch{0};
  log::Logger log;
  Events events;
  metrics::Counter* commands_sent;
  metrics::Counter* results_stored;
  metrics::Counter* results_ignored;
  metrics::Counter* results_dropped;
  metrics::Counter* local_created;
  metrics::Counter* local_refused;

  std::atomic<bool> stopped{false};
  std::atomic<bool> kicked{false};
  std::atomic<bool> kick_again{false};
  std::mutex dispatch_mutex;
  std::int64_t last_expiry = 0;  // these three under dispatch_mutex
  std::int64_t last_stale_check = 0;
  bool check_stale = true;

  std::mutex spec_mutex;
  std::map<std::string, boost::json::object> specs;  // task id → the body sent

  mutable std::mutex result_mutex;
  std::deque<store::ResultItem> results;
  bool writing = false;
};

}  // namespace hecs::control::tasks
