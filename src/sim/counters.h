// What hecs-sim counts, for its progress lines and summary: its MQTT clients' counters and its
// own. One instance per process, touched only on the io_context's thread.
#pragma once

#include <cstdint>

#include "common/mqtt/client.h"

namespace hecs::sim {

struct Counters : mqtt::ClientCounters {
  std::uint64_t sent = 0;               // messages handed to the broker
  std::uint64_t failed = 0;             // publishes refused: link down, in-flight window full
  std::uint64_t acks_received = 0;      // "ack" messages of the control plane on down/cmd
  std::uint64_t commands_unknown = 0;   // down messages of a type the sim does not handle
  std::uint64_t commands_rejected = 0;  // down messages that failed to parse or to verify
  // Tasks (sim/tasks.h): new task ids run, repeats ignored, and how runs ended.
  std::uint64_t tasks_started = 0;
  std::uint64_t tasks_duplicate = 0;
  std::uint64_t tasks_succeeded = 0;
  std::uint64_t tasks_failed = 0;
  std::uint64_t tasks_cancelled = 0;
  std::uint64_t results_sent = 0;     // up/result messages handed to the broker, resends included
  std::uint64_t results_acked = 0;    // of them, acknowledged by the control plane
  std::uint64_t results_resends = 0;  // times an agent sent its unacknowledged results again
};

}  // namespace hecs::sim
