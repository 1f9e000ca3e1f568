// hecs-control wiring: configuration, start-up (store, bootstrap, broker, HTTP) and shutdown.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

namespace hecs::control::app {

struct Config {
  std::string data_dir = "/var/lib/hecs-control";  // data_dir: created 0700 if missing
  std::string http_listen = "127.0.0.1:8080";      // http_listen: host:port, port 0 = any
  std::string mqtt_url = "mqtt://127.0.0.1:1883";  // mqtt_url
  std::string db;  // db: "" = SQLite DATA_DIR/hecs.db; a path; or postgresql://…
  std::string mqtt_client_id = "hecs-control";  // mqtt_client_id: persistent session name
  int telemetry_window_hours = 48;              // telemetry_window_hours: 1..8760
  std::size_t max_message_bytes = 64 * 1024;    // max_message_bytes: 1 KiB..1 MiB
  unsigned threads = 0;                         // threads: 0 = one per core
  std::string log_level = "info";               // log_level
};

// Binds every key of Config to a flag of `cli`, with its range.
void add_flags(CLI::App& cli, Config& config);

// Runs until SIGINT or SIGTERM. Returns the process exit code: 0 after a clean stop, 1 when
// start-up fails (the reason is logged as one line).
int run(const Config& config);

}  // namespace hecs::control::app
