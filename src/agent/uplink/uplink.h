// The agent's link to the control plane (DESIGN §4): device identity and session number, the
// SQLite outbox, and the MQTT connection that drains it.
//
// Everything that must reach the control plane goes through the outbox: it is committed first,
// published with QoS 1 in order, and removed only when the control plane acknowledges it with a
// signed "ack" command on the device's down/cmd topic, which it sends after its own commit
// (DESIGN §4); the CommandGate below decides which commands count. Unacknowledged entries are
// sent again on every new connection and after resend_after; the control plane keeps each
// message once (by message id), so a resend is harmless.
//
// Threading: Uplink lives on the agent's single io_context thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/net/mqtt.h"
#include "common/result.h"
#include "proto/proto.h"

struct sqlite3;

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
  std::size_t max_bytes = std::size_t{32} * 1024 * 1024;
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
  Outbox(Outbox&&) = delete;
  Outbox& operator=(Outbox&&) = delete;

  // Appends and commits; when over a limit, drops the oldest droppable entries first (telemetry)
  // and counts them. Task results and events are appended with droppable=false: they are never
  // dropped for space (DESIGN §4), and only bounded by the work that makes them.
  Result<std::int64_t> append(const std::string& topic, const std::string& payload,
                              const std::string& msg_id, bool droppable = true);
  // Runs `body` in one transaction (BEGIN IMMEDIATE … COMMIT, rolled back when it fails), so
  // that other tables of this database (the task journal) change together with what `body`
  // appends. `durable` commits with synchronous=FULL whatever the outbox was opened with.
  Result<void> transaction(const std::function<Result<void>()>& body, bool durable);
  // The database, for the tables that live beside the outbox (agent/tasks' journal). Only for
  // use on the agent's io thread, like the outbox itself.
  sqlite3* database();
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
  bool synchronous_full_ = false;
};

// ---- command gate (down/cmd) -------------------------------------------------------------

// Decides which down/cmd messages the agent obeys (DESIGN §3): signed by a command-signing key
// it holds, addressed to this device, not expired, and with a seq above every one accepted
// before, across restarts. State in STATE_DIR: command-keys.json (the keys, as a "keys" body)
// and command-seq (the highest accepted seq), both 0600, replaced by temp file and rename.
// The agent has no metrics registry yet: refusals are counted here, per reason (refused()), and
// each is logged as `command.refused reason=<reason> total=<count of that reason>`.
//
// Threading: the agent's io_context thread only.
class CommandGate {
 public:
  // Loads the state. Missing files mean a device not enrolled yet: no keys (every command is
  // refused unknown_key until set_keys) and seq 0. Errc::corrupt when a file is damaged, or
  // when keys exist without a seq file (set_keys writes the seq file first, so only damage
  // gets there, and starting from 0 would accept replays); Errc::unavailable when unreadable.
  static Result<std::unique_ptr<CommandGate>> open(
      const std::filesystem::path& state_dir, std::string device_id,
      std::size_t max_bytes = proto::kDefaultMaxMessageBytes);

  // Replaces the keys and stores them durably: at enrolment, from the enrol response.
  // Errc::invalid_input for a key set parse_keys would refuse; Errc::unavailable when it cannot
  // be stored (the old keys stay).
  Result<void> set_keys(const proto::Keys& keys);
  const std::vector<proto::VerifyKey>& keys() const { return keys_; }

  // Verifies one down/cmd payload and, when it is accepted, stores its seq before returning it,
  // so a command is handed on at most once however often it is delivered. A verified "keys"
  // command is applied here (keys stored, then seq) and also returned; its body failing
  // parse_keys refuses it as malformed. A refusal is counted and logged (command.refused).
  tl::expected<proto::Command, proto::Refused> accept(std::string_view payload, std::int64_t now_s);

  std::uint64_t refused(proto::Refusal reason) const;
  std::uint64_t last_seq() const { return last_seq_; }

 private:
  CommandGate() = default;
  Result<void> store_keys(const proto::Keys& keys);
  void refuse(const proto::Refused& refused);

  std::filesystem::path keys_path_;
  std::filesystem::path seq_path_;
  std::string device_id_;
  std::size_t max_bytes_ = proto::kDefaultMaxMessageBytes;
  std::vector<proto::VerifyKey> keys_;
  std::uint64_t last_seq_ = 0;
  std::vector<std::uint64_t> refused_;  // indexed by proto::Refusal
};

// The command-signing keys from a file in the format of the control plane's
// DATA_DIR/pki/signing-keys.json: {"keys":[{"kid":…,"public_key":…(base64url), …}, …]}. Only
// kid and public_key are read, other members of an entry (state, created_at, …) are ignored;
// the set must pass proto::parse_keys. For the plain mode, where no enrolment brings the keys.
// Errc::not_found when missing, Errc::invalid_input naming the file and what is wrong.
Result<proto::Keys> read_command_keys_file(const std::filesystem::path& path);

// ---- the connection ---------------------------------------------------------------------

struct UplinkOptions {
  int keepalive_s = 30;
  std::size_t max_in_flight = 100;  // sent, not yet acknowledged by the control plane
  // An entry unacknowledged this long after it was sent goes out again, with those after it.
  std::chrono::seconds resend_after{60};
};

// Where to connect: a plain mqtt:// URL, or mqtts:// with the device's certificate (enrolled).
struct Transport {
  std::string mqtt_url;
  std::optional<net::MqttTls> tls;
};

class Uplink {
 public:
  // `hello_envelope` builds the hello message (JSON text) for a session number. All references
  // outlive us. Every down/cmd message goes through `gate`; acks are applied here, "keys" by the
  // gate, and any other accepted command is handed to the command handler.
  Uplink(boost::asio::io_context& io, const Identity& identity, SessionCounter& sessions,
         Outbox& outbox, CommandGate& gate, UplinkOptions options,
         std::function<std::string(std::uint64_t session)> hello_envelope);
  ~Uplink();
  Uplink(const Uplink&) = delete;
  Uplink& operator=(const Uplink&) = delete;
  Uplink(Uplink&&) = delete;
  Uplink& operator=(Uplink&&) = delete;

  // Accepted commands other than "ack" and "keys"; returns false for a type it does not handle
  // (logged as command.unsupported). Set before start().
  void set_command_handler(std::function<bool(const proto::Command&)> handler);
  // Connects, and keeps reconnecting. Until it is called, send() only fills the outbox (an agent
  // waiting for its enrolment keeps its telemetry). Errc::invalid_input for a bad transport.
  Result<void> start(Transport transport);
  void stop(std::function<void()> done);
  // Sends what the outbox holds, as far as the link allows (after appending to it directly).
  void flush();
  // Publishes a fresh hello (retained) in the current session: the inventory-refresh builtin.
  // Errc::unavailable while disconnected (the next connection sends one anyway).
  Result<void> send_hello();
  // Commits a message to the outbox and sends it as soon as the link allows; `msg_id` is its
  // envelope id.
  Result<void> send(const std::string& topic, const std::string& payload,
                    const std::string& msg_id);
  // Publishes once (QoS 1, not retained) without the outbox, for requests that are repeated
  // until answered (certificate renewal). Errc::unavailable while disconnected.
  Result<void> publish_now(const std::string& topic, const std::string& payload);
  // Certificate renewal: reconnects at once with these files, read now; Errc::invalid_input when
  // they do not load (the link stays on the old ones).
  Result<void> reconnect_with_tls(const net::MqttTls& tls);
  bool connected() const;
  std::uint64_t published() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace hecs::agent::uplink
