// What hecs-sim counts, for its progress lines and summary. One instance per process, touched
// only on the io_context's thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hecs::sim {

struct Counters {
  std::size_t connected = 0;            // agents connected now
  std::size_t connections = 0;          // CONNACKs accepted, reconnections included
  std::uint64_t sent = 0;               // messages handed to the broker
  std::uint64_t failed = 0;             // publishes refused: link down, in-flight window full
  std::uint64_t acks_received = 0;      // "ack" messages of the control plane on down/cmd
  std::uint64_t puback_received = 0;    // broker PUBACKs of our QoS 1 publishes
  std::uint64_t connect_refused = 0;    // CONNACKs with a non-zero return code
  std::uint64_t subscribe_failed = 0;   // SUBACK return code 0x80
  std::uint64_t protocol_errors = 0;    // malformed or unexpected packets (connection closed)
  std::uint64_t ping_timeouts = 0;      // no PINGRESP within the keepalive (connection closed)
  std::uint64_t commands_unknown = 0;   // down messages of a type the sim does not handle
  std::uint64_t commands_rejected = 0;  // down messages that failed to parse
  std::uint64_t tls_failures = 0;       // TLS handshakes and sessions that failed (link dropped)
};

}  // namespace hecs::sim
