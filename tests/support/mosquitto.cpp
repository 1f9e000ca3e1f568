#include "support/mosquitto.h"

#include <chrono>
#include <csignal>
#include <ctime>
#include <fstream>
#include <stdexcept>

#include <unistd.h>

#include "common/clock.h"
#include "common/files.h"

namespace hecs::test {
namespace {

std::int64_t unix_now() { return static_cast<std::int64_t>(std::time(nullptr)); }

template <class T>
T need(Result<T> result, const std::string& doing) {
  if (!result) {
    throw std::runtime_error(doing + ": " + result.error().message);
  }
  if constexpr (!std::is_void_v<T>) {
    return std::move(*result);
  }
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  need(files::write_atomic(path, text, 0600, false), "write " + path.string());
}

int count_of(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

}  // namespace

struct Mosquitto::Tls {
  explicit Tls(crypto::CertificateAuthority authority) : ca(std::move(authority)) {}
  crypto::CertificateAuthority ca;
  control::broker::BrokerConfig config;
  std::vector<std::string> revoked_serials;
  std::vector<std::string> revoked_ids;
  std::uint64_t crl_number = 1;
  int issued = 0;
};

std::unique_ptr<Mosquitto> Mosquitto::start() {
  auto m = std::unique_ptr<Mosquitto>(new Mosquitto());
  m->dir_ = std::make_unique<TempDir>("mosquitto");
  m->port_ = free_port();
  std::ofstream conf(m->dir_->path() / "mosquitto.conf");
  // Plain MQTT on loopback only, for tests of everything but transport security.
  conf << "listener " << m->port_ << " 127.0.0.1\n"
       << "allow_anonymous true\n"
       << "persistence true\n"
       << "persistence_location " << m->dir_->path().string() << "/\n"
       << "max_queued_messages 100000\n"
       << "max_packet_size 1048576\n"  // bounds what one client can make anyone allocate
       // Started as root, Mosquitto would switch to user "mosquitto": that clears the
       // parent-death signal (a crashed test would leak the broker) and leaves it unable to
       // write persistence into our directory. Tests keep it as the user that started it.
       << (::geteuid() == 0 ? "user root\n" : "") << "log_dest stderr\n"
       << "log_type error\nlog_type warning\nlog_type notice\n";
  conf.close();
  m->launch();
  return m;
}

std::unique_ptr<Mosquitto> Mosquitto::start_tls(MosquittoTlsOptions options) {
  auto m = std::unique_ptr<Mosquitto>(new Mosquitto());
  m->dir_ = std::make_unique<TempDir>("mosquitto-tls");
  m->port_ = free_port();
  auto now = unix_now();
  if (!options.ca) {
    options.ca = need(crypto::CertificateAuthority::create("HECS test CA", now - 86400,
                                                           now + std::int64_t{30} * 86400),
                      "test ca");
  }
  m->tls_ = std::make_unique<Tls>(std::move(*options.ca));
  const auto& dir = m->dir_->path();
  auto server_key = crypto::generate_p256_key();
  crypto::CertRequest request;
  request.common_name = "localhost";
  request.dns_names = {"localhost"};
  request.ip_addresses = {"127.0.0.1"};
  request.usage = crypto::CertUsage::server;
  request.not_before = now - 3600;
  request.not_after = now + 86400;
  auto server_cert = need(m->tls_->ca.issue(server_key.public_pem, request), "server cert");

  auto& c = m->tls_->config;
  c.listen_host = "127.0.0.1";
  c.port = m->port_;
  c.ca_file = dir / "ca.pem";
  c.cert_file = dir / "server.pem";
  c.key_file = dir / "server.key";
  c.crl_file = dir / "crl.pem";
  c.acl_file = dir / "acl";
  c.persistence_dir = dir;
  c.pid_file = dir / "mosquitto.pid";
  c.log_dest = "stderr";
  c.log_types = {"all"};  // a line per packet: denied PUBLISHes show, and failures explain
  c.control_username = options.control_username;
  c.run_as_user = ::geteuid() == 0 ? "root" : "";  // see start()
  c.max_packet_size = 1048576;
  write_file(c.ca_file, m->tls_->ca.cert_pem());
  write_file(c.cert_file, server_cert);
  write_file(c.key_file, server_key.private_pem);
  m->write_crl();
  need(control::broker::write_acl(c.acl_file, c.control_username, {}), "acl");
  need(control::broker::write_config(dir / "mosquitto.conf", c), "mosquitto.conf");
  m->launch();
  return m;
}

void Mosquitto::launch() {
  process_ =
      Process::spawn({"/usr/sbin/mosquitto", "-c", (dir_->path() / "mosquitto.conf").string()},
                     dir_->path() / "mosquitto.log");
  if (!wait_until([this] { return port_open(port_); }, std::chrono::seconds(10))) {
    throw std::runtime_error("mosquitto did not start: " + process_->log_text());
  }
}

Mosquitto::~Mosquitto() {
  if (process_) {
    process_->signal(SIGKILL);
    process_->wait(std::chrono::seconds(5));
  }
}

std::string Mosquitto::url() const {
  return (tls_ ? "mqtts://127.0.0.1:" : "mqtt://127.0.0.1:") + std::to_string(port_);
}

void Mosquitto::stop() {
  process_->signal(SIGTERM);
  process_->wait(std::chrono::seconds(10));
}

void Mosquitto::restart() { launch(); }

bool Mosquitto::running() { return process_ && process_->running(); }

std::string Mosquitto::log_text() const { return process_ ? process_->log_text() : ""; }

const crypto::CertificateAuthority& Mosquitto::ca() const {
  if (!tls_) {
    throw std::logic_error("Mosquitto::ca: not in TLS mode");
  }
  return tls_->ca;
}

const control::broker::BrokerConfig& Mosquitto::broker_config() const {
  ca();
  return tls_->config;
}

std::filesystem::path Mosquitto::ca_file() const {
  ca();
  return tls_->config.ca_file;
}

ClientCert Mosquitto::issue_client(const std::string& common_name, const IssueOptions& options) {
  const auto& authority = options.ca != nullptr ? *options.ca : ca();
  auto now = unix_now();
  auto key = crypto::generate_p256_key();
  crypto::CertRequest request;
  request.common_name = common_name;
  request.usage = crypto::CertUsage::client;
  request.not_before = now + options.valid_from_s;
  request.not_after = now + options.valid_until_s;
  ClientCert out;
  auto pem = need(authority.issue(key.public_pem, request), "client cert " + common_name);
  out.common_name = common_name;
  out.serial = need(crypto::parse_certificate(pem), "parse client cert").serial;
  auto base = dir_->path() / ("client-" + std::to_string(++tls_->issued));
  out.cert_file = base;
  out.cert_file += ".pem";
  out.key_file = base;
  out.key_file += ".key";
  write_file(out.cert_file, pem);
  write_file(out.key_file, key.private_pem);
  return out;
}

std::string Mosquitto::client_args(const ClientCert& cert) const {
  return "-h 127.0.0.1 -p " + std::to_string(port_) + " --cafile " + ca_file().string() +
         " --cert " + cert.cert_file.string() + " --key " + cert.key_file.string();
}

void Mosquitto::write_crl() {
  // Mosquitto 2.0.11 replaces the listener's CRL with the file's on every reload, so the
  // lastUpdate times need not grow; backdated a minute against clock skew with the broker.
  auto now = unix_now();
  auto crl = need(
      tls_->ca.make_crl(tls_->revoked_serials, tls_->crl_number++, now - 60, now + 86400), "crl");
  need(files::write_atomic(tls_->config.crl_file, crl, 0640, false), "write crl");
}

void Mosquitto::revoke(const ClientCert& cert, bool deny_device) {
  ca();
  tls_->revoked_serials.push_back(cert.serial);
  if (deny_device && is_uuid(cert.common_name)) {
    tls_->revoked_ids.push_back(cert.common_name);
  }
  write_crl();
  need(control::broker::write_acl(tls_->config.acl_file, tls_->config.control_username,
                                  tls_->revoked_ids),
       "acl");
  auto before = count_of(log_text(), "Reloading config.");
  need(control::broker::reload(tls_->config), "reload");
  if (!wait_until([&] { return count_of(log_text(), "Reloading config.") > before; },
                  std::chrono::seconds(5))) {
    throw std::runtime_error("mosquitto did not reload: " + log_text());
  }
}

void Mosquitto::write_raw_acl_and_reload(const std::string& text) {
  ca();
  write_file(tls_->config.acl_file, text);
  reload_and_wait();
}

void Mosquitto::reload_and_wait() {
  auto before = count_of(log_text(), "Reloading config.");
  process_->signal(SIGHUP);
  if (!wait_until([&] { return count_of(log_text(), "Reloading config.") > before; },
                  std::chrono::seconds(5))) {
    throw std::runtime_error("mosquitto did not reload: " + log_text());
  }
}

TestMqttClient::TestMqttClient(const Mosquitto& broker, const ClientCert& cert, bool clean_session,
                               const std::vector<std::string>& subscriptions)
    : work_(io_.get_executor()) {
  mqtt::ThreadedOptions options;
  options.url = broker.url();
  options.client_id = cert.common_name;
  options.clean_session = clean_session;
  options.tls =
      net::MqttTls{broker.ca_file().string(), cert.cert_file.string(), cert.key_file.string()};
  options.min_backoff = std::chrono::milliseconds(100);
  options.max_backoff = std::chrono::milliseconds(1000);
  options.max_packet_bytes = std::size_t{2} * 1024 * 1024;  // the test broker's limit is 1 MiB
  if (subscriptions.size() > 1) {
    throw std::invalid_argument("TestMqttClient: one subscription at most");
  }
  options.subscription = subscriptions.empty() ? std::string() : subscriptions.front();
  client_ = need(mqtt::ThreadedClient::create(io_, std::move(options)), "mqtt client");
  client_->on_connect = [this] { ++connects_; };
  client_->on_disconnect = [this] { ++disconnects_; };
  client_->on_message = [this](const mqtt::Message& m) {
    std::lock_guard lock(mutex_);
    messages_.push_back(m);
  };
  client_->on_published = [this](int mid) {
    std::lock_guard lock(mutex_);
    acked_.insert(mid);
  };
  client_->start();
  thread_ = std::thread([this] { io_.run(); });
}

TestMqttClient::~TestMqttClient() {
  std::atomic<bool> stopped{false};
  client_->stop([&] { stopped = true; });
  wait_until([&] { return stopped.load(); }, std::chrono::seconds(5));
  work_.reset();
  io_.stop();
  thread_.join();
}

bool TestMqttClient::wait_connected(std::chrono::milliseconds timeout) {
  return wait_until([this] { return client_->connected(); }, timeout);
}

bool TestMqttClient::publish(const std::string& topic, const std::string& payload, bool retain) {
  // The packet id comes from the client's strand; 0 when the publish failed there.
  auto id = std::make_shared<std::atomic<int>>(-1);
  if (!client_->publish(topic, payload, 1, retain, [id](Result<int> r) { *id = r ? *r : 0; })) {
    return false;
  }
  if (!wait_until([&] { return *id >= 0; }, std::chrono::seconds(4)) || *id == 0) {
    return false;
  }
  return wait_until(
      [&] {
        std::lock_guard lock(mutex_);
        return acked_.count(*id) > 0;
      },
      std::chrono::seconds(4));
}

bool TestMqttClient::received(const std::string& topic, const std::string& payload) const {
  std::lock_guard lock(mutex_);
  for (const auto& m : messages_) {
    if (m.topic == topic && m.payload == payload) {
      return true;
    }
  }
  return false;
}

bool TestMqttClient::wait_received(const std::string& topic, const std::string& payload,
                                   std::chrono::milliseconds timeout) const {
  return wait_until([&] { return received(topic, payload); }, timeout);
}

std::size_t TestMqttClient::count_on(const std::string& topic) const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& m : messages_) {
    n += m.topic == topic ? 1 : 0;
  }
  return n;
}

}  // namespace hecs::test
