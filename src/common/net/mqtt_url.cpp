// The broker URL of hecs-agent's and hecs-control's configuration (common/mqtt connects to it).
#include <fmt/format.h>

#include "common/net/mqtt.h"

namespace hecs::net {

Result<MqttUrl> parse_mqtt_url(std::string_view url) {
  std::string_view rest = url;
  MqttUrl out;
  if (rest.starts_with("mqtt://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("mqtts://")) {
    rest.remove_prefix(8);
    out.tls = true;
    out.port = 8883;
  } else if (rest.find("://") != std::string_view::npos) {
    return fail(Errc::invalid_input, fmt::format("unsupported MQTT URL scheme in {}", url));
  }
  if (!rest.empty() && rest.back() == '/') {
    rest.remove_suffix(1);
  }
  auto colon = rest.rfind(':');
  if (colon == std::string_view::npos) {
    out.host = std::string(rest);
  } else {
    out.host = std::string(rest.substr(0, colon));
    auto port_text = rest.substr(colon + 1);
    unsigned port = 0;
    if (port_text.empty() || port_text.size() > 5) {
      return fail(Errc::invalid_input, fmt::format("bad port in MQTT URL {}", url));
    }
    for (char c : port_text) {
      if (c < '0' || c > '9') {
        return fail(Errc::invalid_input, fmt::format("bad port in MQTT URL {}", url));
      }
      port = port * 10 + static_cast<unsigned>(c - '0');
    }
    if (port == 0 || port > 65535) {
      return fail(Errc::invalid_input, fmt::format("bad port in MQTT URL {}", url));
    }
    out.port = static_cast<std::uint16_t>(port);
  }
  if (out.host.empty() || out.host.find_first_of("/ @?#") != std::string::npos) {
    return fail(Errc::invalid_input, fmt::format("bad host in MQTT URL {}", url));
  }
  return out;
}

}  // namespace hecs::net
