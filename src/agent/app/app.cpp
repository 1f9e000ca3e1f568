#include "agent/app/app.h"

#include <csignal>
#include <filesystem>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <sys/stat.h>

#include "agent/telemetry/telemetry.h"
#include "agent/uplink/uplink.h"
#include "common/clock.h"
#include "common/config/config.h"
#include "common/log.h"
#include "common/net/mqtt.h"
#include "common/net/signals.h"
#include "proto/proto.h"

namespace hecs::agent::app {
namespace asio = boost::asio;

void add_flags(CLI::App& cli, Config& c) {
  cli.add_option("--state-dir", c.state_dir, "Directory for the device id, session and outbox")
      ->capture_default_str();
  cli.add_option("--mqtt-url", c.mqtt_url, "Broker URL, mqtt://host:port")
      ->check(config::checked_by("URL", net::parse_mqtt_url))
      ->capture_default_str();
  cli.add_option("--telemetry-interval", c.telemetry_interval, "Seconds between samples")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  cli.add_option("--keepalive", c.keepalive,
                 "MQTT keepalive in seconds; the broker declares us offline after 1.5 times it")
      ->check(CLI::Range(5, 3600))  // libmosquitto refuses less than 5
      ->capture_default_str();
  cli.add_option("--outbox-max-entries", c.outbox_max_entries,
                 "Messages kept while offline; the oldest go first beyond it")
      ->check(CLI::Range(std::size_t{100}, std::size_t{10000000}))
      ->capture_default_str();
  cli.add_option("--ack-timeout", c.ack_timeout,
                 "Seconds without an ack from the control plane before unacknowledged messages "
                 "are sent again")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cli.add_option("--log-level", c.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
}

int run(const Config& config) {
  log::set_level(config.log_level);
  auto log = log::get("agent");
  auto start_failed = [&](const std::string& why) {
    log->error("start.failed reason={}", log::quoted(why));
    return 1;
  };

  std::error_code ec;
  std::filesystem::create_directories(config.state_dir, ec);
  if (ec) {
    return start_failed(
        fmt::format("cannot create state dir {}: {}", config.state_dir, ec.message()));
  }
  ::chmod(config.state_dir.c_str(), 0700);

  auto sessions = uplink::SessionCounter::open(config.state_dir);
  if (!sessions) {
    return start_failed(sessions.error().message);
  }
  auto identity = uplink::load_or_create_identity(config.state_dir);
  if (!identity) {
    return start_failed(identity.error().message);
  }
  uplink::OutboxLimits limits;
  limits.max_entries = config.outbox_max_entries;
  auto outbox = uplink::Outbox::open(std::filesystem::path(config.state_dir) / "outbox.db", limits,
                                     /*synchronous_full=*/false);
  if (!outbox) {
    return start_failed(outbox.error().message);
  }
  if (!(*outbox)->quarantined().empty()) {
    log->error("outbox.corrupt_quarantined moved_to={}", log::quoted((*outbox)->quarantined()));
  }

  telemetry::Collector collector;
  SystemClock clock;
  asio::io_context io(1);

  auto hello_envelope = [&](std::uint64_t session) {
    proto::Hello hello;
    if (auto h = collector.hello()) {
      hello = std::move(*h);
    } else {
      log->warn("telemetry.hello_partial error={}", log::quoted(h.error().message));
    }
    hello.session = session;
    hello.agent_version = std::string(kAgentVersion);
    return proto::serialize(proto::make_envelope("hello", clock.now_ms(), proto::to_json(hello)));
  };

  uplink::UplinkOptions uplink_options;
  uplink_options.mqtt_url = config.mqtt_url;
  uplink_options.keepalive_s = config.keepalive;
  uplink_options.resend_after = std::chrono::seconds(config.ack_timeout);
  uplink::Uplink link(io, *identity, *sessions, **outbox, uplink_options, hello_envelope);
  if (auto r = link.start(); !r) {
    return start_failed(r.error().message);
  }
  log->info("agent.started device={} mqtt={} interval_s={}", identity->device_id,
            log::quoted(config.mqtt_url), config.telemetry_interval);

  const auto telemetry_topic = proto::up_topic(identity->device_id, proto::UpKind::telemetry);
  asio::steady_timer timer(io);
  std::function<void()> tick = [&] {
    timer.expires_after(std::chrono::seconds(config.telemetry_interval));
    timer.async_wait([&](boost::system::error_code e) {
      if (e) {
        return;
      }
      if (auto sample = collector.sample()) {
        auto envelope = proto::make_envelope("telemetry", clock.now_ms(), proto::to_json(*sample));
        if (auto r = link.send(telemetry_topic, proto::serialize(envelope), envelope.id); !r) {
          log->error("telemetry.store_failed error={}", log::quoted(r.error().message));
        }
      } else {
        log->warn("telemetry.sample_failed error={}", log::quoted(sample.error().message));
      }
      tick();
    });
  };
  tick();

  net::StopSignals signals(io, "agent", [&](int) {
    timer.cancel();
    link.stop([&io] { io.stop(); });
  });
  io.run();
  log->info("agent.stopped");
  return 0;
}

}  // namespace hecs::agent::app
