// Enrolment: one attempt after another until the control plane gives us a certificate.
#include <exception>
#include <random>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <string.h>

#include "agent/enrol/enrol.h"
#include "agent/enrol/https.h"
#include "common/clock.h"
#include "common/files.h"
#include "common/log.h"

// g++ 12 false positive: Asio's coroutine frames use their own operator new/delete pair, which
// the warning cannot match up once inlined.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace hecs::agent::enrol {
namespace asio = boost::asio;

namespace {

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
constexpr std::string_view kEnd = "-----END CERTIFICATE-----";

// Only the first certificate of a PEM text: a body that appends a second one must not get it
// trusted alongside the pinned CA.
std::string first_certificate(std::string_view pem) {
  auto begin = pem.find(kBegin);
  auto end = pem.find(kEnd, begin == std::string_view::npos ? 0 : begin);
  if (begin == std::string_view::npos || end == std::string_view::npos) {
    return {};
  }
  return std::string(pem.substr(begin, end + kEnd.size() - begin)) + "\n";
}

void wipe(std::string& secret) {
  ::explicit_bzero(secret.data(), secret.size());  // not optimised away, unlike memset
  secret.clear();
}

}  // namespace

struct Enroller::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_, EnrollerOptions options_, uplink::CommandGate& gate_)
      : io(io_),
        options(std::move(options_)),
        gate(gate_),
        paths(options.state_dir),
        http(io_),
        timer(io_),
        log(log::get("agent.enrol")) {}

  asio::io_context& io;
  EnrollerOptions options;
  uplink::CommandGate& gate;
  Paths paths;
  HttpsClient http;
  asio::steady_timer timer;
  log::Logger log;
  std::function<void(Enrolled)> done;
  bool stopped = false;
  ControlUrl url;
  std::string key_hash, csr, ca_pem;
  std::mt19937 rng{std::random_device{}()};

  // The trusted CA: the configured file, or what the control plane serves if it matches the
  // pin. Errc::unauthorized when it does not: someone is in the way, or the pin is wrong.
  asio::awaitable<Result<std::string>> trusted_ca() {
    if (!options.settings.ca_file.empty()) {
      auto text = files::read_small(options.settings.ca_file, kMaxPemBytes);
      if (!text) {
        co_return fail(Errc::unauthorized, "control_ca_file: " + text.error().message);
      }
      auto pem = first_certificate(*text);
      if (!crypto::parse_certificate(pem)) {
        co_return fail(Errc::unauthorized, "control_ca_file: not a PEM certificate");
      }
      co_return pem;
    }
    // Named arguments, no braced temporaries: g++ 12 destroys those twice when the coroutine
    // returns early.
    HttpsRequest get{"GET", "/api/v1/enroll/ca", {}};
    std::string no_ca;
    auto res =
        co_await http.request(url, std::move(no_ca), std::move(get), options.request_timeout);
    if (!res) {
      co_return tl::unexpected(std::move(res.error()));
    }
    if (res->status != 200) {
      co_return fail(Errc::unavailable,
                     fmt::format("GET /api/v1/enroll/ca: http status {}", res->status));
    }
    auto pem = first_certificate(res->body);
    auto info = crypto::parse_certificate(pem);
    if (!info) {
      co_return fail(Errc::unavailable, "GET /api/v1/enroll/ca: not a PEM certificate");
    }
    if (info->sha256 != options.settings.ca_sha256) {
      co_return fail(Errc::unauthorized,
                     fmt::format("the control plane's ca (sha256 {}) does not match "
                                 "control_ca_sha256",
                                 info->sha256));
    }
    co_return pem;
  }

  asio::awaitable<Outcome> attempt() {
    if (csr.empty()) {
      auto key = load_or_create_key(paths.key);
      if (!key) {
        co_return Transient{key.error().message};
      }
      auto hash = public_key_sha256(*key);
      auto request = crypto::make_csr(*key, options.device_id);
      wipe(*key);
      if (!hash || !request) {
        co_return Transient{"device key: " + (!hash ? hash.error() : request.error()).message};
      }
      key_hash = std::move(*hash);
      csr = std::move(*request);
    }
    if (ca_pem.empty()) {
      auto ca = co_await trusted_ca();
      if (!ca && ca.error().code == Errc::unauthorized) {
        co_return Refused{0, ca.error().message};
      }
      if (!ca) {
        co_return Transient{ca.error().message};
      }
      ca_pem = std::move(*ca);
    }
    std::string body = boost::json::serialize(
        boost::json::object{{"token", options.settings.token}, {"csr", csr}});
    HttpsRequest post{"POST", "/api/v1/enroll", std::move(body)};
    std::string trusted = ca_pem;
    auto res =
        co_await http.request(url, std::move(trusted), std::move(post), options.request_timeout);
    if (!res) {
      co_return Transient{res.error().message};
    }
    co_return read_enrol_response(res->status, res->retry_after, res->body);
  }

  Result<Enrolled> finish(const Accepted& a) {
    if (a.device_id != options.device_id) {
      return fail(Errc::invalid_input,
                  fmt::format("enrol reply: for device {}", log::quoted(a.device_id)));
    }
    const std::int64_t now = SystemClock{}.now_ms() / 1000;
    if (auto cert = check_certificate(a.certificate, ca_pem, options.device_id, key_hash, now);
        !cert) {
      return fail(std::move(cert.error()), "enrol reply");
    }
    auto mqtt = net::parse_mqtt_url(a.mqtt_url);
    if (!mqtt || !mqtt->tls) {
      return fail(Errc::invalid_input, "enrol reply: mqtt_url is not an mqtts:// url");
    }
    // The keys first: an enrolled device without them could never accept a command again,
    // not even the "keys" command that would bring them.
    if (auto keys = gate.set_keys(a.keys); !keys) {
      return fail(std::move(keys.error()), "enrol: command keys");
    }
    // Our CA, not the reply's: the one we pinned is the one we trust.
    return store_enrolment(paths, a.certificate, ca_pem, a.mqtt_url);
  }

  std::chrono::milliseconds jittered(std::chrono::seconds delay) {
    // Between half and the whole delay, so a fleet that lost its control plane does not come
    // back in lockstep.
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(delay).count();
    return std::chrono::milliseconds(std::uniform_int_distribution<long>(ms / 2, ms)(rng));
  }

  void report(const Outcome& outcome, std::chrono::milliseconds delay) {
    const auto in_s = std::chrono::duration_cast<std::chrono::seconds>(delay).count();
    const auto& device = options.device_id;
    if (std::holds_alternative<Pending>(outcome)) {
      log->info("enrol.pending device={} retry_in_s={}", device, in_s);
    } else if (const auto* r = std::get_if<Refused>(&outcome)) {
      log->error("enrol.refused device={} status={} detail={} retry_in_s={}", device, r->status,
                 log::quoted(r->detail), in_s);
    } else if (const auto* t = std::get_if<Transient>(&outcome)) {
      log->warn("enrol.retry device={} reason={} retry_in_s={}", device, log::quoted(t->reason),
                in_s);
    }
  }

  asio::awaitable<void> run() {
    auto self = shared_from_this();  // alive while the coroutine is
    std::chrono::seconds backoff{0};
    log->info("enrol.started device={} control={}", options.device_id,
              log::quoted(options.settings.control_url));
    while (!stopped) {
      Outcome outcome = co_await attempt();
      if (stopped) {
        co_return;
      }
      if (const auto* accepted = std::get_if<Accepted>(&outcome)) {
        auto enrolled = finish(*accepted);
        if (enrolled) {
          wipe(options.settings.token);
          log->info("enrol.accepted device={} mqtt={}", options.device_id,
                    log::quoted(enrolled->mqtt_url));
          auto callback = std::move(done);
          callback(std::move(*enrolled));
          co_return;
        }
        outcome = Transient{enrolled.error().message};
      }
      auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(
          retry_delay(outcome, backoff, options.max_delay));
      if (std::holds_alternative<Transient>(outcome)) {
        delay = jittered(std::chrono::duration_cast<std::chrono::seconds>(delay));
      }
      report(outcome, delay);
      timer.expires_after(delay);
      co_await timer.async_wait(kAwait);
    }
  }
};

Enroller::Enroller(asio::io_context& io, EnrollerOptions options, uplink::CommandGate& gate)
    : impl_(std::make_shared<Impl>(io, std::move(options), gate)) {}

Enroller::~Enroller() { stop(); }

void Enroller::start(std::function<void(Enrolled)> done) {
  auto parsed = parse_control_url(impl_->options.settings.control_url);
  if (!parsed) {  // checked with the configuration; here only as a last net
    impl_->log->error("enrol.bad_control_url error={}", log::quoted(parsed.error().message));
    return;
  }
  if (auto pin = parse_sha256_pin(impl_->options.settings.ca_sha256); pin) {
    impl_->options.settings.ca_sha256 = *pin;
  }
  impl_->url = *parsed;
  impl_->done = std::move(done);
  auto impl = impl_;
  asio::co_spawn(impl->io, impl->run(), [impl](const std::exception_ptr& e) {
    if (!e) {
      return;
    }
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      impl->log->error("bug.escaped_exception where=enrol what={}", log::quoted(ex.what()));
    }
  });
}

void Enroller::stop() {
  impl_->stopped = true;
  impl_->timer.cancel();
  impl_->http.cancel();
}

}  // namespace hecs::agent::enrol
