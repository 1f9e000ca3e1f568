// The project's MQTT client (client.h) for a process whose io_context runs on several threads:
// hecs-control, and the tests' helpers. The client lives on a strand of its own; every callback
// runs on that strand, and publish() may be called from any thread.
//
// May be destroyed while its loop runs: a client still running stops (without waiting) and lives
// on until its handlers have run, calling back no more. A callback already running on the strand
// is not waited for: destroy it from outside its callbacks once what they touch no longer matters
// (after stop() completed, usually).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>

#include "common/mqtt/codec.h"
#include "common/net/mqtt.h"
#include "common/result.h"

namespace hecs::mqtt {

struct ThreadedOptions {
  std::string url;                  // mqtt://host[:port] or mqtts://host[:port]
  std::optional<net::MqttTls> tls;  // mqtts:// only, and required there
  std::string client_id;            // 1..128 characters
  std::string tls_common_name;      // the CN our certificate must carry; empty: client_id
  bool clean_session = true;
  int keepalive_s = 30;
  std::string subscription;  // one topic filter, QoS 1, renewed on every connection; may be empty
  std::size_t max_packet_bytes = kDefaultMaxPacketBytes;  // largest packet taken from the broker
  std::size_t max_in_flight = 1024;                       // QoS 1 publishes awaiting a PUBACK
  std::size_t max_queued_bytes = std::size_t{64} * 1024 * 1024;  // waiting to be written
  std::chrono::milliseconds min_backoff{500};  // reconnection delays, doubling up to max
  std::chrono::milliseconds max_backoff{30000};
};

struct Message {
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retain = false;
};

class ThreadedClient {
 public:
  // Errc::invalid_input for a bad URL or client id, TLS asked for and not configured (or the
  // other way round), or TLS files that do not load.
  static Result<std::unique_ptr<ThreadedClient>> create(boost::asio::io_context& io,
                                                        ThreadedOptions options);
  ~ThreadedClient();
  ThreadedClient(const ThreadedClient&) = delete;
  ThreadedClient& operator=(const ThreadedClient&) = delete;
  ThreadedClient(ThreadedClient&&) = delete;
  ThreadedClient& operator=(ThreadedClient&&) = delete;

  // Set before start(); called on the client's strand.
  std::function<void()> on_connect;     // CONNACK accepted, subscription sent
  std::function<void()> on_disconnect;  // a link that on_connect announced is gone
  std::function<void(const Message&)> on_message;
  std::function<void(int packet_id)> on_published;  // the broker's PUBACK of a QoS 1 publish

  void start();
  // Writes what is queued, DISCONNECT (so the broker drops the will), closes; `done` runs after.
  void stop(std::function<void()> done = {});
  bool connected() const;
  // Queues a message for the strand, from any thread, the strand included, without waiting:
  // messages go out in the order of these calls (a caller that numbers its messages under its
  // own lock, as signed commands are, keeps their order). Errc::unavailable while disconnected.
  // What fails on the strand (a full in-flight window or write queue, a topic MQTT cannot
  // carry) is logged and counted in failed_publishes(); `done`, when given, gets the packet id
  // (QoS 1), 0 (QoS 0) or the error, on the strand.
  Result<void> publish(std::string topic, std::string payload, int qos, bool retain,
                       std::function<void(Result<int>)> done = {});
  std::uint64_t failed_publishes() const;
  // Certificate renewal: these files from now on, and a new connection at once. The files are
  // read now: Errc::invalid_input when they do not load (the old ones stay in use).
  Result<void> reconnect_with_tls(const net::MqttTls& tls);

 private:
  struct Impl;
  explicit ThreadedClient(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace hecs::mqtt
