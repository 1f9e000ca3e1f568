// The broker's address and TLS files, shared by the MQTT clients (common/mqtt) and the
// configuration of hecs-agent and hecs-control.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace hecs::net {

// mTLS to the broker (DESIGN §3): paths to PEM files, read when a client is made (and again at
// a certificate renewal). The broker's certificate must chain to `ca_file` and name the URL's
// host (hostname verification is always on); TLS 1.2 at least.
struct MqttTls {
  std::string ca_file;
  std::string cert_file;  // our certificate; empty: connect without one (server-only TLS)
  std::string key_file;   // its private key; required with cert_file
};

struct MqttUrl {
  std::string host;
  std::uint16_t port = 1883;
  bool tls = false;  // mqtts://
};
// "mqtt://host[:port]", "mqtts://host[:port]", "host:port" or "host" (the last two plain);
// Errc::invalid_input otherwise.
Result<MqttUrl> parse_mqtt_url(std::string_view url);

}  // namespace hecs::net
