// An MQTT client on the process's Asio loop: libmosquitto through its socket, no thread of its
// own (CONVENTIONS §6). Reconnects by itself with jittered exponential backoff and renews its
// subscriptions on every connection.
//
// Threading: every public method may be called from any thread (it posts to the client's
// strand); every callback runs on that strand. Destroy only after stop() and after the
// io_context stopped running handlers of this client.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>

#include "common/result.h"

namespace hecs::net {

struct MqttWill {
  std::string topic;
  std::string payload;
  int qos = 1;
  bool retain = true;
};

// mTLS to the broker (DESIGN §3). Paths to PEM files, read at every (re)connection attempt of
// a client handle; reconnect_with_tls() swaps them. The broker's certificate must chain to
// `ca_file` and name the URL's host (hostname verification is always on); TLS 1.2 at least.
struct MqttTls {
  std::string ca_file;
  std::string cert_file;  // our certificate; empty: connect without one (server-only TLS)
  std::string key_file;   // its private key; required with cert_file
};

struct MqttOptions {
  // mqtt://host:port (plain, default port 1883) or mqtts://host:port (TLS, default 8883,
  // requires `tls` with a CA file).
  std::string url = "mqtt://127.0.0.1:1883";
  std::optional<MqttTls> tls;
  std::string client_id;
  bool clean_session = true;
  int keepalive_s = 30;
  std::chrono::milliseconds min_backoff{500};
  std::chrono::milliseconds max_backoff{30000};
  // True when the io_context runs on one thread only (hecs-agent, hecs-sim): the client then
  // registers libmosquitto's own socket, one descriptor per client. With several threads it
  // registers a dup() instead, because libmosquitto closes its socket itself and another thread
  // could reuse the number before we deregister it.
  bool single_threaded_loop = false;
  // Called before every connection attempt: a will that changes per session (S28).
  std::function<std::optional<MqttWill>()> will;
};

struct MqttMessage {
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retain = false;
};

struct MqttUrl {
  std::string host;
  std::uint16_t port = 1883;
  bool tls = false;  // mqtts://
};
// "mqtt://host[:port]", "mqtts://host[:port]", "host:port" or "host" (the last two plain);
// Errc::invalid_input otherwise.
Result<MqttUrl> parse_mqtt_url(std::string_view url);

class MqttClient {
 public:
  // Errc::invalid_input for a bad URL or client id, an mqtts:// URL without a CA file, TLS
  // options with a plain mqtt:// URL, or TLS files that cannot be read.
  static Result<std::unique_ptr<MqttClient>> create(boost::asio::io_context& io,
                                                    MqttOptions options);
  ~MqttClient();
  MqttClient(const MqttClient&) = delete;
  MqttClient& operator=(const MqttClient&) = delete;
  MqttClient(MqttClient&&) = delete;
  MqttClient& operator=(MqttClient&&) = delete;

  std::function<void()> on_connect;           // after CONNACK accepted and resubscribe
  std::function<void(int rc)> on_disconnect;  // link lost (rc 0: we asked for it)
  std::function<void(const MqttMessage&)> on_message;
  std::function<void(int mid)> on_published;  // QoS 0 sent / QoS 1 PUBACK received

  void start();  // first connection attempt; later ones are automatic
  // Disconnects cleanly (no will), stops reconnecting; `done` runs on the strand afterwards.
  void stop(std::function<void()> done = {});

  bool connected() const;
  // Queues a message. Returns the message id (for on_published), or Errc::unavailable while
  // disconnected (libmosquitto would queue it in memory; callers own durability instead).
  Result<int> publish(const std::string& topic, const std::string& payload, int qos, bool retain);
  void subscribe(std::string pattern, int qos);  // kept and renewed on every connection

  // Certificate renewal: from now on connect with these files, and reconnect at once (a clean
  // DISCONNECT, so the broker drops the will). libmosquitto loads certificates only once per
  // handle, so the handle is replaced: QoS 1 messages still awaiting a PUBACK are dropped with
  // it (callers own durability, see publish()). Errc::invalid_input when the client does not
  // use TLS or a file cannot be read; the old files stay in use then.
  Result<void> reconnect_with_tls(MqttTls tls);

 private:
  struct Impl;
  explicit MqttClient(std::unique_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace hecs::net
