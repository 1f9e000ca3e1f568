// hecs-sim: thousands of simulated agents in one process, on one event loop (no thread per
// client), each with its own MQTT connection and client id, speaking the real protocol through
// src/proto so it cannot drift from hecs-agent. The MQTT client is the sim's own (sim_client.h):
// one descriptor per agent.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "common/result.h"
#include "proto/proto.h"

namespace hecs::sim {

// Each agent holds one descriptor (its socket); the process needs this many more (standard
// streams, epoll, timers, the signal pipe, and room to spare).
inline constexpr std::size_t kDescriptorMargin = 20;
// This machine's hard descriptor limit is 20,000, and one source address reaches one broker
// port from at most 28,232 ephemeral ports (Linux's default range): larger fleets need several
// processes (--first-index), and several source addresses beyond that.
inline constexpr std::size_t kMaxCount = 20000;
// Enrolment requests in flight, each on its own HTTPS connection (and descriptor).
inline constexpr std::size_t kMaxEnrollConcurrency = 64;

struct Options {
  std::size_t count = 100;                         // count: simulated agents, 1..kMaxCount
  std::string mqtt_url = "mqtt://127.0.0.1:1883";  // mqtt_url
  double interval = 10;                            // interval: seconds between samples
  double jitter = 0.1;                             // jitter: ± fraction of the interval, 0..1
  std::uint64_t seed = 1;                          // seed: same seed, same device ids
  std::size_t first_index = 0;        // first_index: agent numbers start here (split a fleet)
  double ramp = 500;                  // ramp: new connections per second
  int keepalive = 60;                 // keepalive: seconds, 5..3600
  std::string payload = "realistic";  // payload: minimal or realistic
  double duration = 0;                // duration: seconds, 0 = until Ctrl-C
  std::string log_level = "warn";     // log_level
  // TLS and enrolment (DESIGN §3): with an mqtts:// URL every agent connects with mTLS, using
  // the key and certificate it keeps in state_dir; agents without them enrol first when an
  // enroll_url is given.
  std::string ca_file;                 // ca_file: PEM CA of the broker and of the enrolment server
  std::string state_dir;               // state_dir: DIR/<device id>.key and .pem per agent
  std::string enroll_url;              // enroll_url: https://host[:port] of hecs-control
  std::string enroll_token;            // enroll_token: secret, never logged
  std::string enroll_token_file;       // enroll_token_file: or the token in this file
  std::size_t enroll_concurrency = 8;  // enroll_concurrency: 1..kMaxEnrollConcurrency
  bool enroll_only = false;            // enroll_only: enrol, store, exit without connecting
  // Signed commands (DESIGN §4): with the control plane's DATA_DIR/pki/signing-keys.json, every
  // agent verifies each down/cmd message as hecs-agent does (signature, sub, exp, seq) and
  // follows "keys" commands; without it, commands are read unverified.
  std::string command_keys_file;  // command_keys_file
  // Tasks (docs/tasks.md): every agent answers "task" commands without running anything.
  int task_latency_ms = 0;         // task_latency_ms: "running" to the final state, 0..3600000
  std::uint64_t task_output = 64;  // task_output: bytes of fake stdout per run, 0..16 MiB
  int task_fail_percent = 0;       // task_fail_percent: runs that fail (exit code 1), 0..100
};

void add_flags(CLI::App& cli, Options& options);
// What the flags cannot check one by one: mqtts:// needs --ca-file and --state-dir, enrolment
// needs a token (one way), the CA and the state dir, and mqtts:// unless --enroll-only.
// Errc::invalid_input with the one line to print (exit code 2).
Result<void> check_options(const Options& options);
// The enrolment token, from --enroll-token or the first line of --enroll-token-file (spaces
// around it dropped). Errc::invalid_input when the file is unreadable or empty.
Result<std::string> enroll_token(const Options& options);

// The keys of --command-keys-file (only kid and public_key of each entry are read), checked as
// a "keys" command is; empty without the flag. Errc::invalid_input naming the file otherwise.
Result<std::vector<proto::VerifyKey>> command_keys(const Options& options);

// The device id of simulated agent `index` for `seed`: a version-4-shaped UUID, stable across
// runs.
std::string device_id(std::uint64_t seed, std::size_t index);

// Runs the fleet until `duration` passes or SIGINT/SIGTERM; prints progress while ramping up and
// a summary at the end. Returns the exit code.
int run(const Options& options);

}  // namespace hecs::sim
