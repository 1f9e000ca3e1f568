#include "sim/sim.h"

#include <algorithm>
#include <cerrno>
#include <iostream>
#include <memory>
#include <system_error>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <sys/resource.h>

#include "common/clock.h"
#include "common/config/config.h"
#include "common/log.h"
#include "common/net/mqtt.h"
#include "common/net/signals.h"
#include "sim/agent.h"
#include "sim/random.h"

namespace hecs::sim {
namespace asio = boost::asio;
using std::chrono::milliseconds;

void add_flags(CLI::App& cli, Options& o) {
  cli.add_option("--count", o.count,
                 fmt::format("Simulated agents, each with its own MQTT connection and one "
                             "descriptor: the process needs count + {} descriptors",
                             kDescriptorMargin))
      ->check(CLI::Range(std::size_t{1}, kMaxCount))
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
                 "disjoint ranges make one fleet, when one process may not hold enough descriptors")
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

// Raises the soft descriptor limit to the hard one and checks that `count` agents fit under it.
// Errc::unavailable with the line to print otherwise.
Result<void> reserve_descriptors(std::size_t count) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return fail(Errc::internal,
                "getrlimit: " + std::error_code(errno, std::generic_category()).message());
  }
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      limit = raised;
    }
  }
  const auto needed = static_cast<rlim_t>(count + kDescriptorMargin);
  if (limit.rlim_cur != RLIM_INFINITY && needed > limit.rlim_cur) {
    return fail(Errc::unavailable,
                fmt::format("--count {} needs {} descriptors (one per agent + {}) but "
                            "RLIMIT_NOFILE allows {} (hard limit {}): raise ulimit -n, or split "
                            "the fleet over processes with --first-index",
                            count, needed, kDescriptorMargin, limit.rlim_cur, limit.rlim_max));
  }
  return {};
}

// Resolved once: every agent connects to the same broker, and 20,000 lookups would be a load
// test of the resolver.
Result<std::vector<asio::ip::tcp::endpoint>> resolve_broker(asio::io_context& io,
                                                            const std::string& url) {
  auto parsed = net::parse_mqtt_url(url);
  if (!parsed) {
    return tl::unexpected(parsed.error());
  }
  asio::ip::tcp::resolver resolver(io);
  boost::system::error_code ec;
  auto results = resolver.resolve(parsed->host, std::to_string(parsed->port),
                                  asio::ip::tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return fail(Errc::unavailable, fmt::format("cannot resolve broker host {}: {}", parsed->host,
                                               ec ? ec.message() : "no address"));
  }
  std::vector<asio::ip::tcp::endpoint> endpoints;
  for (const auto& entry : results) {
    endpoints.push_back(entry.endpoint());
  }
  return endpoints;
}

// The fleet on one io_context: ramp-up, progress lines, the clean stop, the summary.
class Fleet {
 public:
  Fleet(asio::io_context& io, const Options& options, std::vector<asio::ip::tcp::endpoint> broker)
      : io_(io),
        options_(options),
        shared_{std::move(broker), counters_},
        ramp_timer_(io),
        progress_timer_(io),
        duration_timer_(io) {
    agents_.reserve(options.count);
  }

