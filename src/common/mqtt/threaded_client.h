// The project's MQTT client (client.h) for a process whose io_context runs on several threads:
// hecs-control, and the tests' helpers. The client lives on a strand of its own; every callback
// runs on that strand, and publish() may be called from any thread.
//
// Destroy only after stop() completed and after the io_context stopped running this client's
// handlers (as with any Asio object whose handlers point to it).
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
  // The packet id (QoS 1) or 0 (QoS 0). From another thread it waits for the strand (up to 5 s:
  // Errc::unavailable after that, or while disconnected, or when the in-flight window or the
  // write queue is full); Errc::invalid_input for what MQTT cannot carry.
  Result<int> publish(const std::string& topic, const std::string& payload, int qos, bool retain);
  // Certificate renewal: these files from now on, and a new connection at once. The files are
  // read now: Errc::invalid_input when they do not load (the old ones stay in use).
  Result<void> reconnect_with_tls(const net::MqttTls& tls);

 private:
  struct Impl;
  explicit ThreadedClient(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace hecs::mqtt
