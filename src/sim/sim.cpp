#include "sim/sim.h"

#include <algorithm>
#include <cerrno>
#include <iostream>
#include <memory>
#include <optional>
#include <system_error>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <fmt/format.h>
#include <sys/resource.h>

#include "common/config/config.h"
#include "common/log.h"
#include "common/mqtt/tls.h"
#include "common/net/mqtt.h"
#include "common/net/signals.h"
#include "common/random.h"
#include "sim/fleet.h"

namespace hecs::sim {
namespace asio = boost::asio;

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

// Raises the soft descriptor limit to the hard one and checks that `count` agents (and `extra`
// enrolment connections) fit under it. Errc::unavailable with the line to print otherwise.
Result<void> reserve_descriptors(std::size_t count, std::size_t extra) {
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
  const auto needed = static_cast<rlim_t>(count + extra + kDescriptorMargin);
  if (limit.rlim_cur != RLIM_INFINITY && needed > limit.rlim_cur) {
    return fail(
        Errc::unavailable,
        fmt::format("--count {} needs {} descriptors (one per agent + {}{}) but "
                    "RLIMIT_NOFILE allows {} (hard limit {}): raise ulimit -n, or split "
                    "the fleet over processes with --first-index",
                    count, needed, extra > 0 ? fmt::format("{} for enrolment + ", extra) : "",
                    kDescriptorMargin, limit.rlim_cur, limit.rlim_max));
  }
  return {};
}

// Resolved once: every agent connects to the same broker, and 20,000 lookups would be a load
// test of the resolver. IPv4 first: a first attempt on ::1 when the broker listens on 127.0.0.1
// only ("localhost", as a TLS name needs) would cost each agent a backoff.
Result<std::vector<asio::ip::tcp::endpoint>> resolve_broker(asio::io_context& io,
                                                            const net::MqttUrl& broker) {
  const auto* parsed = &broker;
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
  std::stable_partition(endpoints.begin(), endpoints.end(),
                        [](const auto& e) { return e.address().is_v4(); });
  return endpoints;
}

}  // namespace

int run(const Options& options) {
  log::set_level(options.log_level);
  if (auto ok = check_options(options); !ok) {
    std::cerr << "hecs-sim: " << ok.error().message << "\n";
    return config::kUsageExitCode;
  }
  const bool enrol = !options.enroll_url.empty();
  if (auto reserved = reserve_descriptors(options.count, enrol ? options.enroll_concurrency : 0);
      !reserved) {
    std::cerr << "hecs-sim: " << reserved.error().message << "\n";
    return config::kUsageExitCode;
  }
  FleetSetup setup;
  if (enrol) {
    auto token = enroll_token(options);
    if (!token) {
      std::cerr << "hecs-sim: " << token.error().message << "\n";
      return config::kUsageExitCode;
    }
    setup.enroll_token = std::move(*token);
  }
  auto keys = command_keys(options);
  if (!keys) {
    std::cerr << "hecs-sim: " << keys.error().message << "\n";
    return config::kUsageExitCode;
  }
  if (!keys->empty()) {
    setup.command_keys = std::make_shared<const std::vector<proto::VerifyKey>>(std::move(*keys));
  }
  auto url = net::parse_mqtt_url(options.mqtt_url);  // checked by check_options
  std::optional<mqtt::tls::Context> tls;
  if (url->tls || enrol) {
    auto context = mqtt::tls::Context::create(options.ca_file);
    if (!context) {
      std::cerr << "hecs-sim: --ca-file: " << context.error().message << "\n";
      return config::kUsageExitCode;
    }
    tls = std::move(*context);
    setup.tls = &*tls;
    setup.tls_host = url->host;
    setup.state_dir.emplace(options.state_dir);
    if (auto made = setup.state_dir->create(); !made) {
      std::cerr << "hecs-sim: --state-dir: " << made.error().message << "\n";
      return 1;
    }
  }
  asio::io_context io(1);
  auto broker = resolve_broker(io, *url);
  if (!broker) {
    std::cerr << "hecs-sim: " << broker.error().message << "\n";
    return 1;
  }
  setup.broker = std::move(*broker);
  auto fleet = Fleet::create(io, options, std::move(setup));
  if (!fleet) {
    std::cerr << "hecs-sim: " << fleet.error().message << "\n";
    return 1;
  }
  net::StopSignals signals(io, "sim", [&](int) { (*fleet)->stop(); });
  (*fleet)->start();
  io.run();
  std::cout << (*fleet)->summary();
  return 0;
}

}  // namespace hecs::sim
