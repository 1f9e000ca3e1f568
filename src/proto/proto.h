// The HECS MQTT protocol, version 1 (docs/protocol.md; DESIGN §4): topics, the up-message
// envelope and the typed bodies of hello, status and telemetry. Shared by hecs-agent,
// hecs-control and hecs-sim so they cannot drift apart.
//
// Parsing is strict: unknown versions, oversized payloads, missing fields, wrong types and
// unknown fields in the envelope are rejected with Errc::invalid_input and a reason that names
// the field ("body.cpu.count: expected an unsigned integer"). Nothing here throws.
//
// Signed down-messages (JWS, EdDSA) come with the security issue (issue 4): they will live in
// command.h / command.cpp of this module, next to the up-message code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "common/result.h"

namespace hecs::proto {

inline constexpr int kVersion = 1;
// Default size limit for one MQTT payload; hecs-control and hecs-agent make it configurable.
inline constexpr std::size_t kDefaultMaxMessageBytes = 64 * 1024;

// ---- topics -----------------------------------------------------------------------------

enum class UpKind { hello, status, telemetry, result, event };

// "hecs/v1/dev/{device}/up/{kind}"
std::string up_topic(std::string_view device_id, UpKind kind);
// "hecs/v1/dev/{device}/down/cmd"
std::string down_cmd_topic(std::string_view device_id);
// What the control plane subscribes to: every device's up subtree.
inline constexpr std::string_view kAllUpTopics = "hecs/v1/dev/+/up/#";
std::string_view up_kind_name(UpKind kind);

struct UpTopic {
  std::string device_id;  // a canonical lower-case UUID
  UpKind kind;
};
// Accepts exactly "hecs/v1/dev/<uuid>/up/<known kind>".
Result<UpTopic> parse_up_topic(std::string_view topic);

// ---- envelope ---------------------------------------------------------------------------

// {"v":1,"id":"<uuid>","type":"…","ts":<unix ms>,"body":{…}}
struct Envelope {
  int v = kVersion;
  std::string id;       // message id (UUID), unique per message: the receiver's dedup key
  std::string type;     // "hello", "status", "telemetry", …; equals the topic's kind
  std::int64_t ts = 0;  // unix milliseconds when the sender made the message
  boost::json::object body;
};

Result<Envelope> parse_envelope(std::string_view payload,
                                std::size_t max_bytes = kDefaultMaxMessageBytes);
std::string serialize(const Envelope& envelope);

// ---- hello (retained): inventory, versions, capabilities ----------------------------------

struct Disk {
  std::string mount;    // "/"
  std::string device;   // "/dev/mmcblk0p2"
  std::string fs_type;  // "ext4"
  std::uint64_t total_bytes = 0;
  friend bool operator==(const Disk&, const Disk&) = default;
};

struct NetInterface {
  std::string name;                    // "eth0"
  std::string mac;                     // "dc:a6:32:01:02:03", empty when the link has none
  std::vector<std::string> addresses;  // "192.168.1.10/24", "fe80::1/64"
  friend bool operator==(const NetInterface&, const NetInterface&) = default;
};

struct Hello {
  std::uint64_t session = 0;  // grows with every connection (DESIGN §4, S28)
  std::string agent_version;
  std::string hostname;
  std::string os;      // PRETTY_NAME of /etc/os-release
  std::string kernel;  // uname -r
  std::string arch;    // uname -m
  std::string cpu_model;
  std::uint32_t cpu_count = 0;
  std::uint64_t memory_bytes = 0;
  std::int64_t boot_time = 0;  // unix milliseconds
  std::vector<Disk> disks;
  std::vector<NetInterface> interfaces;
  std::vector<std::string> capabilities;  // "telemetry", later "tasks", "tunnel", …
  friend bool operator==(const Hello&, const Hello&) = default;
};

Result<Hello> parse_hello(const boost::json::object& body);
boost::json::object to_json(const Hello& hello);

// ---- status (retained; also the last will) ------------------------------------------------

enum class State { online, offline };
struct Status {
  State state = State::online;
  std::uint64_t session = 0;
  friend bool operator==(const Status&, const Status&) = default;
};

Result<Status> parse_status(const boost::json::object& body);
boost::json::object to_json(const Status& status);

// ---- telemetry (QoS 0 live, QoS 1 from the outbox) -----------------------------------------

struct DiskUsage {
  std::string mount;
  std::uint64_t total_bytes = 0;
  std::uint64_t used_bytes = 0;
  friend bool operator==(const DiskUsage&, const DiskUsage&) = default;
};

struct InterfaceCounters {
  std::string name;
  std::uint64_t rx_bytes = 0, tx_bytes = 0;
  std::uint64_t rx_packets = 0, tx_packets = 0;
  std::uint64_t rx_errors = 0, tx_errors = 0;
  friend bool operator==(const InterfaceCounters&, const InterfaceCounters&) = default;
};

struct Telemetry {
  double cpu_percent = 0;  // 0..100, all cores, since the previous sample
  double load1 = 0, load5 = 0, load15 = 0;
  std::uint64_t memory_total_bytes = 0;
  std::uint64_t memory_available_bytes = 0;
  std::vector<DiskUsage> disks;
  std::optional<double> temperature_c;  // absent where the board has no sensor
  std::vector<InterfaceCounters> interfaces;
  std::uint64_t uptime_s = 0;
  friend bool operator==(const Telemetry&, const Telemetry&) = default;
};

Result<Telemetry> parse_telemetry(const boost::json::object& body);
boost::json::object to_json(const Telemetry& telemetry);

// ---- ack (down/cmd): telemetry committed by the control plane ------------------------------

// Sent on the device's down/cmd topic after the control plane committed its messages; the agent
// keeps each outbox entry until its id comes back here (DESIGN §4: acknowledged upstream only
// after the commit). It travels in the up-message envelope, type "ack", unsigned until signed
// down-messages arrive (issue 4): a forged ack can only make an agent drop telemetry early,
// never run anything.
inline constexpr std::size_t kMaxAckIds = 1000;
struct Ack {
  std::vector<std::string> ids;  // envelope ids (UUIDs) of committed messages, 1..kMaxAckIds
  friend bool operator==(const Ack&, const Ack&) = default;
};

Result<Ack> parse_ack(const boost::json::object& body);
boost::json::object to_json(const Ack& ack);

// Builds a complete envelope (fresh UUID id) around a typed body.
Envelope make_envelope(std::string_view type, std::int64_t ts_ms, boost::json::object body);

}  // namespace hecs::proto
