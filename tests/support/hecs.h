// The project's own binaries started for integration tests: hecs-control and hecs-agent, each
// in its own temp dir, plus a small HTTP client to talk to the REST API.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "support/process.h"
#include "support/tempdir.h"

namespace hecs::test {

struct HttpResult {
  long status = 0;  // 0 when the connection failed
  std::string body;
  std::string content_type;
  boost::json::value json() const;  // null when the body is not JSON
};

HttpResult http_request(const std::string& method, const std::string& url,
                        const std::vector<std::string>& headers = {}, const std::string& body = {});
HttpResult http_get(const std::string& url, const std::string& api_key = {});

// Rows of a SQLite query, one string per line, read with the sqlite3 tool (read-only, so it
// can look into a live WAL database of a running process).
std::vector<std::string> sql_lines(const std::filesystem::path& db, const std::string& query);

class Control {
 public:
  // Starts hecs-control on a free port with a temp data dir (SQLite unless `db` is given) and
  // waits until /readyz answers 200.
  static std::unique_ptr<Control> start(const std::string& mqtt_url, const std::string& db = {},
                                        const std::vector<std::string>& extra = {});
  std::string url() const;  // "http://127.0.0.1:<port>"
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
  void launch();
  std::unique_ptr<TempDir> dir_;
  std::string mqtt_url_, db_;
  std::vector<std::string> extra_;
  std::uint16_t port_ = 0;
  std::string api_key_;
  std::unique_ptr<Process> process_;
};

class Agent {
 public:
  static std::unique_ptr<Agent> start(const std::string& mqtt_url, int interval_s = 1,
                                      int keepalive_s = 5,
                                      const std::vector<std::string>& extra = {});
  const std::string& device_id() const { return device_id_; }
  const std::filesystem::path& state_dir() const { return dir_->path(); }
  Process& process() { return *process_; }
  void kill(int sig);
  void restart();

 private:
  Agent() = default;
  void launch();
  std::unique_ptr<TempDir> dir_;
  std::string mqtt_url_;
  int interval_s_ = 1, keepalive_s_ = 5;
  std::vector<std::string> extra_;
  std::string device_id_;
  std::unique_ptr<Process> process_;
};

}  // namespace hecs::test
