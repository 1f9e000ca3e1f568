// MQTT 3.1.1 packets as bytes, for the project's own client (client.h): the encoders append to
// a buffer, the decoder reads one packet from the front of a byte stream. Pure functions, no I/O,
// nothing thrown. Only what a client of the HECS protocol needs: CONNECT (with a will),
// PUBLISH QoS 0/1, PUBACK, SUBSCRIBE, PINGREQ and DISCONNECT out; CONNACK, PUBLISH QoS 0/1,
// PUBACK, SUBACK and PINGRESP in. Anything else coming in is malformed for this client.
//
// References: MQTT Version 3.1.1, OASIS Standard (2014), §2 (fixed header, remaining length),
// §3 (packets).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"

namespace hecs::mqtt {

// §2.2.3: four bytes of seven bits.
inline constexpr std::size_t kMaxRemainingLength = 268'435'455;
// What one incoming packet may take (fixed header included); the control plane's acks are a few
// tens of KiB at most (1000 ids).
inline constexpr std::size_t kDefaultMaxPacketBytes = std::size_t{256} * 1024;

enum class PacketType : std::uint8_t {
  connect = 1,
  connack = 2,
  publish = 3,
  puback = 4,
  subscribe = 8,
  suback = 9,
  pingreq = 12,
  pingresp = 13,
  disconnect = 14,
};

// ---- encoding: each appends one packet to `out` -------------------------------------------

// Errc::invalid_input above kMaxRemainingLength.
Result<void> append_remaining_length(std::string& out, std::size_t length);

struct Will {
  std::string topic;
  std::string payload;
  int qos = 1;
  bool retain = true;
};

struct Connect {
  std::string_view client_id;
  bool clean_session = true;
  std::uint16_t keepalive_s = 60;
  const Will* will = nullptr;  // none when null
};

// Errc::invalid_input for a string over 65535 bytes or a qos other than 0..2. `out` is left as
// it was on failure.
Result<void> append_connect(std::string& out, const Connect& connect);
// `packet_id` is ignored for QoS 0 and must not be 0 for QoS 1.
Result<void> append_publish(std::string& out, std::string_view topic, std::string_view payload,
                            int qos, bool retain, std::uint16_t packet_id);
void append_puback(std::string& out, std::uint16_t packet_id);
// One topic filter at `qos`.
Result<void> append_subscribe(std::string& out, std::uint16_t packet_id, std::string_view filter,
                              int qos);
void append_pingreq(std::string& out);
void append_disconnect(std::string& out);

// ---- decoding -------------------------------------------------------------------------------

struct RemainingLength {
  std::size_t value = 0;
  std::size_t bytes = 0;  // 1..4: how many bytes encoded it
};
// Reads the remaining length at the front of `data` (the bytes after the first one). nullopt:
// more bytes needed. Errc::invalid_input when a fifth byte would be needed.
Result<std::optional<RemainingLength>> decode_remaining_length(std::string_view data);

struct Connack {
  bool session_present = false;
  std::uint8_t return_code = 0;  // 0 accepted; 1..5 refused (§3.2.2.3), others unknown
};
struct Puback {
  std::uint16_t packet_id = 0;
};
struct Suback {
  std::uint16_t packet_id = 0;
  std::vector<std::uint8_t> return_codes;  // granted QoS 0..2, or 0x80 for a failure
};
struct Publish {  // views into the bytes given to decode_packet
  std::string_view topic;
  std::string_view payload;
  int qos = 0;
  bool retain = false;
  bool dup = false;
  std::uint16_t packet_id = 0;  // 0 for QoS 0
};
struct Pingresp {};
using Packet = std::variant<Connack, Puback, Suback, Publish, Pingresp>;

struct Decoded {
  Packet packet;
  std::size_t size = 0;  // bytes of `data` the packet took, fixed header included
};

// Decodes the packet at the front of `data`. nullopt: `data` holds only part of it (the size
// check comes first, so a caller never buffers more than `max_packet_bytes`). Errc::invalid_input
// with a reason for anything malformed: a bad remaining length, a packet over
// `max_packet_bytes`, reserved flags, a length that does not match the packet, a packet type a
// client never receives, a topic that is not valid UTF-8 or holds a wildcard, packet id 0.
Result<std::optional<Decoded>> decode_packet(std::string_view data,
                                             std::size_t max_packet_bytes = kDefaultMaxPacketBytes);

// §3.2.2.3: "unacceptable protocol version", …; "unknown" past 5.
std::string_view connack_reason(std::uint8_t return_code);

}  // namespace hecs::mqtt
