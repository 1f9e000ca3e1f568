// hecs-sim's MQTT 3.1.1 client: one TCP socket per simulated agent and nothing else (libmosquitto
// holds three descriptors per client, which capped one process at about 6,600 agents under this
// machine's 20,000-descriptor limit), written directly on Boost.Asio with mqtt_codec.h.
//
// What it does: CONNECT with a will that may change per attempt, CONNACK checked, one
// subscription renewed on every connection (SUBACK checked), PUBLISH QoS 0/1 out with at most
// kMaxInFlight unacknowledged QoS 1 messages, PUBLISH QoS 0/1 in (PUBACK sent), PINGREQ when
// idle and the connection dropped when no PINGRESP comes within the keepalive, reconnection on
// any error with jittered exponential backoff, a clean DISCONNECT on stop.
//
// With ClientShared::tls set, each connection runs TLS over that same socket (sim_client_tls.cpp,
// tls.h): the handshake follows the TCP connect, then reads and writes go through the session,
// still driven by the socket's readiness; a client certificate per agent when given one.
//
// Threading: everything runs on the one thread that runs the io_context (hecs-sim has only one);
// no method may be called from another thread. Memory is kept small per client: reads land in
// the buffer of ClientShared, common to all clients, and a client keeps only the bytes of a
// packet not yet complete; the write buffers are released once they drain.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/log.h"
#include "common/result.h"
#include "sim/counters.h"
#include "sim/mqtt_codec.h"
#include "sim/random.h"
#include "sim/tls.h"

namespace hecs::sim {

// Unacknowledged QoS 1 publishes per connection; publish() refuses beyond.
inline constexpr std::size_t kMaxInFlight = 32;
// Bytes waiting to be written per connection; publish() refuses beyond (a stalled socket).
inline constexpr std::size_t kMaxQueuedBytes = std::size_t{256} * 1024;
inline constexpr std::chrono::milliseconds kMinBackoff{1000};
inline constexpr std::chrono::milliseconds kMaxBackoff{30000};
// How long a clean stop may take to write its last messages and DISCONNECT.
inline constexpr std::chrono::seconds kStopTimeout{5};

// What every client of the process shares. Outlives the clients.
struct ClientShared {
  std::vector<boost::asio::ip::tcp::endpoint> broker;  // tried in turn, one per attempt
  Counters& counters;
  std::vector<char> read_buffer = std::vector<char>(std::size_t{64} * 1024);
  std::size_t max_packet_bytes = mqtt::kDefaultMaxPacketBytes;
  log::Logger log = log::get("sim");
  const tls::Context* tls = nullptr;  // mqtts://: every connection is TLS; outlives the clients
  std::string tls_host{};             // what the broker's certificate must name
};

// The owner's side of a client. Called on the io_context's thread, never from inside a
// SimClient method that the owner itself called.
class ClientEvents {
 public:
  ClientEvents() = default;
  ClientEvents(const ClientEvents&) = delete;
  ClientEvents(ClientEvents&&) = delete;
  ClientEvents& operator=(const ClientEvents&) = delete;
  ClientEvents& operator=(ClientEvents&&) = delete;
  virtual ~ClientEvents() = default;
  // Before every connection attempt, failed ones included: the will of that attempt.
  virtual mqtt::Will will() = 0;
  // CONNACK accepted and the subscription sent; publish() works from now on.
  virtual void on_connected() = 0;
  // The link of a connection that on_connected announced is gone (not called by stop()).
  virtual void on_disconnected() = 0;
  // A PUBLISH from the broker; the views last until this returns.
  virtual void on_message(std::string_view topic, std::string_view payload) = 0;
};

class SimClient {
 public:
  // `shared`, `events` and `identity` outlive the client. `subscription` (a topic filter, QoS 1)
  // may be empty. `identity`: the client certificate of TLS connections; empty or null: none.
  SimClient(boost::asio::io_context& io, ClientShared& shared, ClientEvents& events,
            std::string client_id, std::uint16_t keepalive_s, std::string subscription,
            std::uint64_t seed, const tls::Identity* identity = nullptr);
  // Handlers in flight hold `this`: neither copied nor moved.
  SimClient(const SimClient&) = delete;
  SimClient(SimClient&&) = delete;
  SimClient& operator=(const SimClient&) = delete;
  SimClient& operator=(SimClient&&) = delete;
  ~SimClient() = default;

  void start();  // the first attempt now, then reconnects by itself until stop()
  // Writes what is queued and DISCONNECT when connected (so the broker drops the will), then
  // closes; `done` runs afterwards, from the io_context, never inside stop().
  void stop(std::function<void()> done);

  bool connected() const { return state_ == State::connected; }
  // Errc::unavailable while not connected, with kMaxInFlight QoS 1 messages unacknowledged, or
  // kMaxQueuedBytes waiting; Errc::invalid_input for what MQTT cannot carry. Never buffers
  // beyond those bounds, never blocks.
  Result<void> publish(std::string_view topic, std::string_view payload, int qos, bool retain);

 private:
  enum class State { idle, waiting, connecting, handshaking, connected, stopping, stopped };
  using Clock = std::chrono::steady_clock;

  void attempt();
  void on_tcp_connected(std::uint32_t generation, boost::system::error_code ec);
  void on_link_up();  // TCP, and TLS when used, are ready: CONNECT goes out
  void arm_read();
  void on_readable(std::uint32_t generation, boost::system::error_code ec);
  void on_written(boost::system::error_code ec);
  // TLS (sim_client_tls.cpp): each step runs until the session wants the socket, then waits.
  void tls_start();
  void tls_handshake();
  void tls_read();
  void tls_write();
  // Calls `then` once the socket is ready for `what`, unless the link ended meanwhile.
  void tls_wait(tls::Io what, void (SimClient::*then)());
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
  std::uint32_t attempts_ = 0;  // picks the broker endpoint
  std::chrono::milliseconds backoff_ = kMinBackoff;
  Clock::time_point deadline_{};
  Clock::time_point last_in_{}, last_out_{}, ping_sent_{};
  bool ping_outstanding_ = false;
  bool writing_now_ = false;
  std::string out_;      // packets queued behind the write in flight
  std::string writing_;  // the bytes of the one async_write in flight
  std::string pending_;  // an incoming packet not yet complete
  std::uint16_t packet_id_ = 0;
  std::uint16_t subscribe_id_ = 0;  // the SUBSCRIBE awaiting its SUBACK, 0 when none
  std::array<std::uint16_t, kMaxInFlight> in_flight_{};
  std::size_t in_flight_count_ = 0;
  std::function<void()> on_stopped_;
  const tls::Identity* identity_;
  tls::Session tls_;             // the session of the current link (TLS only)
  std::size_t tls_written_ = 0;  // bytes of writing_ the session took
};

}  // namespace hecs::sim
