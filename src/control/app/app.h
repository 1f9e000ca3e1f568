// hecs-control wiring: configuration, start-up (store, bootstrap, broker, HTTP) and shutdown.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

// The build's web/admin directory, so that a development build serves its own panel.
#ifndef HECS_DEFAULT_WEB_ROOT
#define HECS_DEFAULT_WEB_ROOT ""
#endif

namespace hecs::control::app {

struct Config {
  std::string data_dir = "/var/lib/hecs-control";  // data_dir: created 0700 if missing
  std::string http_listen = "127.0.0.1:8080";      // http_listen: host:port, port 0 = any
  bool http_plain = false;  // http_plain: serve plain HTTP instead of HTTPS (tests, a proxy)
  // mqtt_url: mqtts://… (mTLS with our own certificate) or mqtt://… (plain, no enrolment)
  std::string mqtt_url = "mqtts://localhost:8883";
  std::string agent_mqtt_url;   // agent_mqtt_url: told to enrolled agents; "" = mqtt_url
  std::string master_key_file;  // master_key_file: "" = DATA_DIR/master.key; env wins
  std::string ca_import_cert;   // ca_import_cert / ca_import_key: first start only
  std::string ca_import_key;
  // tls_names: host names and IP addresses of the REST API and broker certificates
  std::vector<std::string> tls_names = {"localhost", "127.0.0.1"};
  int device_cert_days = 90;    // device_cert_days: 1..825
  int device_cert_seconds = 0;  // device_cert_seconds: overrides days when > 0 (tests)
  std::string broker_dir;       // broker_dir: "" = DATA_DIR/broker; generated Mosquitto files
  std::string broker_listen = "0.0.0.0:8883";  // broker_listen: written into mosquitto.conf
  std::string broker_user;  // broker_user: Mosquitto's `user` (privileges dropped to it)
  bool init_only = false;   // init_only: create keys and broker files, then exit
  std::string db;           // db: "" = SQLite DATA_DIR/hecs.db; a path; or postgresql://…
  std::string mqtt_client_id = "hecs-control";  // mqtt_client_id: persistent session name
  int telemetry_window_hours = 48;              // telemetry_window_hours: 1..8760
  int http_read_timeout_seconds = 30;           // http_read_timeout_seconds: 1..300, whole request
  int audit_checkpoint_seconds = 600;           // audit_checkpoint_seconds: 10..86400, heads signed
  std::size_t max_message_bytes = 64 * 1024;    // max_message_bytes: 1 KiB..1 MiB
  std::size_t tasks_confirm_above = 50;         // tasks_confirm_above: larger targets confirm
  int task_resend_seconds = 60;                 // task_resend_seconds: 1..3600
  int task_retention_days = 30;     // task_retention_days: 0..3650, ended tasks kept; 0 = ever
  int artifact_retention_days = 7;  // artifact_retention_days: 0..3650; 0 = as their task
  unsigned threads = 0;             // threads: 0 = one per core
  std::string log_level = "info";   // log_level
  // web_root: the admin panel's built files (docs/admin-panel.md); "" = no panel
  std::string web_root = HECS_DEFAULT_WEB_ROOT;
};

// Binds every key of Config to a flag of `cli`, with its range.
void add_flags(CLI::App& cli, Config& config);

// Runs until SIGINT or SIGTERM. Returns the process exit code: 0 after a clean stop, 1 when
// start-up fails (the reason is logged as one line).
int run(const Config& config);

}  // namespace hecs::control::app
