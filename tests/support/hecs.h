// The project's own binaries started for integration tests: hecs-control and hecs-agent, each
// in its own temp dir, plus a small HTTP client to talk to the REST API.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "support/process.h"
#include "support/tempdir.h"

namespace hecs::test {

struct HttpResult {
  long status = 0;  // 0 when the connection failed
  std::string body;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;    // names in lower case
  boost::json::value json() const;                             // null when the body is not JSON
  std::string header(std::string_view lower_case_name) const;  // "" when absent
};

// `ca_file`: for https:// URLs, the CA to verify the server with (host names checked too).
HttpResult http_request(const std::string& method, const std::string& url,
                        const std::vector<std::string>& headers = {}, const std::string& body = {},
                        const std::string& ca_file = {});
HttpResult http_get(const std::string& url, const std::string& api_key = {},
                    const std::string& ca_file = {});

// Rows of a SQLite query, one string per line, read with the sqlite3 tool (read-only, so it
// can look into a live WAL database of a running process).
std::vector<std::string> sql_lines(const std::filesystem::path& db, const std::string& query);

class Control {
 public:
  // Starts hecs-control on a free port with a temp data dir (SQLite unless `db` is given) and
  // waits until /readyz answers 200.
  static std::unique_ptr<Control> start(const std::string& mqtt_url, const std::string& db = {},
                                        const std::vector<std::string>& extra = {});
  // The secured set-up of DESIGN §3: hecs-control writes its keys and the broker's
  // configuration (--init-only), a real Mosquitto starts from that configuration (mTLS only,
  // ACL, CRL), then hecs-control starts with HTTPS and connects over mTLS.
  static std::unique_ptr<Control> start_secure(const std::vector<std::string>& extra = {});
  std::string url() const;  // "http://127.0.0.1:<port>", or "https://localhost:<port>"
  bool secure() const { return secure_; }
  std::string ca_file() const;   // DATA_DIR/pki/ca.pem
  std::string mqtt_url() const;  // what it connects to
  std::uint16_t broker_port() const { return broker_port_; }
  std::filesystem::path broker_dir() const { return dir_->path() / "broker"; }
  Process* broker() { return broker_.get(); }  // secure only
  void restart_broker();                       // secure only: same config and persistence
  // Authenticated request with the admin key; JSON body when given.
  HttpResult call(const std::string& method, const std::string& path,
                  const std::string& body = {}) const;
  const std::string& api_key() const { return api_key_; }
  const std::filesystem::path& data_dir() const { return dir_->path(); }
  Process& process() { return *process_; }
  void kill(int sig);
  void restart();                                          // same data dir, port and database
  HttpResult get(const std::string& path) const;           // authenticated GET
  boost::json::value device(const std::string& id) const;  // null when absent
  std::vector<boost::json::value> devices() const;         // all pages
  // The value of one unlabelled or fully labelled series of /metrics, 0 when absent.
  std::uint64_t metric(const std::string& series) const;

 private:
  Control() = default;
  void launch(bool first);  // first: may move to another port when its own was taken
  bool spawn_and_wait();    // false when /readyz did not answer 200 within 20 s
  void read_api_key();
  std::unique_ptr<TempDir> dir_;
  std::string mqtt_url_, db_;
  std::vector<std::string> extra_;
  std::uint16_t port_ = 0;
  std::string api_key_;
  std::unique_ptr<Process> process_;
  bool secure_ = false;
  std::uint16_t broker_port_ = 0;
  std::unique_ptr<Process> broker_;
};

// What a plain-mode agent needs to obey `control`: --command-keys-file with the control plane's
// DATA_DIR/pki/signing-keys.json. Without it the agent refuses every signed ack and its outbox
// never drains.
std::vector<std::string> command_keys_args(const Control& control);

class Agent {
 public:
  // Plain mode (mqtt://), without command keys: only for tests that need no acks.
  static std::unique_ptr<Agent> start(const std::string& mqtt_url, int interval_s = 1,
                                      int keepalive_s = 5,
                                      const std::vector<std::string>& extra = {});
  // Plain mode on `control`'s broker, with its command keys (command_keys_args).
  static std::unique_ptr<Agent> start(const Control& control, int interval_s = 1,
                                      int keepalive_s = 5,
                                      const std::vector<std::string>& extra = {});
  // Zero-touch enrolment against a secure control plane (Control::start_secure) with an
  // enrolment token and the CA pin its creation returned (empty: none, give --control-ca-file in
  // `extra`). Returns once the device id exists, not once enrolled.
  static std::unique_ptr<Agent> enrol(const Control& control, const std::string& token,
                                      const std::string& ca_sha256, int interval_s = 1,
                                      const std::vector<std::string>& extra = {});
  const std::string& device_id() const { return device_id_; }
  const std::filesystem::path& state_dir() const { return dir_->path(); }
  Process& process() { return *process_; }
  // Rows in the outbox (read-only sqlite3, so it works on a live agent); -1 when unreadable.
  long outbox_size() const;
  void kill(int sig);
  void restart();

 private:
  Agent() = default;
  void launch();
  void read_device_id();
  std::unique_ptr<TempDir> dir_;
  std::string mqtt_url_;
  int interval_s_ = 1, keepalive_s_ = 5;
  std::vector<std::string> extra_;
  std::string device_id_;
  std::unique_ptr<Process> process_;
};

}  // namespace hecs::test