  void start() {
    ramp();
    progress();
    if (options_.duration > 0) {
      duration_timer_.expires_after(milliseconds(static_cast<long>(options_.duration * 1000)));
      duration_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) {
          stop();
        }
      });
    }
  }

  // Every agent sends its offline status and disconnects; the loop stops once all are closed.
  void stop() {
    if (stop_started_) {
      return;  // a signal during the stop, or the duration ending
    }
    stop_started_ = true;
    ramp_timer_.cancel();
    progress_timer_.cancel();
    duration_timer_.cancel();
    if (agents_.empty()) {
      io_.stop();
      return;
    }
    stopping_ = agents_.size();
    for (auto& a : agents_) {
      a->stop([this] {
        if (--stopping_ == 0) {
          io_.stop();
        }
      });
    }
  }

  // Fields are only ever added at the end: scripts read this line.
  std::string summary() const {
    const auto& c = counters_;
    double total = elapsed();
    return fmt::format(
        "hecs-sim summary: agents={} connections={} reconnections={} messages_sent={} "
        "publish_failures={} seconds={:.1f} msg_per_s={:.0f} acks_received={} "
        "puback_received={} connect_refused={} subscribe_failures={} protocol_errors={} "
        "ping_timeouts={} commands_unknown={} commands_rejected={}\n",
        agents_.size(), c.connections,
        c.connections > agents_.size() ? c.connections - agents_.size() : 0, c.sent, c.failed,
        total, static_cast<double>(c.sent) / std::max(total, 1e-3), c.acks_received,
        c.puback_received, c.connect_refused, c.subscribe_failed, c.protocol_errors,
        c.ping_timeouts, c.commands_unknown, c.commands_rejected);
  }

 private:
  double elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  }

  // Every 10 ms, starts the agents due by then at --ramp per second. Counted from the elapsed
  // time, not per tick, so a busy loop (a loaded machine) does not slow the ramp down.
  void ramp() {
    auto due = std::min(options_.count, static_cast<std::size_t>(1 + elapsed() * options_.ramp));
    while (agents_.size() < due) {
      agents_.push_back(std::make_unique<SimAgent>(
          io_, options_, shared_, options_.first_index + agents_.size(), session_base_));
      agents_.back()->start();
    }
    if (agents_.size() < options_.count) {
      ramp_timer_.expires_after(milliseconds(10));
      ramp_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) {
          ramp();
        }
      });
    }
  }

  // Every second while coming up, then every 10 s.
  void progress() {
    bool ramping = counters_.connected < options_.count;
    progress_timer_.expires_after(std::chrono::seconds(ramping ? 1 : 10));
    progress_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) {
        print_progress();
        progress();
      }
    });
  }

  void print_progress() {
    double now = elapsed();
    double rate = static_cast<double>(counters_.sent - last_sent_) / std::max(now - last_at_, 1e-3);
    last_sent_ = counters_.sent;
    last_at_ = now;
    if (counters_.connected < options_.count) {
      std::cerr << fmt::format("hecs-sim: connected {} of {} after {:.1f} s, {:.0f} msg/s\n",
                               counters_.connected, options_.count, now, rate);
    } else if (!announced_) {
      announced_ = true;
      std::cerr << fmt::format("hecs-sim: all {} agents connected in {:.1f} s\n", options_.count,
                               now);
    } else {
      std::cerr << fmt::format("hecs-sim: {} connected, {:.0f} msg/s, {} sent\n",
                               counters_.connected, rate, counters_.sent);
    }
  }

  asio::io_context& io_;
  const Options& options_;
  Counters counters_;
  ClientShared shared_;
  // Session numbers start at the wall clock, so a later run's sessions are above an earlier
  // run's for the same device ids (S28).
  const std::uint64_t session_base_ = static_cast<std::uint64_t>(SystemClock{}.now_ms());
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<SimAgent>> agents_;
  asio::steady_timer ramp_timer_, progress_timer_, duration_timer_;
  std::uint64_t last_sent_ = 0;
  double last_at_ = 0;
  bool announced_ = false;
  bool stop_started_ = false;
  std::size_t stopping_ = 0;
};

}  // namespace

int run(const Options& options) {
  log::set_level(options.log_level);
  if (auto reserved = reserve_descriptors(options.count); !reserved) {
    std::cerr << "hecs-sim: " << reserved.error().message << "\n";
    return config::kUsageExitCode;
  }
  asio::io_context io(1);
  auto broker = resolve_broker(io, options.mqtt_url);
  if (!broker) {
    std::cerr << "hecs-sim: " << broker.error().message << "\n";
    return 1;
  }
  Fleet fleet(io, options, std::move(*broker));
  net::StopSignals signals(io, "sim", [&](int) { fleet.stop(); });
  fleet.start();
  io.run();
  std::cout << fleet.summary();
  return 0;
}

}  // namespace hecs::sim
