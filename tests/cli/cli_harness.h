// Test harness for hecsctl: run() with captured streams, a fixed clock, a scoped environment,
// and a real HTTP server on a kernel-picked loopback port that answers canned responses.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli/cli.h"
#include "common/clock.h"

namespace hecs::cli::test {

class FixedClock final : public Clock {
 public:
  explicit FixedClock(std::int64_t now_ms) : now_ms_(now_ms) {}
  std::int64_t now_ms() const override { return now_ms_; }

 private:
  std::int64_t now_ms_;
};

// Sets (value) or unsets (nullopt) environment variables, restoring them at scope exit.
class ScopedEnv {
 public:
  explicit ScopedEnv(const std::map<std::string, std::optional<std::string>>& vars);
  ~ScopedEnv();
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// run() with argv = {"hecsctl", args...}.
Outcome run_cli(const std::vector<std::string>& args, const RunContext& context);

struct CannedResponse {
  int status = 200;  // 0: accept, read the request, never answer
  std::string content_type = "application/json";
  std::string body{};
  std::vector<std::string> headers{};  // more header lines: "Retry-After: 30"
};

struct RecordedRequest {
  std::string request_line;   // "GET /api/v1/devices?limit=2 HTTP/1.1"
  std::string method;         // "GET"
  std::string target;         // "/api/v1/devices?limit=2"
  std::string authorization;  // the Authorization header's value
  std::string content_type;   // the Content-Type header's value
  std::string body;           // Content-Length bytes after the headers
};

class CannedHttpServer {
 public:
  using Handler = std::function<CannedResponse(const std::string& target)>;

  // Listens on 127.0.0.1:0 and serves each connection's one request from handler, on a thread.
  // The handler sees the target only; tests that need the method or body read requests().
  explicit CannedHttpServer(Handler handler);
  ~CannedHttpServer();
  CannedHttpServer(const CannedHttpServer&) = delete;
  CannedHttpServer& operator=(const CannedHttpServer&) = delete;

  std::string url() const;  // "http://127.0.0.1:<port>"
  std::vector<RecordedRequest> requests() const;

 private:
  void serve();
  void answer(int fd);
  bool read_more(int fd, std::string& request);  // false on EOF, error or stop

  Handler handler_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<RecordedRequest> requests_;
  std::thread thread_;
};

}  // namespace hecs::cli::test
