// hecs-agent wiring: configuration, identity, outbox, telemetry loop, uplink.
#pragma once

#include <cstddef>
#include <string>

#include <CLI/CLI.hpp>

namespace hecs::agent::app {

inline constexpr std::string_view kAgentVersion = "0.1.0";

struct Config {
  std::string state_dir = "/var/lib/hecs-agent";   // state_dir: id, session, outbox (0700)
  std::string mqtt_url = "mqtt://127.0.0.1:1883";  // mqtt_url
  int telemetry_interval = 30;                     // telemetry_interval: seconds, 1..86400
  int keepalive = 30;                              // keepalive: seconds, 5..3600
  std::size_t outbox_max_entries = 100000;         // outbox_max_entries: 100..10,000,000
  int ack_timeout = 60;                            // ack_timeout: seconds, 1..3600
  std::string log_level = "info";                  // log_level
};

void add_flags(CLI::App& cli, Config& config);

// Runs until SIGINT or SIGTERM; returns the exit code (1 when start-up fails).
int run(const Config& config);

}  // namespace hecs::agent::app
