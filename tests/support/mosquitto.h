// A real Mosquitto broker for tests: its own config, persistence dir and free loopback port.
//
// Plain mode (start()): MQTT without TLS or ACL, for tests of everything but transport security.
// TLS mode (start_tls()): the production setup of DESIGN §3, config and ACL written by
// control/broker, a test CA from common/crypto, mTLS only; helpers issue client certificates
// into files (for our MqttClient and for mosquitto_pub/mosquitto_sub) and revoke them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "common/crypto/crypto.h"
#include "common/mqtt/threaded_client.h"
#include "control/broker/broker.h"
#include "support/process.h"
#include "support/tempdir.h"

namespace hecs::test {

struct MosquittoTlsOptions {
  std::optional<crypto::CertificateAuthority> ca;  // empty: a fresh test CA
  std::string control_username = "hecs-control";
};

// A client certificate and key in files (0600), with what a test needs to revoke it.
struct ClientCert {
  std::string common_name;
  std::string serial;
  std::filesystem::path cert_file;
  std::filesystem::path key_file;
};

struct IssueOptions {
  std::int64_t valid_from_s = -3600;  // relative to now
  std::int64_t valid_until_s = 86400;
  const crypto::CertificateAuthority* ca = nullptr;  // another CA; default: the broker's
};

class Mosquitto {
 public:
  static std::unique_ptr<Mosquitto> start();  // throws when it does not come up in 10 s
  static std::unique_ptr<Mosquitto> start_tls(MosquittoTlsOptions options = {});  // same
  ~Mosquitto();
  std::string url() const;  // "mqtt://127.0.0.1:<port>", or "mqtts://..." in TLS mode
  std::uint16_t port() const { return port_; }
  void stop();     // SIGTERM: saves retained messages and sessions, as a service stop does
  void restart();  // same port, same persistence
  bool running();
  std::string log_text() const;
  const std::filesystem::path& dir() const { return dir_->path(); }

  // ---- TLS mode only (they throw otherwise) ----
  const crypto::CertificateAuthority& ca() const;
  std::filesystem::path ca_file() const;
  ClientCert issue_client(const std::string& common_name, const IssueOptions& options = {});
  // "-h 127.0.0.1 -p <port> --cafile <ca> --cert <cert> --key <key>" for mosquitto_pub/sub.
  std::string client_args(const ClientCert& cert) const;
  // Revocation as the control plane does it (DESIGN §3): the serial into the CRL, the CN (when
  // a device id) into the ACL's deny list, both files replaced atomically, then a checked
  // reload (control::broker::reload). Returns once the broker applied it; throws after 5 s.
  // With deny_device false only the CRL changes (a renewed device's old certificate).
  void revoke(const ClientCert& cert, bool deny_device = true);
  // For S22: writes the ACL file as given, bypassing the generator and its checks, and sends
  // SIGHUP directly; returns once the broker applied it.
  void write_raw_acl_and_reload(const std::string& text);
  // SIGHUP and wait until the broker logged the reload (no fixed sleep: polls its log).
  void reload_and_wait();
  // The generated broker configuration (paths of the CRL, ACL and pid files).
  const control::broker::BrokerConfig& broker_config() const;

 private:
  Mosquitto() = default;
  void launch();
  void write_crl();
  std::unique_ptr<TempDir> dir_;
  std::uint16_t port_ = 0;
  std::unique_ptr<Process> process_;
  struct Tls;
  std::unique_ptr<Tls> tls_;
};

// Our MQTT client (TLS mode, identity = a ClientCert) on its own io_context thread, recording
// what it receives. At most one subscription, made on every connection.
class TestMqttClient {
 public:
  TestMqttClient(const Mosquitto& broker, const ClientCert& cert, bool clean_session = true,
                 const std::vector<std::string>& subscriptions = {});
  ~TestMqttClient();
  TestMqttClient(const TestMqttClient&) = delete;
  TestMqttClient& operator=(const TestMqttClient&) = delete;

  mqtt::ThreadedClient& client() { return *client_; }
  bool wait_connected(std::chrono::milliseconds timeout = std::chrono::seconds(4));
  int connects() const { return connects_; }
  int disconnects() const { return disconnects_; }
  // QoS 1; true once the broker acknowledged it (MQTT 3.1.1 acknowledges denied ones too).
  bool publish(const std::string& topic, const std::string& payload, bool retain = false);
  bool received(const std::string& topic, const std::string& payload) const;
  bool wait_received(const std::string& topic, const std::string& payload,
                     std::chrono::milliseconds timeout = std::chrono::seconds(4)) const;
  std::size_t count_on(const std::string& topic) const;

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::unique_ptr<mqtt::ThreadedClient> client_;
  std::thread thread_;
  std::atomic<int> connects_{0};
  std::atomic<int> disconnects_{0};
  mutable std::mutex mutex_;
  std::vector<mqtt::Message> messages_;
  std::set<int> acked_;
};

}  // namespace hecs::test
