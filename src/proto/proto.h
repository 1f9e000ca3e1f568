// The HECS MQTT protocol, version 1 (docs/protocol.md; DESIGN §4): topics, the up-message
// envelope and the typed bodies of hello, status and telemetry. Shared by hecs-agent,
// hecs-control and hecs-sim so they cannot drift apart.
//
// Parsing is strict: unknown versions, oversized payloads, missing fields, wrong types and
// unknown fields in the envelope are rejected with Errc::invalid_input and a reason that names
// the field ("body.cpu.count: expected an unsigned integer"). Nothing here throws.
//
// Down-messages are signed commands (JWS compact, EdDSA): see the last section.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "common/crypto/crypto.h"
#include "common/result.h"

namespace hecs::proto {

inline constexpr int kVersion = 1;
// Default size limit for one MQTT payload; hecs-control and hecs-agent make it configurable.
inline constexpr std::size_t kDefaultMaxMessageBytes = std::size_t{64} * 1024;

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
  // Ids of the command-signing keys the agent holds (optional): the control plane signs the
  // "keys" command with one of them, so an agent that missed a rotation catches up.
  std::vector<std::string> command_kids;
  // Local accounts a task may run as (optional; at most 256): the control plane refuses a task
  // for a user its target does not list (docs/tasks.md).
  std::vector<std::string> users;
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

// ---- ack (a down/cmd body): telemetry committed by the control plane
// ------------------------------

// Sent on the device's down/cmd topic after the control plane committed its messages; the agent
// keeps each outbox entry until its id comes back here (DESIGN §4: acknowledged upstream only
// after the commit). It is the body of a signed command of type "ack" (last section), like
// everything sent down.
inline constexpr std::size_t kMaxAckIds = 1000;
struct Ack {
  std::vector<std::string> ids;  // envelope ids (UUIDs) of committed messages, 1..kMaxAckIds
  friend bool operator==(const Ack&, const Ack&) = default;
};

Result<Ack> parse_ack(const boost::json::object& body);
boost::json::object to_json(const Ack& ack);

// Builds a complete envelope (fresh UUID id) around a typed body.
Envelope make_envelope(std::string_view type, std::int64_t ts_ms, boost::json::object body);

// ---- signed down-messages (down/cmd): JWS compact serialisation, EdDSA (DESIGN §4) --------
//
// BASE64URL(header) "." BASE64URL(payload) "." BASE64URL(signature), where the header is
// {"alg":"EdDSA","kid":"<key id>"} and the payload
// {"v":1,"id":"<uuid>","type":"…","sub":"<device id>","seq":N,"iat":S,"exp":S,"body":{…}}
// (iat/exp in unix seconds). The signature covers the exact bytes sent (RFC 7515 §5.1), so no
// canonical JSON is needed. Every down/cmd message is one, the ack included.

struct Command {
  int v = kVersion;
  std::string id;         // UUID
  std::string type;       // "ack", "keys", …
  std::string sub;        // the device it is for
  std::uint64_t seq = 0;  // grows per device; the agent refuses a seq it has passed (S24)
  std::int64_t iat = 0;   // unix seconds
  std::int64_t exp = 0;   // unix seconds; refused after this
  boost::json::object body;
};

// A command-signing public key as agents hold it.
struct VerifyKey {
  std::string kid;
  std::string public_key;  // 32 raw bytes (Ed25519)
  friend bool operator==(const VerifyKey&, const VerifyKey&) = default;
};

// Why a down-message was refused; each is a label of the agent's refusal metric.
enum class Refusal {
  malformed,      // not a JWS, bad base64url, bad header or payload JSON, oversized
  unsigned_msg,   // alg "none", empty signature, or not a JWS at all but JSON
  bad_signature,  // the signature does not verify with the named key
  unknown_key,    // kid not among the agent's keys
  expired,        // exp in the past
  replayed,       // seq not above the highest accepted one
  misaddressed,   // sub is another device
};
std::string_view refusal_name(Refusal refusal);

struct Refused {
  Refusal reason = Refusal::malformed;
  std::string message;  // names the field or check, never echoes key material
};

struct VerifyContext {
  std::string_view device_id;
  std::int64_t now_s = 0;
  std::uint64_t last_seq = 0;  // highest seq accepted so far (0: none)
  std::size_t max_bytes = kDefaultMaxMessageBytes;
};

// Signs a command with the key `kid`: the exact text to publish on down/cmd.
std::string sign_command(const Command& command, std::string_view kid,
                         const crypto::Ed25519Key& key);

// Parses strictly, verifies the signature with the key named by kid, then checks sub, exp and
// seq, in that order. Never throws, for any input.
tl::expected<Command, Refused> verify_command(std::string_view jws,
                                              const std::vector<VerifyKey>& keys,
                                              const VerifyContext& context);

// Body of a "keys" command: the full set of command-signing public keys the agent must hold
// from now on (a new key is published before it signs anything; an old one stays until the
// commands it signed have expired).
struct Keys {
  std::vector<VerifyKey> keys;  // 1..8, kids unique
  friend bool operator==(const Keys&, const Keys&) = default;
};
Result<Keys> parse_keys(const boost::json::object& body);
boost::json::object to_json(const Keys& keys);

// ---- tasks (docs/tasks.md): the "task" and "cancel" commands, and up/result -------------

// The largest serialised "task" body: its signed JWS (base64url, +33 %) must stay under the
// default message limit of 64 KiB.
inline constexpr std::size_t kMaxTaskBodyBytes = std::size_t{40} * 1024;
inline constexpr std::size_t kMaxScriptBytes = std::size_t{32} * 1024;
inline constexpr std::size_t kMaxArgBytes = 4096;
inline constexpr std::size_t kMaxArgs = 256;
inline constexpr std::size_t kMaxEnv = 64;
inline constexpr std::size_t kMaxPathBytes = 1024;
inline constexpr std::uint32_t kMaxTimeoutS = 86400;
inline constexpr std::uint64_t kMinOutputCap = 1024;
inline constexpr std::uint64_t kMaxOutputCap = std::uint64_t{16} * 1024 * 1024;
// Raw bytes of output in one result message (JSON escaping may grow it up to six times).
inline constexpr std::size_t kMaxOutputChunkBytes = 8 * 1024;
// A result's error text: a longer one is cut to this many bytes.
inline constexpr std::size_t kMaxErrorBytes = 1024;

enum class TaskKind { argv, script, builtin };

// The body of a "task" command: what one device runs. Also how the control plane validates a
// POST /api/v1/tasks before anything is stored (validate_task).
struct TaskSpec {
  std::string task;  // the task id (UUID): a node runs it at most once
  TaskKind kind = TaskKind::argv;
  std::vector<std::string> argv;              // argv: the command; script: unused
  std::string script;                         // script: its text
  std::string interpreter;                    // script: "/bin/sh", "python3"
  std::vector<std::string> interpreter_args;  // script: before the script's path
  std::string builtin;                        // builtin: "reboot", "collect-logs", …
  boost::json::object args;                   // builtin: its arguments
  std::vector<std::pair<std::string, std::string>> env;
  std::string cwd = "/";
  std::string user;  // "" = the agent's own user
  std::uint32_t timeout_s = 300;
  std::uint64_t output_cap = std::uint64_t{1} << 20;
  std::int64_t deadline = 0;  // unix s: a run not started by then is expired
  friend bool operator==(const TaskSpec&, const TaskSpec&) = default;
};

// Names of the builtins the agent knows.
bool is_builtin(std::string_view name);
// Checks every limit of docs/tasks.md; Errc::invalid_input naming the field.
Result<void> validate_task(const TaskSpec& spec);
Result<TaskSpec> parse_task(const boost::json::object& body);  // parse + validate_task
boost::json::object to_json(const TaskSpec& spec);

// The body of a "cancel" command.
struct Cancel {
  std::string task;
  friend bool operator==(const Cancel&, const Cancel&) = default;
};
Result<Cancel> parse_cancel(const boost::json::object& body);
boost::json::object to_json(const Cancel& cancel);

enum class RunState {
  queued,
  sent,
  running,
  succeeded,
  failed,
  timed_out,
  cancelled,
  interrupted,
  expired,
};
std::string_view run_state_name(RunState state);
Result<RunState> parse_run_state(std::string_view name);
bool is_final(RunState state);

struct OutputChunk {
  std::string stream;  // "stdout" or "stderr"
  std::uint64_t offset = 0;
  std::string data;  // valid UTF-8 (the agent replaces invalid sequences)
  friend bool operator==(const OutputChunk&, const OutputChunk&) = default;
};

// ---- local schedules (docs/tasks.md "Local schedules") -------------------------------------

inline constexpr std::size_t kMaxScheduleNameBytes = 64;
inline constexpr std::size_t kMaxLocalCommandBytes = 256;

// 1..64 of [A-Za-z0-9._-], starting with a letter or digit.
bool valid_schedule_name(std::string_view name);
// The task id of one fire of a device's local schedule: a name-based UUID (version 8, the
// first 16 bytes of SHA-256 over a fixed namespace, the device id, the schedule name and the
// fire time in unix ms; RFC 9562 §5.8). The same fire always has the same id, so the journal
// runs it once; the control plane recomputes it, so a device cannot claim another's task.
std::string local_task_id(std::string_view device_id, std::string_view schedule,
                          std::int64_t fire_at_ms);
// One line on what a spec runs, at most kMaxLocalCommandBytes: "argv: uname -a",
// "script: /bin/sh (120 bytes)", "builtin: inventory-refresh".
std::string summarize(const TaskSpec& spec);

// What a result of a local schedule's run says about its origin (body.local, optional).
struct LocalRun {
  std::string schedule;      // the schedule's name
  std::int64_t fire_at = 0;  // unix ms: the fire time the run belongs to (not when it started)
  std::string cron;
  std::string timezone;
  std::string command;  // summarize(spec)
  friend bool operator==(const LocalRun&, const LocalRun&) = default;
};
Result<LocalRun> parse_local_run(const boost::json::object& local);
boost::json::object to_json(const LocalRun& run);

// A piece of a file a run made for the operator (the collect-logs bundle), sent in order on
// up/result through the outbox. `data` holds raw bytes here, standard base64 in JSON.
inline constexpr std::size_t kMaxArtifactChunkBytes = std::size_t{24} * 1024;  // raw, per piece
inline constexpr std::uint64_t kMaxArtifactBytes = std::uint64_t{32} * 1024 * 1024;
inline constexpr std::size_t kMaxArtifactNameBytes = 128;
struct ArtifactChunk {
  std::string name;          // file name: [A-Za-z0-9._-], 1..128 bytes, not starting with '.'
  std::uint64_t offset = 0;  // of data[0] in the artifact
  std::uint64_t size = 0;    // of the whole artifact, 1..kMaxArtifactBytes
  std::string sha256;        // of the whole artifact, 64 lower-case hex digits
  std::string data;          // raw bytes, 1..kMaxArtifactChunkBytes
  bool last = false;         // offset + data.size() == size
  friend bool operator==(const ArtifactChunk&, const ArtifactChunk&) = default;
};
// Checks one "artifact" object (body.artifact); Errc::invalid_input naming the field.
Result<ArtifactChunk> parse_artifact_chunk(const boost::json::object& object);
boost::json::object to_json(const ArtifactChunk& chunk);

// One up/result body: a state report (running, or final with its figures), a piece of output,
// a final state with the run's last piece of output, or a piece of an artifact (alone in its
// message).
struct TaskResult {
  std::string task;
  std::optional<RunState> state;  // never queued or sent
  std::optional<OutputChunk> output;
  std::optional<ArtifactChunk> artifact;
  std::int64_t started_at = 0;  // unix ms, 0 = never started
  std::int64_t ended_at = 0;
  std::optional<std::int64_t> exit_code;
  std::optional<std::int64_t> signal;
  std::string error;
  std::uint64_t stdout_bytes = 0;
  std::uint64_t stderr_bytes = 0;
  bool truncated = false;
  // Set on the state reports of a local schedule's run: the control plane makes the task
  // from the first one it gets (additive: older control planes ignore it).
  std::optional<LocalRun> local;
  friend bool operator==(const TaskResult&, const TaskResult&) = default;
};
// A state, an output chunk, or both (a short run's final state with its last chunk: one
// message instead of three), or an artifact piece alone; Errc::invalid_input otherwise.
Result<TaskResult> parse_task_result(const boost::json::object& body);
boost::json::object to_json(const TaskResult& result);

}  // namespace hecs::proto
