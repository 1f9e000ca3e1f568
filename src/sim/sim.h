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

namespace hecs::sim {

// Each agent holds one descriptor (its socket); the process needs this many more (standard
// streams, epoll, timers, the signal pipe, and room to spare).
inline constexpr std::size_t kDescriptorMargin = 20;
// This machine's hard descriptor limit is 20,000, and one source address reaches one broker
// port from at most 28,232 ephemeral ports (Linux's default range): larger fleets need several
// processes (--first-index), and several source addresses beyond that.
inline constexpr std::size_t kMaxCount = 20000;

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
};

void add_flags(CLI::App& cli, Options& options);

// The device id of simulated agent `index` for `seed`: a version-4-shaped UUID, stable across
// runs.
std::string device_id(std::uint64_t seed, std::size_t index);

// Runs the fleet until `duration` passes or SIGINT/SIGTERM; prints progress while ramping up and
// a summary at the end. Returns the exit code.
int run(const Options& options);

}  // namespace hecs::sim
