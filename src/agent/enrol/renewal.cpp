// Certificate renewal over MQTT: a "renew" event with a CSR for a new key, answered by a signed
// "certificate" command (docs/protocol.md).
#include <algorithm>

#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <fmt/format.h>

#include "agent/enrol/enrol.h"
#include "common/clock.h"
#include "common/files.h"
#include "common/log.h"

namespace hecs::agent::enrol {
namespace asio = boost::asio;
using std::chrono::seconds;

namespace {

constexpr seconds kCheckEvery{300};
constexpr seconds kOfflineRetry{5};
constexpr seconds kMinRetry{2};
constexpr seconds kMaxRetry{300};

seconds first_retry(const crypto::CertInfo& cert) {
  return std::clamp(seconds((cert.not_after - cert.not_before) / 30), kMinRetry, kMaxRetry);
}

}  // namespace

std::int64_t renewal_due(const crypto::CertInfo& cert, std::optional<std::int64_t> installed_at) {
  const std::int64_t life = cert.not_after - cert.not_before;
  std::int64_t due = cert.not_after - life / 3;
  if (installed_at) {
    due = std::max(due, *installed_at + (cert.not_after - *installed_at) / 2);
  }
  return due;
}

struct Renewal::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, Paths paths_, std::string device_id_, uplink::Uplink& link_,
       net::MqttTls tls_)
      : paths(std::move(paths_)),
        device_id(std::move(device_id_)),
        link(link_),
        tls(std::move(tls_)),
        timer(io),
        log(log::get("agent.enrol")) {}

  Paths paths;
  std::string device_id;
  uplink::Uplink& link;
  net::MqttTls tls;
  asio::steady_timer timer;
  log::Logger log;
  SystemClock clock;
  std::optional<crypto::CertInfo> cert;
  std::optional<std::int64_t> installed_at;
  std::string next_key_hash;  // of device.key.next, once a request went out
  seconds retry{0};
  bool stopped = false;

  std::int64_t now_s() const { return clock.now_ms() / 1000; }

  void schedule(seconds delay) {
    timer.expires_after(delay);
    timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (!ec && self) {
        self->check();
      }
    });
  }

  Result<crypto::CertInfo> load_cert() {
    auto pem = files::read_small(paths.cert, kMaxPemBytes);
    if (!pem) {
      return tl::unexpected(std::move(pem.error()));
    }
    return crypto::parse_certificate(*pem);
  }

  void check() {
    if (stopped) {
      return;
    }
    if (!cert) {
      auto loaded = load_cert();
      if (!loaded) {
        log->error("cert.unreadable file={} error={}", log::quoted(paths.cert.string()),
                   log::quoted(loaded.error().message));
        schedule(kCheckEvery);
        return;
      }
      cert = std::move(*loaded);
    }
    const std::int64_t now = now_s();
    if (now >= cert->not_after) {
      // The broker refuses us from now on, so no renewal can reach the control plane.
      log->error("cert.expired device={} serial={} not_after={} action={}", device_id, cert->serial,
                 cert->not_after,
                 "\"enrol again: give a new enrollment token and remove device.pem\"");
      schedule(kCheckEvery);
      return;
    }
    const std::int64_t due = renewal_due(*cert, installed_at);
    if (now < due) {
      schedule(std::clamp(seconds(due - now), seconds(1), kCheckEvery));
      return;
    }
    if (!link.connected()) {
      schedule(kOfflineRetry);
      return;
    }
    if (auto sent = request(); !sent) {
      log->warn("cert.renew_failed device={} error={}", device_id,
                log::quoted(sent.error().message));
      schedule(kOfflineRetry);
      return;
    }
    // Unanswered (lost, or the control plane is down): asked again, less and less often.
    retry = retry.count() == 0 ? first_retry(*cert) : std::min(retry * 2, kMaxRetry);
    schedule(retry);
  }

  Result<void> request() {
    // The same new key for every attempt until one succeeds: any answer fits it.
    auto key = load_or_create_key(paths.next_key);
    if (!key) {
      return tl::unexpected(std::move(key.error()));
    }
    auto hash = public_key_sha256(*key);
    auto csr = crypto::make_csr(*key, device_id);
    if (!hash || !csr) {
      return tl::unexpected(!hash ? hash.error() : csr.error());
    }
    next_key_hash = std::move(*hash);
    auto envelope =
        proto::make_envelope("renew", clock.now_ms(), boost::json::object{{"csr", *csr}});
    if (auto sent = link.publish_now(proto::up_topic(device_id, proto::UpKind::event),
                                     proto::serialize(envelope));
        !sent) {
      return sent;
    }
    log->info("cert.renew_requested device={} serial={} not_after={}", device_id, cert->serial,
              cert->not_after);
    return {};
  }

  void on_certificate(const proto::Command& command) {
    const auto* pem = command.body.if_contains("certificate");
    if (pem == nullptr || !pem->is_string()) {
      log->warn("cert.refused device={} reason={}", device_id,
                log::quoted("body.certificate: expected a string"));
      return;
    }
    if (next_key_hash.empty()) {
      // After a restart the request may still be answered: the key is on disk.
      if (auto key = files::read_small(paths.next_key, kMaxPemBytes)) {
        if (auto hash = public_key_sha256(*key)) {
          next_key_hash = std::move(*hash);
        }
      }
    }
    if (next_key_hash.empty()) {
      log->warn("cert.unexpected device={} reason={}", device_id,
                log::quoted("no renewal in progress"));
      return;
    }
    auto ca = files::read_small(paths.ca, kMaxPemBytes);
    if (!ca) {
      log->error("cert.refused device={} reason={}", device_id, log::quoted(ca.error().message));
      return;
    }
    const std::string text(pem->as_string());
    auto info = check_certificate(text, *ca, device_id, next_key_hash, now_s());
    if (!info) {
      log->warn("cert.refused device={} reason={}", device_id, log::quoted(info.error().message));
      return;
    }
    if (auto stored = install_renewed(paths, text); !stored) {
      log->error("cert.store_failed device={} error={}", device_id,
                 log::quoted(stored.error().message));
      return;  // the retry asks again
    }
    next_key_hash.clear();
    cert = std::move(*info);
    installed_at = now_s();
    retry = seconds(0);
    log->info("cert.renewed device={} serial={} not_after={}", device_id, cert->serial,
              cert->not_after);
    if (auto r = link.reconnect_with_tls(tls); !r) {
      log->error("cert.reconnect_failed device={} error={}", device_id,
                 log::quoted(r.error().message));
    }
    check();
  }
};

Renewal::Renewal(asio::io_context& io, Paths paths, std::string device_id, uplink::Uplink& link,
                 net::MqttTls tls, bool installed_now)
    : impl_(std::make_shared<Impl>(io, std::move(paths), std::move(device_id), link,
                                   std::move(tls))) {
  if (installed_now) {
    impl_->installed_at = impl_->now_s();
  }
}

Renewal::~Renewal() { stop(); }

void Renewal::start() { impl_->check(); }

void Renewal::stop() {
  impl_->stopped = true;
  impl_->timer.cancel();
}

void Renewal::on_certificate(const proto::Command& command) { impl_->on_certificate(command); }

}  // namespace hecs::agent::enrol
