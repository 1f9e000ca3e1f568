// Zero-touch enrolment and certificate renewal of the agent (DESIGN §3).
//
// Enrolment: the agent makes its key pair once (STATE_DIR/device.key, 0600, never sent), fetches
// the control plane's CA and checks it against a pinned SHA-256 (or trusts a given CA file),
// then posts a CSR (CN = its device id) with the enrolment token over HTTPS verified with that
// CA. It keeps asking, as slowly as the answer says, until it gets its certificate: a device in
// the field never gives up. The result lives in STATE_DIR (all 0600, written atomically):
//   device.key     the private key (P-256)     device.pem   its certificate
//   ca.pem         the device CA               mqtt-url     the broker, mqtts://host:port
// plus the command-signing keys, kept by the uplink::CommandGate.
//
// Renewal: when a third of the certificate's life is left, a new key (device.key.next) goes up
// as a CSR in a "renew" event; the control plane answers with a signed "certificate" command.
//
// Threading: Enroller and Renewal live on the agent's io_context thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <boost/asio/io_context.hpp>

#include "agent/uplink/uplink.h"
#include "common/crypto/crypto.h"
#include "common/net/mqtt.h"
#include "common/result.h"
#include "proto/proto.h"

namespace hecs::agent::enrol {

// ---- settings ---------------------------------------------------------------------------

struct Settings {
  std::string token;        // secret: never logged
  std::string control_url;  // https://host[:port]
  std::string ca_sha256;    // hex SHA-256 of the CA certificate (DER): the pin for first contact
  std::string ca_file;      // or the CA itself, as a PEM file
};

struct ControlUrl {
  std::string host;
  std::uint16_t port = 443;
};
// "https://host[:port][/]"; Errc::invalid_input otherwise (plain http would expose the token).
Result<ControlUrl> parse_control_url(std::string_view url);
// 64 hex digits, upper or lower case, ':' between bytes allowed; returned in lower case.
Result<std::string> parse_sha256_pin(std::string_view text);
// The image builder's file (YAML: token, control_url, ca_sha256). Errc::not_found when absent,
// Errc::invalid_input for an unknown key or a bad value.
Result<Settings> read_enroll_file(const std::filesystem::path& path);
// Per key, the configured value wins and the file fills the gaps.
Settings merge(Settings configured, const Settings& from_file);
// With a token: a control_url and a pin or a CA file are required. Errc::invalid_input.
Result<void> check_settings(const Settings& settings);

// ---- state in STATE_DIR -------------------------------------------------------------------

// Far above a certificate or key in PEM: a larger file is not ours.
inline constexpr std::size_t kMaxPemBytes = std::size_t{64} * 1024;

struct Paths {
  explicit Paths(const std::filesystem::path& state_dir);
  std::filesystem::path key, cert, ca, mqtt_url, next_key, next_cert;
};

struct Enrolled {
  std::string mqtt_url;  // mqtts://
  net::MqttTls tls;      // the files in STATE_DIR
};

// nullopt when the device is not enrolled yet. Finishes a renewal a crash interrupted first.
// Errc::corrupt when the files are incomplete or the certificate does not match the key.
Result<std::optional<Enrolled>> load_enrolment(const Paths& paths);
// The PEM private key at `path`, made (P-256, 0600) when missing.
Result<std::string> load_or_create_key(const std::filesystem::path& path);
// Hex SHA-256 of the DER public key of a PEM private key, as crypto::CertInfo names it.
Result<std::string> public_key_sha256(std::string_view private_pem);
// Checks that `cert_pem` is for this device and key, issued by `ca_pem` and valid at `now_s`.
Result<crypto::CertInfo> check_certificate(std::string_view cert_pem, std::string_view ca_pem,
                                           std::string_view device_id, std::string_view key_sha256,
                                           std::int64_t now_s);
// Stores the enrolment; device.pem last, as it marks the device enrolled.
Result<Enrolled> store_enrolment(const Paths& paths, std::string_view cert_pem,
                                 std::string_view ca_pem, std::string_view mqtt_url);
// Renewal: the new certificate for device.key.next becomes device.pem, the key device.key.
Result<void> install_renewed(const Paths& paths, std::string_view cert_pem);

// ---- the protocol of POST /api/v1/enroll ---------------------------------------------------

struct Accepted {
  std::string device_id, certificate, ca, mqtt_url;
  proto::Keys keys;
};
struct Pending {
  std::chrono::seconds retry_after{30};
};
struct Refused {  // 4xx: the operator must act (token, approval, id)
  int status = 0;
  std::string detail;
};
struct Transient {  // 5xx, network, a reply we cannot use: try again soon
  std::string reason;
};
using Outcome = std::variant<Accepted, Pending, Refused, Transient>;

Outcome read_enrol_response(int status, std::string_view retry_after, std::string_view body);

// How long to wait before the next attempt. `backoff` is the transient backoff, doubled here and
// reset by any answer from the server; every delay is at most `max_delay` (2..300 s).
std::chrono::seconds retry_delay(const Outcome& outcome, std::chrono::seconds& backoff,
                                 std::chrono::seconds max_delay);

// ---- enrolment --------------------------------------------------------------------------

struct EnrollerOptions {
  Settings settings;
  std::filesystem::path state_dir;
  std::string device_id;
  std::chrono::seconds max_delay{300};  // between attempts (enroll_retry_max)
  std::chrono::seconds request_timeout{30};
};

class Enroller {
 public:
  // `gate` receives the command keys; it outlives us.
  Enroller(boost::asio::io_context& io, EnrollerOptions options, uplink::CommandGate& gate);
  ~Enroller();
  Enroller(const Enroller&) = delete;
  Enroller& operator=(const Enroller&) = delete;
  Enroller(Enroller&&) = delete;
  Enroller& operator=(Enroller&&) = delete;

  // Tries until enrolled, then calls `done` once and forgets the token. Not after stop().
  void start(std::function<void(Enrolled)> done);
  void stop();  // at once: cancels the request or the wait in progress

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// ---- renewal ----------------------------------------------------------------------------

// When renewal is due: a third of the certificate's life left, and, for one installed at
// `installed_at` by this process, not before half of what it had left then has passed (a
// short-lived certificate would otherwise be renewed in a loop).
std::int64_t renewal_due(const crypto::CertInfo& cert, std::optional<std::int64_t> installed_at);

class Renewal {
 public:
  // `link` outlives us; `installed_now`: the certificate was just issued (enrolment).
  Renewal(boost::asio::io_context& io, Paths paths, std::string device_id, uplink::Uplink& link,
          net::MqttTls tls, bool installed_now);
  ~Renewal();
  Renewal(const Renewal&) = delete;
  Renewal& operator=(const Renewal&) = delete;
  Renewal(Renewal&&) = delete;
  Renewal& operator=(Renewal&&) = delete;

  void start();  // checks now, then as the certificate ages (at least every 5 minutes)
  void stop();
  // A verified "certificate" command (its body {"certificate", "ca"}).
  void on_certificate(const proto::Command& command);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace hecs::agent::enrol
