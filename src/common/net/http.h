// A small HTTP/1.1 server on Boost.Beast. Route handlers never see Beast: they get a plain
// Request and return a plain Response (DESIGN §9), and run on the worker pool, so a handler
// may block on the database without stalling the I/O threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "common/net/http_types.h"
#include "common/result.h"

namespace hecs::net {

struct HttpLimits {
  std::size_t header_bytes = std::size_t{8} * 1024;   // larger → 431
  std::size_t body_bytes = std::size_t{1024} * 1024;  // larger → 413
  std::chrono::seconds read_timeout{30};
  std::size_t max_connections = 1000;  // keep below the descriptor limit (ulimit -n)
  std::size_t max_streams = 100;       // open streamed responses (Response::stream); more → 503
};

using Handler = std::function<Response(const Request&)>;

// HTTPS: PEM files of the server's certificate chain and private key.
struct HttpTls {
  std::string cert_file, key_file;
};

// Checks a listen address ("127.0.0.1:8080", "[::1]:0"); Errc::invalid_input says what is wrong.
Result<void> check_listen_address(std::string_view listen);

class HttpServer {
 public:
  // Binds `listen` ("127.0.0.1:8080", "0.0.0.0:0", "[::1]:8080"). Errc::invalid_input for a
  // malformed address, Errc::unavailable when the bind fails (port taken).
  static Result<std::unique_ptr<HttpServer>> create(boost::asio::io_context& io,
                                                    boost::asio::thread_pool& workers,
                                                    std::string_view listen, Handler handler,
                                                    HttpLimits limits = {},
                                                    std::optional<HttpTls> tls = std::nullopt);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer(HttpServer&&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  HttpServer& operator=(HttpServer&&) = delete;

  std::uint16_t port() const;
  // HTTPS only: new connections use this certificate from now on (a renewed one).
  // Errc::invalid_input when the files do not load; the old certificate stays then.
  Result<void> reload_tls(const HttpTls& tls);
  // Closes the listener and ends every streamed response: each BodyStream's close() has run
  // when stop() returns, and its connection is closed on the io_context. Other open
  // connections end when the io_context stops. Any thread.
  void stop();

  struct Impl;  // public only so the .cpp's session class can name it

 private:
  explicit HttpServer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace hecs::net
