#include "support/hecs.h"

#include <algorithm>
#include <cctype>
#include <csignal>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <boost/json/parse.hpp>
#include <curl/curl.h>

namespace hecs::test {

boost::json::value HttpResult::json() const {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  return ec ? boost::json::value(nullptr) : v;
}

std::string HttpResult::header(std::string_view lower_case_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_case_name) {
      return value;
    }
  }
  return "";
}

namespace {
std::size_t collect(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// "Name: value\r\n" → {"name", "value"}.
std::size_t collect_header(char* data, std::size_t size, std::size_t n, void* out) {
  std::string_view line(data, size * n);
  if (auto colon = line.find(':'); colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto value = line.substr(colon + 1);
    value.remove_prefix(std::min(value.find_first_not_of(' '), value.size()));
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) {
      value.remove_suffix(1);
    }
    static_cast<std::vector<std::pair<std::string, std::string>>*>(out)->emplace_back(
        std::move(name), std::string(value));
  }
  return size * n;
}
}  // namespace

HttpResult http_request(const std::string& method, const std::string& url,
                        const std::vector<std::string>& headers, const std::string& body,
                        const std::string& ca_file) {
  HttpResult result;
  CURL* curl = curl_easy_init();
  curl_slist* list = nullptr;
  for (const auto& h : headers) {
    list = curl_slist_append(list, h.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &collect_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &result.headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (!ca_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file.c_str());
  }
  if (!body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  if (curl_easy_perform(curl) == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
    char* ct = nullptr;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct);
    result.content_type = ct != nullptr ? ct : "";
  }
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return result;
}

HttpResult http_get(const std::string& url, const std::string& api_key,
                    const std::string& ca_file) {
  std::vector<std::string> headers;
  if (!api_key.empty()) {
    headers.push_back("Authorization: Bearer " + api_key);
  }
  return http_request("GET", url, headers, {}, ca_file);
}

std::vector<std::string> sql_lines(const std::filesystem::path& db, const std::string& query) {
  std::string out;
  run_command("sqlite3 -readonly '" + db.string() + "' \"" + query + "\" 2>&1", &out);
  std::vector<std::string> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

// ---- Control ------------------------------------------------------------------------------

std::unique_ptr<Control> Control::start(const std::string& mqtt_url, const std::string& db,
                                        const std::vector<std::string>& extra) {
  auto c = std::unique_ptr<Control>(new Control());
  c->dir_ = std::make_unique<TempDir>("control");
  c->mqtt_url_ = mqtt_url;
  c->db_ = db;
  c->extra_ = extra;
  c->port_ = free_port();
  c->launch(/*first=*/true);
  c->read_api_key();
  return c;
}

void Control::read_api_key() {
  std::ifstream creds(dir_->path() / "admin-credentials");
  std::string line;
  while (std::getline(creds, line)) {
    if (line.rfind("hecs_", 0) == 0) {
      api_key_ = line;
    }
  }
  if (api_key_.empty()) {
    throw std::runtime_error("no admin key written: " + process_->log_text());
  }
}

std::unique_ptr<Control> Control::start_secure(const std::vector<std::string>& extra) {
  auto c = std::unique_ptr<Control>(new Control());
  c->dir_ = std::make_unique<TempDir>("control");
  c->secure_ = true;
  c->broker_port_ = free_port();
  c->mqtt_url_ = "mqtts://localhost:" + std::to_string(c->broker_port_);
  c->extra_ = {"--broker-listen", "127.0.0.1:" + std::to_string(c->broker_port_),
               "--broker-user",   "root",
               "--tls-names",     "localhost,127.0.0.1"};
  c->extra_.insert(c->extra_.end(), extra.begin(), extra.end());
  c->port_ = free_port();
  std::vector<std::string> init = {(bin_dir() / "hecs-control").string(), "--data-dir",
                                   c->dir_->path().string(), "--init-only"};
  init.insert(init.end(), c->extra_.begin(), c->extra_.end());
  auto setup = Process::spawn(init, c->dir_->path() / "init.log");
  if (setup->wait(std::chrono::seconds(30)) != 0) {
    throw std::runtime_error("hecs-control --init-only failed: " + setup->log_text());
  }
  c->restart_broker();
  c->launch(/*first=*/true);
  c->read_api_key();
  return c;
}

void Control::restart_broker() {
  if (broker_ && broker_->running()) {
    broker_->signal(SIGTERM);
    broker_->wait(std::chrono::seconds(10));
  }
  broker_ =
      Process::spawn({"/usr/sbin/mosquitto", "-c", (broker_dir() / "mosquitto.conf").string()},
                     dir_->path() / "mosquitto.log");
  if (!wait_until([this] { return broker_->running() && port_open(broker_port_); },
                  std::chrono::seconds(10))) {
    throw std::runtime_error("mosquitto did not start: " + broker_->log_text());
  }
}

std::string Control::ca_file() const { return (dir_->path() / "pki" / "ca.pem").string(); }

std::string Control::mqtt_url() const { return mqtt_url_; }

HttpResult Control::call(const std::string& method, const std::string& path,
                         const std::string& body) const {
  std::vector<std::string> headers = {"Authorization: Bearer " + api_key_};
  if (!body.empty()) {
    headers.emplace_back("Content-Type: application/json");
  }
  return http_request(method, url() + path, headers, body, secure_ ? ca_file() : "");
}

void Control::launch(bool first) {
  // free_port() only finds a port free at the time: a test running beside this one may take it
  // before hecs-control binds it. A first start then moves to another port; a restart keeps its
  // port (agents and clients know it), so there it is an error.
  for (int attempt = 1;; ++attempt) {
    if (spawn_and_wait()) {
      return;
    }
    const auto log = process_->log_text();
    if (first && attempt < 4 && !process_->running() &&
        log.find("Address already in use") != std::string::npos) {
      port_ = free_port();
      continue;
    }
    throw std::runtime_error("hecs-control did not become ready: " + log);
  }
}

bool Control::spawn_and_wait() {
  std::vector<std::string> argv = {(bin_dir() / "hecs-control").string(),
                                   "--data-dir",
                                   dir_->path().string(),
                                   "--http-listen",
                                   "127.0.0.1:" + std::to_string(port_),
                                   "--mqtt-url",
                                   mqtt_url_,
                                   "--mqtt-client-id",
                                   "hecs-control-" + std::to_string(port_),
                                   "--log-level",
                                   "debug"};
  if (!secure_) {
    argv.emplace_back("--http-plain");
  }
  if (!db_.empty()) {
    argv.push_back("--db");
    argv.push_back(db_);
  }
  argv.insert(argv.end(), extra_.begin(), extra_.end());
  process_ = Process::spawn(argv, dir_->path() / "control.log");
  bool ready = false;  // stops waiting as soon as the process is gone, too
  wait_until(
      [this, &ready] {
        ready = process_->running() &&
                http_get(url() + "/readyz", {}, secure_ ? ca_file() : "").status == 200;
        return ready || !process_->running();
      },
      std::chrono::seconds(20));
  return ready;
}

std::string Control::url() const {
  return secure_ ? "https://localhost:" + std::to_string(port_)
                 : "http://127.0.0.1:" + std::to_string(port_);
}

void Control::kill(int sig) {
  process_->signal(sig);
  process_->wait(std::chrono::seconds(20));
}

void Control::restart() { launch(/*first=*/false); }

HttpResult Control::get(const std::string& path) const {
  return http_get(url() + path, api_key_, secure_ ? ca_file() : "");
}

boost::json::value Control::device(const std::string& id) const {
  auto r = get("/api/v1/devices/" + id);
  return r.status == 200 ? r.json() : boost::json::value(nullptr);
}

std::vector<boost::json::value> Control::devices() const {
  std::vector<boost::json::value> out;
  std::string cursor;
  for (int page = 0; page < 1000; ++page) {
    auto r = get("/api/v1/devices?limit=500" + (cursor.empty() ? "" : "&cursor=" + cursor));
    if (r.status != 200) {
      break;
    }
    auto v = r.json();
    for (const auto& item : v.at("items").as_array()) {
      out.push_back(item);
    }
    const auto& next = v.at("next_cursor");
    if (!next.is_string()) {
      break;
    }
    cursor = std::string(next.as_string());
  }
  return out;
}

std::uint64_t Control::metric(const std::string& series) const {
  auto text = http_get(url() + "/metrics", {}, secure_ ? ca_file() : "").body;
  auto pos = text.find("\n" + series + " ");
  return pos == std::string::npos ? 0 : std::stoull(text.substr(pos + series.size() + 2));
}

// ---- Agent --------------------------------------------------------------------------------

std::vector<std::string> command_keys_args(const Control& control) {
  return {"--command-keys-file", (control.data_dir() / "pki" / "signing-keys.json").string()};
}

std::unique_ptr<Agent> Agent::start(const std::string& mqtt_url, int interval_s, int keepalive_s,
                                    const std::vector<std::string>& extra) {
  auto a = std::unique_ptr<Agent>(new Agent());
  a->dir_ = std::make_unique<TempDir>("agent");
  a->mqtt_url_ = mqtt_url;
  a->interval_s_ = interval_s;
  a->keepalive_s_ = keepalive_s;
  a->extra_ = extra;
  a->launch();
  a->read_device_id();
  return a;
}

std::unique_ptr<Agent> Agent::start(const Control& control, int interval_s, int keepalive_s,
                                    const std::vector<std::string>& extra) {
  auto args = command_keys_args(control);
  args.insert(args.end(), extra.begin(), extra.end());
  return start(control.mqtt_url(), interval_s, keepalive_s, args);
}

std::unique_ptr<Agent> Agent::enrol(const Control& control, const std::string& token,
                                    const std::string& ca_sha256, int interval_s,
                                    const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"--enroll-token", token, "--control-url", control.url()};
  if (!ca_sha256.empty()) {
    args.insert(args.end(), {"--control-ca-sha256", ca_sha256});
  }
  args.insert(args.end(), extra.begin(), extra.end());
  return start(std::string(), interval_s, 5, args);
}

void Agent::read_device_id() {
  auto id_file = dir_->path() / "device-id";
  if (!wait_until([&] { return std::filesystem::exists(id_file); }, std::chrono::seconds(10))) {
    throw std::runtime_error("hecs-agent wrote no device id: " + process_->log_text());
  }
  std::ifstream in(id_file);
  std::getline(in, device_id_);
}

long Agent::outbox_size() const {
  auto rows = sql_lines(dir_->path() / "outbox.db", "SELECT COUNT(*) FROM outbox");
  try {
    return rows.size() == 1 ? std::stol(rows.front()) : -1;
  } catch (const std::exception&) {
    return -1;
  }
}

void Agent::launch() {
  // An empty --enroll-file: a file left at the default path on this machine must not turn a
  // test agent into an enrolling one.
  std::vector<std::string> argv = {(bin_dir() / "hecs-agent").string(),
                                   "--state-dir",
                                   dir_->path().string(),
                                   "--enroll-file",
                                   "",
                                   "--telemetry-interval",
                                   std::to_string(interval_s_),
                                   "--keepalive",
                                   std::to_string(keepalive_s_),
                                   "--log-level",
                                   "debug"};
  if (!mqtt_url_.empty()) {
    argv.insert(argv.end(), {"--mqtt-url", mqtt_url_});
  }
  argv.insert(argv.end(), extra_.begin(), extra_.end());
  process_ = Process::spawn(argv, dir_->path() / "agent.log");
}

void Agent::kill(int sig) {
  process_->signal(sig);
  process_->wait(std::chrono::seconds(20));
}

void Agent::restart() { launch(); }

}  // namespace hecs::test
