#include "control/app/security.h"

#include <mutex>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include "common/files.h"
#include "common/log.h"

namespace hecs::control::app {
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kServiceCertLifetime = std::int64_t{90} * 86400;
constexpr std::int64_t kCrlLifetime = std::int64_t{30} * 86400;
constexpr const char* kControlIdentity = "hecs-control";

bool is_ip_address(const std::string& name) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, name.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

crypto::CertRequest server_request(const Config& config) {
  crypto::CertRequest r;
  r.common_name = config.tls_names.empty() ? "localhost" : config.tls_names.front();
  r.usage = crypto::CertUsage::server;
  for (const auto& name : config.tls_names) {
    (is_ip_address(name) ? r.ip_addresses : r.dns_names).push_back(name);
  }
  return r;
}

fs::path data_path(const Config& config, const std::string& value, const char* fallback) {
  return value.empty() ? fs::path(config.data_dir) / fallback : fs::path(value);
}

Result<broker::BrokerConfig> broker_files(const Config& config) {
  broker::BrokerConfig b;
  const fs::path dir = data_path(config, config.broker_dir, "broker");
  std::error_code ec;
  fs::create_directories(dir / "data", ec);
  if (ec) {
    return fail(Errc::unavailable, fmt::format("broker dir {}: {}", dir.string(), ec.message()));
  }
  auto colon = config.broker_listen.rfind(':');
  b.listen_host = config.broker_listen.substr(0, colon);
  if (b.listen_host.size() >= 2 && b.listen_host.front() == '[') {
    b.listen_host = b.listen_host.substr(1, b.listen_host.size() - 2);
  }
  b.port = static_cast<std::uint16_t>(std::stoi(config.broker_listen.substr(colon + 1)));
  // Copies of what the broker reads (install_broker_tls), in its own directory: the PKI
  // directory stays private to hecs-control, and the broker's can belong to Mosquitto's group.
  b.ca_file = dir / "ca.pem";
  b.cert_file = dir / "broker.pem";
  b.key_file = dir / "broker.key";
  b.crl_file = dir / "crl.pem";
  b.acl_file = dir / "acl";
  b.persistence_dir = dir / "data";
  b.pid_file = dir / "mosquitto.pid";
  b.log_dest = "stderr";
  b.control_username = kControlIdentity;
  b.run_as_user = config.broker_user;
  return b;
}

}  // namespace

bool RevokedSet::contains(const std::string& id) const {
  std::shared_lock lock(mutex_);
  return ids_.contains(id);
}

void RevokedSet::replace(std::vector<std::string> ids) {
  std::unordered_set<std::string> next(std::make_move_iterator(ids.begin()),
                                       std::make_move_iterator(ids.end()));
  std::unique_lock lock(mutex_);
  ids_ = std::move(next);
}

Result<Security> prepare_security(const Config& config, const Clock& clock,
                                  store::EnrollmentStore& enrollments) {
  Security out;
  const fs::path pki_dir = fs::path(config.data_dir) / "pki";
  auto master =
      ca::load_master_key(data_path(config, config.master_key_file, "master.key"), pki_dir);
  if (!master) {
    return tl::unexpected(master.error());
  }
  out.master_key_created = master->created;
  out.master_key_source = master->source;
  out.master_key = master->key;
  ca::Options options;
  options.dir = pki_dir;
  options.master_key = master->key;
  options.import_cert_file = config.ca_import_cert;
  options.import_key_file = config.ca_import_key;
  auto pki = ca::Pki::open(options, clock);
  if (!pki) {
    return tl::unexpected(pki.error());
  }
  out.pki = std::move(*pki);

  auto files = broker_files(config);
  if (!files) {
    return tl::unexpected(files.error());
  }
  out.broker = std::move(*files);
  if (auto certs = renew_service_certs(config, out); !certs) {
    return tl::unexpected(certs.error());
  }
  RevokedSet unused;
  if (auto r = refresh_revocations(out, clock, enrollments, unused, false); !r) {
    return tl::unexpected(r.error());
  }
  if (auto w =
          broker::write_config(out.broker.acl_file.parent_path() / "mosquitto.conf", out.broker);
      !w) {
    return tl::unexpected(w.error());
  }
  return out;
}

Result<void> renew_service_certs(const Config& config, Security& security) {
  auto& pki = *security.pki;
  if (!config.http_plain) {
    auto api = pki.ensure_service_cert({"api", server_request(config)}, kServiceCertLifetime);
    if (!api) {
      return tl::unexpected(api.error());
    }
    security.https = net::HttpTls{api->cert.string(), api->key.string()};
  }
  crypto::CertRequest identity;
  identity.common_name = kControlIdentity;
  identity.usage = crypto::CertUsage::client;
  auto client = pki.ensure_service_cert({"mqtt-client", identity}, kServiceCertLifetime);
  if (!client) {
    return tl::unexpected(client.error());
  }
  if (config.mqtt_url.starts_with("mqtts://")) {
    security.mqtt =
        net::MqttTls{pki.ca_file().string(), client->cert.string(), client->key.string()};
  }
  // The broker reads its certificate at start only (Mosquitto 2.0.11): a renewed one is used
  // from its next restart, well before the old one expires.
  auto broker_cert =
      pki.ensure_service_cert({"broker", server_request(config)}, kServiceCertLifetime);
  if (!broker_cert) {
    return tl::unexpected(broker_cert.error());
  }
  const auto& b = security.broker;
  for (const auto& [from, to] :
       {std::pair{pki.ca_file(), b.ca_file}, std::pair{broker_cert->cert, b.cert_file},
        std::pair{broker_cert->key, b.key_file}}) {
    auto text = files::read_small(from);
    if (!text) {
      return tl::unexpected(text.error());
    }
    if (auto w = files::write_atomic(to, *text, 0640); !w) {
      return w;
    }
  }
  return {};
}

Result<void> refresh_revocations(const Security& security, const Clock& clock,
                                 store::EnrollmentStore& enrollments, RevokedSet& revoked,
                                 bool reload_broker) {
  // One writer at a time: two revocations at once must not interleave their file writes.
  static std::mutex writer;
  std::scoped_lock lock(writer);
  const std::int64_t now = clock.now_ms() / 1000;
  auto serials = enrollments.revoked_serials(now);
  auto devices = enrollments.revoked_devices();
  if (!serials || !devices) {
    return tl::unexpected(!serials ? serials.error() : devices.error());
  }
  // The CRL number only has to grow; the clock does that across restarts too.
  auto crl = security.pki->ca().make_crl(*serials, static_cast<std::uint64_t>(clock.now_ms()), now,
                                         now + kCrlLifetime);
  if (!crl) {
    return fail(std::move(crl.error()), "crl");
  }
  if (auto w = files::write_atomic(security.broker.crl_file, *crl, 0644); !w) {
    return w;
  }
  if (auto w =
          broker::write_acl(security.broker.acl_file, security.broker.control_username, *devices);
      !w) {
    return w;
  }
  revoked.replace(*devices);
  if (!reload_broker) {
    return {};
  }
  if (auto r = broker::reload(security.broker); !r) {
    if (r.error().code == Errc::not_found || r.error().code == Errc::unavailable) {
      log::get("control")->warn(
          "broker.not_reloaded reason={} action={}", log::quoted(r.error().message),
          "\"the broker applies the new ACL and CRL when it next starts or gets SIGHUP\"");
      return {};
    }
    return r;
  }
  return {};
}

}  // namespace hecs::control::app
