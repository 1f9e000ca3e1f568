#include "sim/agent.h"

#include <chrono>
#include <cmath>
#include <random>
#include <utility>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include "common/clock.h"
#include "common/crypto/crypto.h"

namespace hecs::sim {
namespace {

std::int64_t now_ms() { return SystemClock{}.now_ms(); }

std::uint64_t agent_seed(std::uint64_t seed, std::size_t index) {
  return seed ^ (0x5bd1e995ULL * (index + 1));
}

// The type and body of a signed command, read without checking its signature: for a simulator
// given no --command-keys-file, which then measures the control plane and the broker only.
// hecs-agent always verifies (agent/uplink CommandGate), as the sim does with keys; nothing else
// may read commands this way.
Result<std::pair<std::string, boost::json::object>> read_unverified(std::string_view jws,
                                                                    std::size_t max_bytes) {
  auto first = jws.find('.');
  auto last = jws.rfind('.');
  if (jws.size() > max_bytes || first == std::string_view::npos || last == first) {
    return fail(Errc::invalid_input, "not a JWS");
  }
  auto payload = crypto::base64url_decode(jws.substr(first + 1, last - first - 1));
  if (!payload) {
    return fail(Errc::invalid_input, "payload: bad base64url");
  }
  boost::system::error_code ec;
  auto doc = boost::json::parse(*payload, ec);
  const auto* object = ec ? nullptr : doc.if_object();
  const auto* type = object != nullptr ? object->if_contains("type") : nullptr;
  const auto* body = object != nullptr ? object->if_contains("body") : nullptr;
  if (type == nullptr || !type->is_string() || body == nullptr || !body->is_object()) {
    return fail(Errc::invalid_input, "payload: expected type and body");
  }
  return std::pair{std::string(type->as_string()), body->as_object()};
}

}  // namespace

const std::array<SimAgent::Command, 4> SimAgent::kCommands = {{
    {"ack", &SimAgent::on_ack},
    {"keys", &SimAgent::on_keys},
    {"task", &SimAgent::on_task},
    {"cancel", &SimAgent::on_cancel},
}};

SimAgent::SimAgent(boost::asio::io_context& io, const Options& options, mqtt::ClientShared& shared,
                   Counters& counters, std::size_t index, std::uint64_t session_base,
                   mqtt::tls::Identity identity,
                   std::shared_ptr<const std::vector<proto::VerifyKey>> keys)
    : io_(io),
      options_(options),
      shared_(shared),
      counters_(counters),
      index_(index),
      id_(device_id(options.seed, index)),
      session_(session_base),
      timer_(io),
      rng_(agent_seed(options.seed, index)),
      identity_(std::move(identity)),
      client_(io.get_executor(), shared, *this, id_, static_cast<std::uint16_t>(options.keepalive),
              proto::down_cmd_topic(id_), ~agent_seed(options.seed, index), &identity_),
      keys_(std::move(keys)) {}

void SimAgent::start() { client_.start(); }

void SimAgent::stop(std::function<void()> done) {
  timer_.cancel();
  if (tasks_) {
    tasks_->stop();
  }
  if (client_.connected()) {
    send(proto::UpKind::status, status(proto::State::offline), true);
  }
  client_.stop(std::move(done));
}

std::optional<mqtt::Will> SimAgent::will() {
  ++session_;  // a new session per connection attempt, as hecs-agent does (S28)
  return mqtt::Will{proto::up_topic(id_, proto::UpKind::status), status(proto::State::offline), 1,
                    true};
}

void SimAgent::on_connected() {
  send(proto::UpKind::hello,
       proto::serialize(proto::make_envelope("hello", now_ms(), proto::to_json(hello()))), true);
  send(proto::UpKind::status, status(proto::State::online), true);
  if (tasks_) {
    tasks_->on_connected();  // after hello, as hecs-agent's outbox goes after it
  }
  // The first sample comes at a random point of the first interval: a fleet that connected
  // together does not then send together.
  std::uniform_real_distribution<double> first(0, options_.interval);
  arm(first(rng_));
}

void SimAgent::on_disconnected() { timer_.cancel(); }

void SimAgent::on_message(const mqtt::Publish& message) {
  const auto topic = message.topic;
  const auto payload = message.payload;
  if (topic != proto::down_cmd_topic(id_)) {
    ++counters_.commands_unknown;
    return;
  }
  if (payload.empty()) {
    return;  // a retained message being cleared
  }
  auto command = read_command(payload);
  if (!command) {
    return;
  }
  for (const auto& handler : kCommands) {
    if (handler.type == command->first) {
      (this->*handler.handle)(command->second);
      return;
    }
  }
  ++counters_.commands_unknown;
  shared_.log->debug("sim.command_unsupported device={} type={}", id_, log::quoted(command->first));
}

std::optional<std::pair<std::string, boost::json::object>> SimAgent::read_command(
    std::string_view jws) {
  if (!keys_) {
    auto command = read_unverified(jws, shared_.max_packet_bytes);
    if (!command) {
      ++counters_.commands_rejected;
      shared_.log->warn("sim.command_rejected device={} reason={}", id_,
                        log::quoted(command.error().message));
      return std::nullopt;
    }
    return std::move(*command);
  }
  auto command = proto::verify_command(jws, *keys_,
                                       {id_, now_ms() / 1000, last_seq_, shared_.max_packet_bytes});
  if (!command) {
    ++counters_.commands_rejected;
    shared_.log->warn("sim.command_refused device={} reason={} detail={}", id_,
                      proto::refusal_name(command.error().reason),
                      log::quoted(command.error().message));
    return std::nullopt;
  }
  last_seq_ = command->seq;
  return std::pair{std::move(command->type), std::move(command->body)};
}

void SimAgent::on_published(std::uint16_t /*packet_id*/) {
  if (tasks_) {
    tasks_->on_published();
  }
}

void SimAgent::on_keys(const boost::json::object& body) {
  if (!keys_) {
    return;  // an agent that verifies nothing keeps no keys
  }
  auto keys = proto::parse_keys(body);
  if (!keys) {
    ++counters_.commands_rejected;
    shared_.log->warn("sim.command_rejected device={} reason={}", id_,
                      log::quoted(keys.error().message));
    return;
  }
  // Every connection brings the same set: the fleet's copy stays shared until a rotation.
  if (keys->keys != *keys_) {
    keys_ = std::make_shared<const std::vector<proto::VerifyKey>>(std::move(keys->keys));
  }
}

void SimAgent::on_ack(const boost::json::object& body) {
  auto ack = proto::parse_ack(body);
  if (!ack) {
    ++counters_.commands_rejected;
    shared_.log->warn("sim.command_rejected device={} reason={}", id_,
                      log::quoted(ack.error().message));
    return;
  }
  // Telemetry has no outbox here: its acks are only counted. Results are dropped once acked.
  ++counters_.acks_received;
  if (tasks_) {
    tasks_->on_ack(ack->ids);
  }
}

SimTasks& SimAgent::tasks() {
  if (!tasks_) {
    tasks_ = std::make_unique<SimTasks>(
        io_, options_, counters_, shared_.log, id_, fmt::format("sim-{:05}", index_),
        // Another stream than the telemetry's, so --task-fail-percent leaves samples alone.
        ~agent_seed(options_.seed, index_) * 31, [this](const std::string& payload) {
          auto r = client_.publish(proto::up_topic(id_, proto::UpKind::result), payload, 1, false);
          return r.has_value();
        });
  }
  return *tasks_;
}

void SimAgent::on_task(const boost::json::object& body) { tasks().on_task(body); }

void SimAgent::on_cancel(const boost::json::object& body) { tasks().on_cancel(body); }

std::string SimAgent::status(proto::State state) const {
  return proto::serialize(
      proto::make_envelope("status", now_ms(), proto::to_json(proto::Status{state, session_})));
}

void SimAgent::send(proto::UpKind kind, const std::string& payload, bool retain) {
  if (auto r = client_.publish(proto::up_topic(id_, kind), payload, 1, retain); !r) {
    ++counters_.failed;
    shared_.log->debug("sim.publish_failed device={} kind={} reason={}", id_,
                       proto::up_kind_name(kind), log::quoted(r.error().message));
    return;
  }
  ++counters_.sent;
}

void SimAgent::arm(double seconds) {
  timer_.expires_after(std::chrono::milliseconds(static_cast<long>(seconds * 1000)));
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) {
      return;
    }
    send(proto::UpKind::telemetry,
         proto::serialize(proto::make_envelope("telemetry", now_ms(), proto::to_json(sample()))),
         false);
    std::uniform_real_distribution<double> vary(-options_.jitter, options_.jitter);
    arm(options_.interval * (1 + vary(rng_)));
  });
}

