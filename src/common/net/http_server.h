// hecs-control's HTTP server, private to src/common/net: the server's state, a streamed
// response in flight, and the session that serves one connection (http_session.cpp).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include "common/log.h"
#include "common/net/http.h"

namespace hecs::net {
namespace detail {

constexpr std::string_view kKeepalive = ": keepalive\n\n";  // an SSE comment

// Splits a request target into path and query (decoded) on `req`; Errc::invalid_input.
Result<void> split_target(std::string_view target, Request& req);

// A streamed response body from the moment its handler returns it: shared by the session,
// the deliver callbacks handed to the BodyStream (any thread) and the server's registry (for
// stop()). end() closes the BodyStream once; the destructor does at the latest, so a stream
// whose answer never ran (io_context torn down) is closed too.
class OpenStream : public std::enable_shared_from_this<OpenStream> {
 public:
  using OnPiece = std::function<void(std::optional<std::string>)>;

  OpenStream(std::shared_ptr<BodyStream> body, log::Logger log)
      : body_(std::move(body)), log_(std::move(log)) {}
  ~OpenStream() { end(); }
  OpenStream(const OpenStream&) = delete;
  OpenStream(OpenStream&&) = delete;
  OpenStream& operator=(const OpenStream&) = delete;
  OpenStream& operator=(OpenStream&&) = delete;

  // Once, on the session's strand, before the server admits the stream: each delivered piece
  // goes to on_piece, and a server stop to on_stop, both posted to `executor`.
  void attach(boost::asio::any_io_executor executor, OnPiece on_piece,
              std::function<void()> on_stop) {
    executor_ = std::move(executor);
    on_piece_ = std::move(on_piece);
    on_stop_ = std::move(on_stop);
  }

  // Asks for the next piece. False when the stream has ended, or its pull() threw (it is
  // ended then).
  bool pull() {
    std::unique_lock lock(call_mutex_);
    if (!body_) {
      return false;
    }
    auto answered = std::make_shared<std::atomic<bool>>(false);
    try {
      body_->pull([weak = weak_from_this(), answered](std::optional<std::string> piece) {
        if (answered->exchange(true)) {
          return;  // a second answer to one pull: the stream's bug, dropped
        }
        if (auto self = weak.lock()) {
          self->post(std::move(piece));
        }
      });
    } catch (const std::exception& e) {
      log_->error("bug.escaped_exception where=body_stream_pull what={}", log::quoted(e.what()));
      lock.unlock();
      end();
      return false;
    }
    return true;
  }

  // Any thread, any number of times: closes the BodyStream the first time; pieces delivered
  // afterwards are dropped.
  void end() {
    {
      std::scoped_lock lock(post_mutex_);
      ended_ = true;
    }
    std::shared_ptr<BodyStream> body;
    {
      std::scoped_lock lock(call_mutex_);  // waits for a pull() in progress
      body = std::move(body_);
    }
    if (!body) {
      return;
    }
    try {
      body->close();
    } catch (const std::exception& e) {
      log_->error("bug.escaped_exception where=body_stream_close what={}", log::quoted(e.what()));
    }
  }

  // From stop(): ends the stream here, then has the session close its connection.
  void interrupt() {
    end();
    if (on_stop_) {
      boost::asio::post(executor_, on_stop_);
    }
  }

 private:
  void post(std::optional<std::string> piece) {
    // Under the lock: once ended, the session and even the io_context may be gone.
    std::scoped_lock lock(post_mutex_);
    if (ended_) {
      return;
    }
    boost::asio::post(executor_, [on_piece = on_piece_, piece = std::move(piece)]() mutable {
      on_piece(std::move(piece));
    });
  }

  std::mutex call_mutex_;             // pull() and close() never overlap
  std::shared_ptr<BodyStream> body_;  // guarded by call_mutex_; null once closed
  std::mutex post_mutex_;
  bool ended_ = false;  // guarded by post_mutex_
  boost::asio::any_io_executor executor_;
  OnPiece on_piece_;
  std::function<void()> on_stop_;
  log::Logger log_;
};

}  // namespace detail

struct HttpServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(boost::asio::io_context& io_, boost::asio::thread_pool& workers_, Handler handler_,
       HttpLimits limits_)
      : io(io_),
        workers(workers_),
        acceptor(boost::asio::make_strand(io_)),
        handler(std::move(handler_)),
        limits(limits_),
        log(log::get("net.http")) {}

  boost::asio::io_context& io;
  boost::asio::thread_pool& workers;
  boost::asio::ip::tcp::acceptor acceptor;
  boost::asio::steady_timer retry{acceptor.get_executor()};
  Handler handler;
  HttpLimits limits;
  log::Logger log;
  std::atomic<std::size_t> connections{0};
  std::uint16_t port = 0;
  // Set for HTTPS; replaced whole by reload_tls(), so a session keeps the context it began with.
  std::mutex tls_mutex;
  std::shared_ptr<boost::asio::ssl::context> tls;

  // Streamed responses being sent, for max_streams and stop().
  std::mutex streams_mutex;
  bool stopped = false;                                             // guarded by streams_mutex
  std::unordered_set<std::shared_ptr<detail::OpenStream>> streams;  // guarded by streams_mutex

  std::shared_ptr<boost::asio::ssl::context> tls_context() {
    std::scoped_lock lock(tls_mutex);
    return tls;
  }
  void accept();

  // Errc::unavailable when max_streams are open or the server is stopping.
  Result<void> admit(const std::shared_ptr<detail::OpenStream>& stream) {
    std::scoped_lock lock(streams_mutex);
    if (stopped) {
      return fail(Errc::unavailable, "server stopping");
    }
    if (streams.size() >= limits.max_streams) {
      return fail(Errc::unavailable, "too many open streams");
    }
    streams.insert(stream);
    return {};
  }
  void release(const std::shared_ptr<detail::OpenStream>& stream) {
    std::scoped_lock lock(streams_mutex);
    streams.erase(stream);
  }
};

namespace detail {

// Serves one accepted connection, over TLS when `context` is set.
void start_session(std::shared_ptr<HttpServer::Impl> server, boost::asio::ip::tcp::socket socket,
                   std::shared_ptr<boost::asio::ssl::context> context);

}  // namespace detail
}  // namespace hecs::net
