// The project's own MQTT 3.1.1 client, on Boost.Asio with codec.h: hecs-agent's and (through
// threaded_client.h) hecs-control's link to the broker, and each of hecs-sim's simulated agents.
// One TCP socket per client and nothing else.
//
// Why not libmosquitto (DESIGN §2): its client allocates whatever remaining length a broker
// announces (up to 256 MB, filled as the bytes arrive) and keeps every QoS 2 PUBLISH awaiting
// a PUBREL without limit, so a hostile or compromised broker could grow a node's memory at will
// (S23). Here an incoming packet is refused before a byte of it is buffered when it announces
// more than ClientShared::max_packet_bytes, and a QoS 2 PUBLISH, a malformed SUBACK, a second
// CONNACK or anything a client never receives ends the connection (counted, logged, retried).
//
// What it does: CONNECT with a will that may change per attempt, CONNACK checked, one
// subscription renewed on every connection (SUBACK checked), PUBLISH QoS 0/1 out with at most
// ClientShared::max_in_flight unacknowledged QoS 1 messages, PUBLISH QoS 0/1 in (PUBACK sent),
// PINGREQ when idle and the connection dropped when no PINGRESP comes within the keepalive,
// reconnection on any error with jittered exponential backoff, a clean DISCONNECT on stop.
//
// With ClientShared::tls set, each connection runs TLS over that same socket (client_tls.cpp,
// tls.h): the handshake follows the TCP connect, then reads and writes go through the session,
// still driven by the socket's readiness; a client certificate when given one.
//
// Threading: everything runs on the client's executor: the io_context of hecs-agent and hecs-sim,
// which run it on one thread, or a strand (threaded_client.h, for hecs-control). No method may
// be called from elsewhere. Memory is kept small
// per client: reads land in the buffer of ClientShared, common to all clients, and a client
// keeps only the bytes of a packet not yet complete; the write buffers are released once they
// drain.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/log.h"
#include "common/mqtt/codec.h"
#include "common/mqtt/tls.h"
#include "common/random.h"
#include "common/result.h"

namespace hecs::mqtt {

// How long a clean stop may take to write its last messages and DISCONNECT.
inline constexpr std::chrono::seconds kStopTimeout{5};

// What the clients of a process count. Touched only on the clients' executor.
struct ClientCounters {
  std::size_t connected = 0;           // clients connected now
  std::size_t connections = 0;         // CONNACKs accepted, reconnections included
  std::uint64_t puback_received = 0;   // broker PUBACKs of our QoS 1 publishes
  std::uint64_t connect_refused = 0;   // CONNACKs with a non-zero return code
  std::uint64_t subscribe_failed = 0;  // SUBACK return code 0x80
  std::uint64_t protocol_errors = 0;   // malformed, oversized or unexpected packets (link closed)
  std::uint64_t ping_timeouts = 0;     // no PINGRESP within the keepalive (link closed)
  std::uint64_t tls_failures = 0;      // TLS handshakes and sessions that failed (link dropped)
};

// What every client of the process shares. Outlives the clients.
struct ClientShared {
  // Tried in turn, one per attempt. Empty: `host` and `port` are resolved before each attempt
  // (without blocking the loop), and each address found is tried in turn.
  std::vector<boost::asio::ip::tcp::endpoint> broker;
  ClientCounters& counters;
  std::string host{};  // the broker's name: resolved when `broker` is empty, and what its
                       // certificate must name under TLS
  std::uint16_t port = 1883;
  std::vector<char> read_buffer = std::vector<char>(std::size_t{64} * 1024);
  // The largest packet a broker may send us; a larger one is refused from its fixed header.
  std::size_t max_packet_bytes = kDefaultMaxPacketBytes;
  // Unacknowledged QoS 1 publishes per connection, and bytes waiting to be written; publish()
  // refuses beyond (a stalled socket must not grow memory).
  std::size_t max_in_flight = 32;
  std::size_t max_queued_bytes = std::size_t{256} * 1024;
  // Reconnection delays: doubling from min to max, each with jitter down to half of it.
  std::chrono::milliseconds min_backoff{1000};
  std::chrono::milliseconds max_backoff{30000};
  log::Logger log = log::get("mqtt");
  // Level of the lines that say a link is up or lost: info for one agent, debug for thousands.
  spdlog::level::level_enum link_log_level = spdlog::level::info;
  const tls::Context* tls = nullptr;  // mqtts://: every connection is TLS; outlives the clients
};

// The owner's side of a client. Called on the client's executor, never from inside a
// Client method that the owner itself called.
class ClientEvents {
 public:
  ClientEvents() = default;
  ClientEvents(const ClientEvents&) = delete;
  ClientEvents(ClientEvents&&) = delete;
  ClientEvents& operator=(const ClientEvents&) = delete;
  ClientEvents& operator=(ClientEvents&&) = delete;
  virtual ~ClientEvents() = default;
  // Before every connection attempt, failed ones included: the will of that attempt.
  virtual std::optional<mqtt::Will> will() = 0;  // nullopt: none
  // CONNACK accepted and the subscription sent; publish() works from now on.
  virtual void on_connected() = 0;
  // The link of a connection that on_connected announced is gone (not called by stop()).
  virtual void on_disconnected() = 0;
  // A PUBLISH from the broker; the views last until this returns.
  virtual void on_message(const Publish& message) = 0;
  // The broker acknowledged our QoS 1 PUBLISH with this packet id (publish()'s result).
  virtual void on_published(std::uint16_t /*packet_id*/) {}
};

class Client {
 public:
  // `shared`, `events` and `identity` outlive the client. `subscription` (a topic filter, QoS 1)
  // may be empty. `identity`: the client certificate of TLS connections; empty or null: none.
  Client(const boost::asio::any_io_executor& executor, ClientShared& shared, ClientEvents& events,
         std::string client_id, std::uint16_t keepalive_s, std::string subscription,
         std::uint64_t seed, const tls::Identity* identity = nullptr);
  // Handlers in flight hold `this`: neither copied nor moved.
  Client(const Client&) = delete;
  Client(Client&&) = delete;
  Client& operator=(const Client&) = delete;
  Client& operator=(Client&&) = delete;
  ~Client() = default;