proto::Hello SimAgent::hello() const {
  proto::Hello h;
  h.session = session_;
  h.agent_version = "sim";
  h.hostname = fmt::format("sim-{:05}", index_);
  h.os = "Debian GNU/Linux 12 (bookworm)";
  h.kernel = "6.1.0-rpi7-rpi-v8";
  h.arch = "aarch64";
  h.cpu_model = "Cortex-A72";
  h.cpu_count = 4;
  h.memory_bytes = 4ULL << 30;
  h.boot_time = now_ms() - 86'400'000;
  h.capabilities = {"telemetry", "tasks"};
  if (options_.payload == "realistic") {
    h.disks = {{"/", "/dev/mmcblk0p2", "ext4", 31ULL << 30},
               {"/boot/firmware", "/dev/mmcblk0p1", "vfat", 512ULL << 20}};
    h.interfaces = {
        {"eth0",
         fmt::format("dc:a6:32:{:02x}:{:02x}:{:02x}", (index_ >> 16) & 0xff, (index_ >> 8) & 0xff,
                     index_ & 0xff),
         {fmt::format("10.{}.{}.{}/16", 20 + index_ / 65536, (index_ / 256) % 256, index_ % 256)}},
        {"wlan0", "", {}},
        {"docker0", "02:42:ac:11:00:01", {"172.17.0.1/16"}}};
  }
  return h;
}

proto::Telemetry SimAgent::sample() {
  std::uniform_real_distribution<double> cpu(1, 35);
  proto::Telemetry t;
  t.cpu_percent = std::round(cpu(rng_) * 10) / 10;
  t.load1 = t.cpu_percent / 25;
  t.load5 = t.load1 * 0.9;
  t.load15 = t.load1 * 0.8;
  t.memory_total_bytes = 4ULL << 30;
  t.memory_available_bytes = (3ULL << 30) - (rng_() % (512ULL << 20));
  t.uptime_s = 86'400 + ++samples_ * static_cast<std::uint64_t>(options_.interval);
  if (options_.payload == "realistic") {
    t.disks = {{"/", 31ULL << 30, (9ULL << 30) + samples_ * 4096},
               {"/boot/firmware", 512ULL << 20, 64ULL << 20}};
    t.temperature_c = 45 + t.cpu_percent / 4;
    rx_ += 20'000 + rng_() % 10'000;
    tx_ += 5'000 + rng_() % 5'000;
    t.interfaces = {{"eth0", rx_, tx_, rx_ / 800, tx_ / 400, 0, 0},
                    {"wlan0", 0, 0, 0, 0, 0, 0},
                    {"docker0", tx_ / 10, rx_ / 10, tx_ / 4000, rx_ / 8000, 0, 0}};
  }
  return t;
}

}  // namespace hecs::sim
