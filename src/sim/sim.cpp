#include "sim/sim.h"

#include <cmath>
#include <iostream>
#include <random>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "common/clock.h"
#include "common/config/config.h"
#include "common/log.h"
#include "common/net/mqtt.h"
#include "common/net/signals.h"
#include "proto/proto.h"

namespace hecs::sim {
namespace asio = boost::asio;
using std::chrono::milliseconds;

void add_flags(CLI::App& cli, Options& o) {
  cli.add_option("--count", o.count, "Simulated agents, each with its own MQTT connection")
      ->check(CLI::Range(std::size_t{1}, std::size_t{20000}))
      ->capture_default_str();
  cli.add_option("--mqtt-url", o.mqtt_url, "Broker URL, mqtt://host:port")
      ->check(config::checked_by("URL", net::parse_mqtt_url))
      ->capture_default_str();
  cli.add_option("--interval", o.interval, "Seconds between two telemetry samples of one agent")
      ->check(CLI::Range(0.01, 86400.0))
      ->capture_default_str();
  cli.add_option("--jitter", o.jitter,
                 "Each interval varies by up to this fraction, so agents do not send in lockstep")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cli.add_option("--seed", o.seed,
                 "Device ids and payload values follow from it: same seed, "
                 "same fleet")
      ->capture_default_str();
  cli.add_option("--first-index", o.first_index,
                 "Number of the first agent: several processes with the same --seed and "
                 "disjoint ranges make one fleet (each libmosquitto client holds 3 descriptors)")
      ->capture_default_str();
  cli.add_option("--ramp", o.ramp, "New connections per second while the fleet comes up")
      ->check(CLI::Range(1.0, 100000.0))
      ->capture_default_str();
  cli.add_option("--keepalive", o.keepalive, "MQTT keepalive of each agent, seconds")
      ->check(CLI::Range(5, 3600))
      ->capture_default_str();
  cli.add_option("--payload", o.payload,
                 "minimal: CPU, load, memory, uptime; realistic: also 2 disks, 3 network "
                 "interfaces and a temperature, as a Raspberry Pi sends")
      ->check(CLI::IsMember({"minimal", "realistic"}))
      ->capture_default_str();
  cli.add_option("--duration", o.duration, "Seconds to run, then stop cleanly; 0: until Ctrl-C")
      ->check(CLI::Range(0.0, 31536000.0))
      ->capture_default_str();
  cli.add_option("--log-level", o.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
}

namespace {

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

std::string device_id(std::uint64_t seed, std::size_t index) {
  std::uint64_t state = seed * 0x100000001b3ULL + index;
  std::uint64_t hi = splitmix64(state);
  std::uint64_t lo = splitmix64(state);
  hi = (hi & ~0xf000ULL) | 0x4000ULL;              // version 4
  lo = (lo & ~(0xc0ULL << 56)) | (0x80ULL << 56);  // RFC 4122 variant
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xffff,
                     hi & 0xffff, lo >> 48, lo & 0xffffffffffffULL);
}

namespace {

// Message kinds a simulated agent sends. Task results (issue 6) join here as one more kind with
// their own knobs (delay, failure rate), next to telemetry.
struct Counters {
  std::size_t connected = 0;    // agents connected now
  std::size_t connections = 0;  // CONNACKs received, reconnections included
  std::uint64_t sent = 0;       // messages handed to the broker
  std::uint64_t failed = 0;     // publishes refused (link down)
};

class SimAgent {
 public:
  SimAgent(asio::io_context& io, const Options& options, std::size_t index, Counters& counters,
           std::uint64_t session_base)
      : options_(options),
        index_(index),
        id_(device_id(options.seed, index)),
        counters_(counters),
        session_(session_base),
        timer_(io),
        rng_(options.seed ^ (0x5bd1e995ULL * (index + 1))) {}

  Result<void> start(asio::io_context& io) {
    net::MqttOptions o;
    o.url = options_.mqtt_url;
    o.client_id = id_;
    o.keepalive_s = options_.keepalive;
    o.single_threaded_loop = true;  // one io thread: one descriptor per connection
    o.will = [this]() -> std::optional<net::MqttWill> {
      ++session_;  // a new session per connection attempt, as hecs-agent does (S28)
      return net::MqttWill{proto::up_topic(id_, proto::UpKind::status),
                           status(proto::State::offline), 1, true};
    };
    auto mqtt = net::MqttClient::create(io, std::move(o));
    if (!mqtt) {
      return tl::unexpected(mqtt.error());
    }
    mqtt_ = std::move(*mqtt);
    mqtt_->on_connect = [this] { on_connect(); };
    mqtt_->on_disconnect = [this](int) {
      --counters_.connected;
      timer_.cancel();
    };
    mqtt_->start();
    return {};
  }

  void stop(std::function<void()> done) {
    timer_.cancel();
    if (mqtt_->connected()) {
      send(proto::UpKind::status, status(proto::State::offline), true);
      --counters_.connected;
    }
    mqtt_->stop(std::move(done));
  }

 private:
  std::string status(proto::State state) {
    return proto::serialize(proto::make_envelope("status", clock_.now_ms(),
                                                 proto::to_json(proto::Status{state, session_})));
  }

  void send(proto::UpKind kind, const std::string& payload, bool retain) {
    if (mqtt_->publish(proto::up_topic(id_, kind), payload, 1, retain)) {
      ++counters_.sent;
    } else {
      ++counters_.failed;
    }
  }

  void on_connect() {
    ++counters_.connected;
    ++counters_.connections;
    send(proto::UpKind::hello,
         proto::serialize(proto::make_envelope("hello", clock_.now_ms(), proto::to_json(hello()))),
         true);
    send(proto::UpKind::status, status(proto::State::online), true);
    // The first sample comes at a random point of the first interval: a fleet that connected
    // together does not then send together.
    std::uniform_real_distribution<double> first(0, options_.interval);
    arm(first(rng_));
  }

  void arm(double seconds) {
    timer_.expires_after(milliseconds(static_cast<long>(seconds * 1000)));
    timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) {
        return;
      }
      send(proto::UpKind::telemetry,
           proto::serialize(
               proto::make_envelope("telemetry", clock_.now_ms(), proto::to_json(sample()))),
           false);
      std::uniform_real_distribution<double> vary(-options_.jitter, options_.jitter);
      arm(options_.interval * (1 + vary(rng_)));
    });
  }