  void start();  // the first attempt now, then reconnects by itself until stop()
  // Writes what is queued and DISCONNECT when connected (so the broker drops the will), then
  // closes; `done` runs afterwards, from the executor, never inside stop().
  void stop(std::function<void()> done);

  bool connected() const { return state_ == State::connected; }
  // Errc::unavailable while not connected, with max_in_flight QoS 1 messages unacknowledged, or
  // max_queued_bytes waiting; Errc::invalid_input for what MQTT cannot carry. Never buffers
  // beyond those bounds, never blocks.
  // The packet id of a QoS 1 message (see ClientEvents::on_published), 0 for QoS 0.
  Result<std::uint16_t> publish(std::string_view topic, std::string_view payload, int qos,
                                bool retain);
  // Before start(): keep the broker session (and its queued QoS 1 messages) across connections.
  void set_clean_session(bool clean) { clean_session_ = clean; }
  // From now on connect with `identity` (null or empty: no client certificate), and reconnect at
  // once: a clean DISCONNECT first when connected, so the broker drops the will. What was
  // queued and QoS 1 messages awaiting their PUBACK are dropped with the link (owners keep
  // their own durability). Certificate renewal; `identity` outlives the client.
  void reconnect_with(const tls::Identity* identity);

 private:
  enum class State { idle, waiting, connecting, handshaking, connected, stopping, stopped };
  using Clock = std::chrono::steady_clock;

  void attempt();
  void connect_to(const boost::asio::ip::tcp::endpoint& endpoint);
  void resolve();
  void on_tcp_connected(std::uint32_t generation, boost::system::error_code ec);
  void on_link_up();  // TCP, and TLS when used, are ready: CONNECT goes out
  void arm_read();
  void on_readable(std::uint32_t generation, boost::system::error_code ec);
  void on_written(boost::system::error_code ec);
  // TLS (client_tls.cpp): each step runs until the session wants the socket, then waits.
  void tls_start();
  void tls_handshake();
  void tls_read();
  void tls_write();
  // Calls `then` once the socket is ready for `what`, unless the link ended meanwhile.
  void tls_wait(tls::Io what, void (Client::*then)());
  void tls_failed(const tls::Step& step, std::string_view doing);
  bool consume(std::string_view data);  // false when the connection was dropped
  void handle(const mqtt::Packet& packet);
  void on_connack(const mqtt::Connack& connack);
  void on_suback(const mqtt::Suback& suback);
  void flush();
  void arm_timer(Clock::time_point deadline);
  void on_deadline();
  void check_keepalive();
  // Closes the link; reconnects later unless stopping. `reason` is logged at `level`.
  void drop(spdlog::level::level_enum level, std::string_view reason);
  void finish_stop();
  std::uint16_t next_packet_id();

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;  // one deadline at a time: retry, connect, keepalive, stop
  ClientShared& shared_;
  ClientEvents& events_;
  std::string client_id_;
  std::string subscription_;
  std::chrono::seconds keepalive_;
  Rng rng_;
  State state_ = State::idle;
  // Bumped whenever a link ends: completions of an older link see a different number and do
  // nothing.
  std::uint32_t generation_ = 0;
  std::uint32_t attempts_ = 0;                                // picks the broker endpoint
  std::unique_ptr<boost::asio::ip::tcp::resolver> resolver_;  // only when shared_.broker is empty
  std::chrono::milliseconds backoff_;
  Clock::time_point deadline_{};
  Clock::time_point last_in_{}, last_out_{}, ping_sent_{};
  bool ping_outstanding_ = false;
  bool writing_now_ = false;
  std::string out_;      // packets queued behind the write in flight
  std::string writing_;  // the bytes of the one async_write in flight
  std::string pending_;  // an incoming packet not yet complete
  std::uint16_t packet_id_ = 0;
  std::uint16_t subscribe_id_ = 0;        // the SUBSCRIBE awaiting its SUBACK, 0 when none
  std::vector<std::uint16_t> in_flight_;  // packet ids awaiting their PUBACK
  bool reconnect_now_ = false;
  bool clean_session_ = true;  // reconnect_with(): attempt again as soon as the link is closed
  std::function<void()> on_stopped_;
  const tls::Identity* identity_;
  tls::Session tls_;             // the session of the current link (TLS only)
  std::size_t tls_written_ = 0;  // bytes of writing_ the session took
};

}  // namespace hecs::mqtt
