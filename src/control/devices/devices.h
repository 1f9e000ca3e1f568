// Device ingest: turns up-messages from the broker into batched store writes (DESIGN §5: the
// ingest path never does one transaction per message). Validation is strict (proto); each
// rejected message is counted by reason and logged, never fatal.
//
// Threading: on_message() may be called from any thread; batches are written on the worker
// pool, one at a time, in arrival order.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "common/clock.h"
#include "common/metrics/metrics.h"
#include "control/devices/events.h"
#include "control/store/store.h"

namespace hecs::control::devices {

struct IngestOptions {
  std::string tenant_id;  // of devices without a row: plain MQTT without enrolment
  std::size_t max_batch = 2000;
  std::chrono::milliseconds flush_interval{50};
  std::size_t max_backlog = 200000;  // beyond it the oldest telemetry is dropped, and counted
  std::size_t max_message_bytes = 64 * 1024;
  // Called after each committed batch (on a worker thread), once per device, with the ids of its
  // telemetry messages now stored (new or already there), and for a telemetry message refused
  // for good (on the caller's thread): either way the agent may drop them.
  std::function<void(const std::string& device_id, std::vector<std::string> message_ids)>
      on_committed;
  // True for a revoked device: its messages are dropped and counted (DESIGN §3). Called on the
  // caller's thread for every message, so it must be cheap and thread-safe.
  std::function<bool(const std::string& device_id)> is_revoked;
  // Notified, after each committed batch (on a worker task of its own), of the tenants whose
  // devices sent hello or status in it (their online state or hostname may have changed), and
  // swept by the flush timer so that idle device streams send keepalives. None: no device
  // events. Outlives us and the worker pool.
  Events* events = nullptr;
  std::chrono::milliseconds events_idle{15000};
};

class Ingest {
 public:
  Ingest(boost::asio::io_context& io, boost::asio::thread_pool& workers,
         store::DeviceStore& devices, metrics::Registry& metrics, const Clock& clock,
         IngestOptions options);  // all references outlive us
  ~Ingest();
  Ingest(const Ingest&) = delete;
  Ingest& operator=(const Ingest&) = delete;

  void start();
  void on_message(const std::string& topic, const std::string& payload);
  // Writes what is queued, then stops the flush timer. Blocks the caller until done.
  void stop();
  std::size_t backlog() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace hecs::control::devices
