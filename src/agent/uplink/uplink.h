// The agent's link to the control plane (DESIGN §4): device identity and session number, the
// SQLite outbox, and the MQTT connection that drains it.
//
// Everything that must reach the control plane goes through the outbox: it is committed first,
// published with QoS 1 in order, and removed only when the control plane acknowledges it on the
// device's down/cmd topic, which it does after its own commit (DESIGN §4). Unacknowledged
// entries are sent again on every new connection and after kResendAfter; the control plane
// keeps each message once (by message id), so a resend is harmless.
//
// Threading: Uplink lives on the agent's single io_context thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/result.h"

namespace hecs::agent::uplink {

// ---- identity ---------------------------------------------------------------------------

struct Identity {
  std::string device_id;  // UUID created on first start, kept in STATE_DIR/device-id
};

// Loads the device id, or creates it (0600, written to a temp file, fsynced, renamed).
// Errc::corrupt when the file exists but does not hold a UUID.
Result<Identity> load_or_create_identity(const std::filesystem::path& state_dir);

// The connection counter of DESIGN §4 (S28), persisted in STATE_DIR/session so that it keeps
// growing across restarts. next() returns the new value after it is durably stored. Open it
// before load_or_create_identity(): a missing counter next to an existing device id restarts
// from the wall clock, above any session sent before.
class SessionCounter {
 public:
  static Result<SessionCounter> open(const std::filesystem::path& state_dir);
  Result<std::uint64_t> next();
  std::uint64_t current() const { return value_; }

 private:
  std::filesystem::path path_;
  std::uint64_t value_ = 0;
};

// ---- outbox -----------------------------------------------------------------------------

struct OutboxEntry {
  std::int64_t seq = 0;
  std::string topic;
  std::string payload;
  std::string msg_id;  // the envelope id, which the control plane's ack names
};

struct OutboxLimits {
  std::size_t max_entries = 100000;
  std::size_t max_bytes = 32 * 1024 * 1024;
};

class Outbox {
 public:
  // Opens (creating) STATE_DIR/outbox.db in WAL mode. A database that fails its quick_check is
  // moved aside and replaced (S32); quarantined() then names where it went.
  static Result<std::unique_ptr<Outbox>> open(const std::filesystem::path& path,
                                              OutboxLimits limits, bool synchronous_full);
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Appends and commits; when over a limit, drops the oldest entries first and counts them.
  Result<std::int64_t> append(const std::string& topic, const std::string& payload,
                              const std::string& msg_id);
  Result<std::vector<OutboxEntry>> peek(std::int64_t after_seq, std::size_t max);
  Result<void> remove(std::int64_t seq);
  // Removes the entries with these message ids, in one transaction; returns how many went.
  Result<std::size_t> acknowledge(const std::vector<std::string>& msg_ids);
  Result<std::size_t> size();
  std::uint64_t dropped() const { return dropped_; }
  const std::string& quarantined() const { return quarantined_; }

 private:
  struct Handles;
  explicit Outbox(std::unique_ptr<Handles> handles, OutboxLimits limits);
  std::unique_ptr<Handles> h_;
  OutboxLimits limits_;
  std::uint64_t dropped_ = 0;
  std::string quarantined_;
};

// ---- the connection ---------------------------------------------------------------------

struct UplinkOptions {
  std::string mqtt_url = "mqtt://127.0.0.1:1883";
  int keepalive_s = 30;
  std::size_t max_in_flight = 100;  // sent, not yet acknowledged by the control plane
  // Unacknowledged entries are sent again after this long without any ack.
  std::chrono::seconds resend_after{60};
};

class Uplink {
 public:
  // `hello_body` builds the hello body (JSON text) for a session number. All references
  // outlive us.
  Uplink(boost::asio::io_context& io, const Identity& identity, SessionCounter& sessions,
         Outbox& outbox, UplinkOptions options,
         std::function<std::string(std::uint64_t session)> hello_envelope);
  ~Uplink();
  Uplink(const Uplink&) = delete;
  Uplink& operator=(const Uplink&) = delete;

  Result<void> start();
  void stop(std::function<void()> done);
  // Commits a message to the outbox and sends it as soon as the link allows; `msg_id` is its
  // envelope id.
  Result<void> send(const std::string& topic, const std::string& payload,
                    const std::string& msg_id);
  bool connected() const;
  std::uint64_t published() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace hecs::agent::uplink
