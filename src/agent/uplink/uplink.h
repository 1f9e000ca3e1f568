// The agent's link to the control plane (DESIGN §4): device identity and session number, the
// SQLite outbox, and the MQTT connection that drains it.
//
// Everything that must reach the control plane goes through the outbox: it is committed first,
// published with QoS 1 in order, and removed only after the broker's PUBACK. A crash between
// PUBACK and removal re-sends the message; the control plane keeps it once (by message id).
//
// Threading: Uplink lives on the agent's single io_context thread.
#pragma once

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
  Result<std::int64_t> append(const std::string& topic, const std::string& payload);
  Result<std::vector<OutboxEntry>> peek(std::int64_t after_seq, std::size_t max);
  Result<void> remove(std::int64_t seq);
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
  std::size_t max_in_flight = 100;
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
  // Commits a message to the outbox and sends it as soon as the link allows.
  Result<void> send(const std::string& topic, const std::string& payload);
  bool connected() const;
  std::uint64_t published() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace hecs::agent::uplink