  proto::Hello hello() const {
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
    h.boot_time = clock_.now_ms() - 86'400'000;
    h.capabilities = {"telemetry"};
    if (options_.payload == "realistic") {
      h.disks = {{"/", "/dev/mmcblk0p2", "ext4", 31ULL << 30},
                 {"/boot/firmware", "/dev/mmcblk0p1", "vfat", 512ULL << 20}};
      h.interfaces = {{"eth0",
                       fmt::format("dc:a6:32:{:02x}:{:02x}:{:02x}", (index_ >> 16) & 0xff,
                                   (index_ >> 8) & 0xff, index_ & 0xff),
                       {fmt::format("10.{}.{}.{}/16", 20 + index_ / 65536, (index_ / 256) % 256,
                                    index_ % 256)}},
                      {"wlan0", "", {}},
                      {"docker0", "02:42:ac:11:00:01", {"172.17.0.1/16"}}};
    }
    return h;
  }

  proto::Telemetry sample() {
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

  const Options& options_;
  std::size_t index_;
  std::string id_;
  Counters& counters_;
  std::uint64_t session_;
  asio::steady_timer timer_;
  std::mt19937_64 rng_;
  SystemClock clock_;
  std::unique_ptr<net::MqttClient> mqtt_;
  std::uint64_t samples_ = 0, rx_ = 0, tx_ = 0;
};

}  // namespace

int run(const Options& options) {
  log::set_level(options.log_level);
  asio::io_context io(1);
  Counters counters;
  // Session numbers start at the wall clock, so a later run's sessions are above an earlier
  // run's for the same device ids (S28).
  const auto session_base = static_cast<std::uint64_t>(SystemClock{}.now_ms());
  std::vector<std::unique_ptr<SimAgent>> agents;
  agents.reserve(options.count);
  const auto started = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };

  // Ramp up: start ramp/100 agents every 10 ms (fractions carry over).
  asio::steady_timer ramp_timer(io);
  double owed = 0;
  std::function<void()> ramp = [&] {
    owed += options.ramp / 100;
    while (owed >= 1 && agents.size() < options.count) {
      owed -= 1;
      agents.push_back(std::make_unique<SimAgent>(io, options, options.first_index + agents.size(),
                                                  counters, session_base));
      if (auto r = agents.back()->start(io); !r) {
        std::cerr << "hecs-sim: " << r.error().message << "\n";
        io.stop();
        return;
      }
    }
    if (agents.size() < options.count) {
      ramp_timer.expires_after(milliseconds(10));
      ramp_timer.async_wait([&](boost::system::error_code ec) {
        if (!ec) {
          ramp();
        }
      });
    }
  };
  ramp();

  // Progress: every second while coming up, then every 10 s.
  asio::steady_timer progress_timer(io);
  std::uint64_t last_sent = 0;
  double last_at = 0;
  bool announced = false;
  std::function<void()> progress = [&] {
    bool ramping = counters.connected < options.count;
    progress_timer.expires_after(std::chrono::seconds(ramping ? 1 : 10));
    progress_timer.async_wait([&](boost::system::error_code ec) {
      if (ec) {
        return;
      }
      double now = elapsed();
      double rate = (counters.sent - last_sent) / std::max(now - last_at, 1e-3);
      last_sent = counters.sent;
      last_at = now;
      if (counters.connected < options.count) {
        std::cerr << fmt::format("hecs-sim: connected {} of {} after {:.1f} s, {:.0f} msg/s\n",
                                 counters.connected, options.count, now, rate);
      } else if (!announced) {
        announced = true;
        std::cerr << fmt::format("hecs-sim: all {} agents connected in {:.1f} s\n", options.count,
                                 now);
      } else {
        std::cerr << fmt::format("hecs-sim: {} connected, {:.0f} msg/s, {} sent\n",
                                 counters.connected, rate, counters.sent);
      }
      progress();
    });
  };
  progress();

  std::size_t stopping = 0;
  auto stop_all = [&] {
    ramp_timer.cancel();
    progress_timer.cancel();
    if (agents.empty()) {
      io.stop();
      return;
    }
    stopping = agents.size();
    for (auto& a : agents) {
      a->stop([&] {
        if (--stopping == 0) {
          io.stop();
        }
      });
    }
  };
  net::StopSignals signals(io, "sim", [&](int) { stop_all(); });
  asio::steady_timer duration_timer(io);
  if (options.duration > 0) {
    duration_timer.expires_after(milliseconds(static_cast<long>(options.duration * 1000)));
    duration_timer.async_wait([&](boost::system::error_code ec) {
      if (!ec) {
        stop_all();
      }
    });
  }
  io.run();

  double total = elapsed();
  std::cout << fmt::format(
      "hecs-sim summary: agents={} connections={} reconnections={} messages_sent={} "
      "publish_failures={} seconds={:.1f} msg_per_s={:.0f}\n",
      agents.size(), counters.connections,
      counters.connections > agents.size() ? counters.connections - agents.size() : 0,
      counters.sent, counters.failed, total, counters.sent / std::max(total, 1e-3));
  return 0;
}

}  // namespace hecs::sim
