// hecs-agent wiring: configuration, identity, outbox, telemetry loop, uplink.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace hecs::agent::app {

inline constexpr std::string_view kAgentVersion = "0.1.0";

struct Config {
  std::string state_dir = "/var/lib/hecs-agent";  // state_dir: id, session, outbox (0700)
  std::string mqtt_url;                           // mqtt_url: plain mode, mqtt://host:port
  std::string command_keys_file;                  // command_keys_file: plain mode's keys
  std::string enroll_token;                       // enroll_token: secret, never logged
  std::string control_url;                        // control_url: https://host:port
  std::string control_ca_sha256;                  // control_ca_sha256: pin of the CA
  std::string control_ca_file;                    // control_ca_file: or the CA itself
  std::string enroll_file = "/boot/firmware/hecs-enroll.yaml";  // enroll_file
  int enroll_retry_max = 300;                                   // enroll_retry_max: seconds, 2..300
  int telemetry_interval = 30;              // telemetry_interval: seconds, 1..86400
  int keepalive = 30;                       // keepalive: seconds, 5..3600
  std::size_t outbox_max_entries = 100000;  // outbox_max_entries: 100..10,000,000
  int ack_timeout = 60;                     // ack_timeout: seconds, 1..3600
  std::size_t task_concurrency = 4;         // task_concurrency: runs at once, 1..64
  int task_kill_grace = 5;                  // task_kill_grace: seconds SIGTERM → SIGKILL, 1..300
  std::vector<std::string> task_cwd_allow = {"/"};  // task_cwd_allow: dirs tasks may run in
  std::vector<std::string> reboot_command = {"systemctl", "reboot"};  // reboot_command: argv
  std::vector<std::string> collect_logs_allow = {"/var/log"};  // collect_logs_allow: readable dirs
  std::uint64_t collect_logs_max_bytes = 8 * 1024 * 1024;      // collect_logs_max_bytes: 64K..32M
  std::string log_file;  // log_file: also log here, rotated at 4 MiB keeping 3; "" = stderr only
  std::string schedules_file;      // schedules_file: local schedules (YAML), docs/tasks.md
  std::string log_level = "info";  // log_level
};

void add_flags(CLI::App& cli, Config& config);

// Runs until SIGINT or SIGTERM; returns the exit code (1 when start-up fails, 2 for a
// configuration that cannot work). Takes the configuration by value so that the enrolment
// token can be wiped from memory once used.
int run(Config config);

}  // namespace hecs::agent::app
