#include "common/net/http.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <type_traits>
#include <unordered_set>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <openssl/ssl.h>

#include "common/log.h"

namespace hecs::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

const std::string* Request::query_param(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) {
      return &v;
    }
  }
  return nullptr;
}

const std::string* Request::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) {
      return &v;
    }
  }
  return nullptr;
}

Response problem(int status, std::string_view code, std::string_view title,
                 std::string_view detail) {
  boost::json::object o;
  o["type"] = "about:blank";
  o["title"] = title;
  o["status"] = status;
  if (!detail.empty()) {
    o["detail"] = detail;
  }
  o["code"] = code;
  Response r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body = boost::json::serialize(o);
  return r;
}

Result<std::string> url_decode(std::string_view text, bool plus_is_space) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) {
        return fail(Errc::invalid_input, "truncated percent escape");
      }
      int hi = hex(text[i + 1]);
      int lo = hex(text[i + 2]);
      if (hi < 0 || lo < 0) {
        return fail(Errc::invalid_input, "bad percent escape");
      }
      char decoded = static_cast<char>(hi * 16 + lo);
      if (decoded == '\0') {
        return fail(Errc::invalid_input, "NUL in URL");
      }
      out += decoded;
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

Result<void> split_target(std::string_view target, Request& req) {
  if (target.empty() || target.front() != '/') {
    return fail(Errc::invalid_input, "request target must be an absolute path");
  }
  auto qpos = target.find('?');
  auto path = url_decode(target.substr(0, qpos), false);
  if (!path) {
    return fail(path.error(), "path");
  }
  req.path = std::move(*path);
  if (qpos == std::string_view::npos) {
    return {};
  }
  std::string_view qs = target.substr(qpos + 1);
  while (!qs.empty()) {
    auto amp = qs.find('&');
    auto part = qs.substr(0, amp);
    qs = amp == std::string_view::npos ? std::string_view{} : qs.substr(amp + 1);
    if (part.empty()) {
      continue;
    }
    auto eq = part.find('=');
    auto key = url_decode(part.substr(0, eq), true);
    auto value = url_decode(eq == std::string_view::npos ? "" : part.substr(eq + 1), true);
    if (!key || !value) {
      return fail(Errc::invalid_input, "malformed query string");
    }
    req.query.emplace_back(std::move(*key), std::move(*value));
    if (req.query.size() > 64) {
      return fail(Errc::invalid_input, "too many query parameters");
    }
  }
  return {};
}

constexpr std::string_view kKeepalive = ": keepalive\n\n";  // an SSE comment

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
  void attach(asio::any_io_executor executor, OnPiece on_piece, std::function<void()> on_stop) {
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
      asio::post(executor_, on_stop_);
    }
  }

 private:
  void post(std::optional<std::string> piece) {
    // Under the lock: once ended, the session and even the io_context may be gone.
    std::scoped_lock lock(post_mutex_);
    if (ended_) {
      return;
    }
    asio::post(executor_, [on_piece = on_piece_, piece = std::move(piece)]() mutable {
      on_piece(std::move(piece));
    });
  }

  std::mutex call_mutex_;             // pull() and close() never overlap
  std::shared_ptr<BodyStream> body_;  // guarded by call_mutex_; null once closed
  std::mutex post_mutex_;
  bool ended_ = false;  // guarded by post_mutex_
  asio::any_io_executor executor_;
  OnPiece on_piece_;
  std::function<void()> on_stop_;
  log::Logger log_;
};

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_, asio::thread_pool& workers_, Handler handler_, HttpLimits limits_)
      : io(io_),
        workers(workers_),
        acceptor(asio::make_strand(io_)),
        handler(std::move(handler_)),
        limits(limits_),
        log(log::get("net.http")) {}

  asio::io_context& io;
  asio::thread_pool& workers;
  tcp::acceptor acceptor;
  asio::steady_timer retry{acceptor.get_executor()};
  Handler handler;
  HttpLimits limits;
  log::Logger log;
  std::atomic<std::size_t> connections{0};
  std::uint16_t port = 0;
  // Set for HTTPS; replaced whole by reload_tls(), so a session keeps the context it began with.
  std::mutex tls_mutex;
  std::shared_ptr<asio::ssl::context> tls;

  // Streamed responses being sent, for max_streams and stop().
  std::mutex streams_mutex;
  bool stopped = false;                                     // guarded by streams_mutex
  std::unordered_set<std::shared_ptr<OpenStream>> streams;  // guarded by streams_mutex

  std::shared_ptr<asio::ssl::context> tls_context() {
    std::scoped_lock lock(tls_mutex);
    return tls;
  }
  void accept();

  // Errc::unavailable when max_streams are open or the server is stopping.
  Result<void> admit(const std::shared_ptr<OpenStream>& stream) {
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
  void release(const std::shared_ptr<OpenStream>& stream) {
    std::scoped_lock lock(streams_mutex);
    streams.erase(stream);
  }
};

namespace {

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One connection, plain (beast::tcp_stream) or HTTPS (TlsStream).
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(std::shared_ptr<HttpServer::Impl> server, tcp::socket socket,
          std::shared_ptr<asio::ssl::context> context)
      : context_(std::move(context)),
        stream_(make_stream(std::move(socket), context_.get())),
        server_(std::move(server)) {
    boost::system::error_code ec;
    auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec) {
      remote_ = fmt::format("{}:{}", ep.address().to_string(), ep.port());
    }
  }
  ~Session() {
    end_stream("session_ended");
    --server_->connections;
  }
  Session(const Session&) = delete;
  Session(Session&&) = delete;
  Session& operator=(const Session&) = delete;
  Session& operator=(Session&&) = delete;

  void start() {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (std::is_same_v<Stream, TlsStream>) {
        // The handshake gets the read timeout too: a client that connects and says nothing
        // must not hold a connection slot.
        beast::get_lowest_layer(self->stream_).expires_after(self->server_->limits.read_timeout);
        self->stream_.async_handshake(asio::ssl::stream_base::server, [self](beast::error_code ec) {
          if (ec) {
            self->server_->log->debug("http.tls_handshake_failed remote={} error={}", self->remote_,
                                      log::quoted(ec.message()));
            self->close();
            return;
          }
          self->read();
        });
      } else {
        self->read();
      }
    });
  }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_->limits.header_bytes));
    parser_->body_limit(server_->limits.body_bytes);
    beast::get_lowest_layer(stream_).expires_after(server_->limits.read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       self->on_read(ec);
                     });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
      close();
      return;
    }
    if (ec) {
      Response r = ec == http::error::header_limit
                       ? problem(431, "invalid_input", "request header fields too large")
                   : ec == http::error::body_limit
                       ? problem(413, "invalid_input", "request body too large")
                       : problem(400, "invalid_input", "malformed HTTP request", ec.message());
      keep_alive_ = false;
      write(std::move(r), 11);
      return;
    }
    auto& msg = parser_->get();
    keep_alive_ = msg.keep_alive();
    head_ = msg.method() == http::verb::head;
    auto req = std::make_shared<Request>();
    req->method = std::string(msg.method_string());
    req->target = std::string(msg.target());
    req->remote = remote_;
    for (const auto& field : msg) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      req->headers.emplace_back(std::move(name), std::string(field.value()));
    }
    req->body = std::move(msg.body());
    unsigned version = msg.version();
    if (auto split = split_target(req->target, *req); !split) {
      write(problem(400, "invalid_input", "bad request target", split.error().message), version);
      return;
    }
    // The handler may block (database): run it on the worker pool, answer on our strand.
    auto self = this->shared_from_this();
    asio::post(server_->workers, [self, req, version] {
      Response r;
      try {
        r = self->server_->handler(*req);
      } catch (const std::exception& e) {
        self->server_->log->error("bug.escaped_exception where=http_handler what={}",
                                  log::quoted(e.what()));
        r = problem(500, "internal", "internal error");
      }
      std::shared_ptr<OpenStream> open;
      if (r.stream) {
        open = std::make_shared<OpenStream>(std::move(r.stream), self->server_->log);
      }
      asio::post(self->stream_.get_executor(),
                 [self, r = std::move(r), version, open = std::move(open)]() mutable {
                   if (open) {
                     self->respond_stream(std::move(r), version, std::move(open));
                   } else {
                     self->write(std::move(r), version);
                   }
                 });
    });
  }

  template <class Body>
  static void set_headers(http::response<Body>& res, const Response& r) {
    res.set(http::field::server, "hecs");
    res.set(http::field::content_type, r.content_type);
    res.set(http::field::cache_control, "no-store");
    res.set("X-Content-Type-Options", "nosniff");
    for (const auto& [k, v] : r.headers) {
      res.set(k, v);
    }
  }

  void write(Response r, unsigned version) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(r.status), version);
    set_headers(*res, r);
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive_);
    res->prepare_payload();
    if (head_) {
      // HEAD: the headers of the GET, Content-Length included, and no body on the wire.
      auto length = res->body().size();
      res->body().clear();
      res->content_length(length);
    }
    beast::get_lowest_layer(stream_).expires_after(server_->limits.read_timeout);
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res](beast::error_code ec, std::size_t) {
                        if (ec || !self->keep_alive_) {
                          self->close();
                          return;
                        }
                        self->read();
                      });
  }

  // A streamed response (docs/tasks.md "Events"): the head, then a chunk per piece the
  // stream delivers, each pulled once the previous one is on the wire.
  void respond_stream(Response r, unsigned version, std::shared_ptr<OpenStream> open) {
    if (head_) {
      open->end();
      write_stream_head(std::move(r), version);
      return;
    }
    std::weak_ptr<Session> weak = this->weak_from_this();
    open->attach(
        stream_.get_executor(),
        [weak](std::optional<std::string> piece) {
          if (auto self = weak.lock()) {
            self->on_piece(std::move(piece));
          }
        },
        [weak] {
          if (auto self = weak.lock()) {
            self->end_stream("server_stopping");
            self->close();
          }
        });
    if (auto admitted = server_->admit(open); !admitted) {
      open->end();
      server_->log->debug("http.stream_refused remote={} reason={}", remote_,
                          log::quoted(admitted.error().message));
      Response busy = problem(503, "unavailable", "service unavailable", admitted.error().message);
      busy.headers.emplace_back("Retry-After", "5");
      write(std::move(busy), version);
      return;
    }
    open_ = std::move(open);
    server_->log->debug("http.stream_started remote={}", remote_);
    write_stream_head(std::move(r), version);
  }

  // The head of a streamed response; for HEAD (open_ unset) nothing follows it.
  void write_stream_head(Response r, unsigned version) {
    struct Head {
      http::response<http::empty_body> res;
      http::response_serializer<http::empty_body> serializer{res};
    };
    auto head = std::make_shared<Head>();
    head->res.result(static_cast<http::status>(r.status));
    head->res.version(version);
    set_headers(head->res, r);
    head->res.set("X-Accel-Buffering", "no");  // a proxy (nginx) passes each event on at once
    // HTTP/1.0 has no chunks: the body runs to the end of the connection.
    chunked_ = version >= 11;
    keep_alive_ = keep_alive_ && chunked_;
    head->res.keep_alive(keep_alive_);
    head->res.chunked(chunked_);
    beast::get_lowest_layer(stream_).expires_after(server_->limits.read_timeout);
    http::async_write_header(
        stream_, head->serializer,
        [self = this->shared_from_this(), head](beast::error_code ec, std::size_t) {
          if (ec) {
            self->end_stream("write_failed");
            self->close();
          } else if (self->open_) {
            self->begin_streaming();
          } else if (self->keep_alive_ && self->head_) {
            self->read();
          } else {
            self->close();  // HEAD without keep-alive, or the server stopped meanwhile
          }
        });
  }

  void begin_streaming() {
    // Liveness is the stream's own keepalive writes, each with a timeout: an idle stream must
    // outlive the read timeout.
    beast::get_lowest_layer(stream_).expires_never();
    watch();
    pull();
  }

  void pull() {
    if (open_ && !open_->pull()) {
      end_stream("pull_failed");
      close();
    }
  }

  // While streaming a read stays pending so that a client going away (EOF, reset) is noticed
  // at once, not at the next write. What the client sends meanwhile (a pipelined request)
  // stays in buffer_ for read(), up to header_bytes.
  void watch() {
    auto limit = server_->limits.header_bytes;
    if (buffer_.size() >= limit) {
      end_stream("client_sent_too_much");
      close();
      return;
    }
    stream_.async_read_some(buffer_.prepare(limit - buffer_.size()),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->on_watch(ec, n);
                            });
  }

  void on_watch(beast::error_code ec, std::size_t n) {
    buffer_.commit(n);
    if (stream_finished_) {
      // The stream ended and cancelled this read: the connection serves requests again.
      stream_finished_ = false;
      bool open = beast::get_lowest_layer(stream_).socket().is_open();  // not closed by stop()
      if (keep_alive_ && open && (!ec || ec == asio::error::operation_aborted)) {
        read();
      } else {
        close();
      }
      return;
    }
    if (ec) {
      end_stream("client_gone");
      close();
      return;
    }
    watch();
  }

  void on_piece(std::optional<std::string> piece) {
    if (!open_) {
      return;  // ended meanwhile: the client went away or the server stops
    }
    bool last = !piece;
    if (last && !chunked_) {
      end_stream("finished");
      close();
      return;
    }
    auto data = std::make_shared<std::string>(last ? std::string() : std::move(*piece));
    if (!last && data->empty()) {
      *data = kKeepalive;
    }
    // With the watch read pending this times the write only: a client that stops reading is
    // cut after read_timeout, a quiet one that reads is not.
    beast::get_lowest_layer(stream_).expires_after(server_->limits.read_timeout);
    auto done = [self = this->shared_from_this(), data, last](beast::error_code ec, std::size_t) {
      self->on_piece_written(ec, last);
    };
    if (last) {
      asio::async_write(stream_, http::make_chunk_last(), std::move(done));
    } else if (chunked_) {
      asio::async_write(stream_, http::make_chunk(asio::buffer(*data)), std::move(done));
    } else {
      asio::async_write(stream_, asio::buffer(*data), std::move(done));
    }
  }

  void on_piece_written(beast::error_code ec, bool last) {
    if (ec) {
      end_stream(ec == beast::error::timeout ? "write_timeout" : "write_failed");
      close();
      return;
    }
    if (last) {
      end_stream("finished");
      stream_finished_ = true;
      if (keep_alive_) {
        // No write is pending, so this cancels the watch read alone; on_watch then reads the
        // next request.
        beast::get_lowest_layer(stream_).cancel();
      } else {
        close();
      }
      return;
    }
    pull();
  }

  // Closes the BodyStream (once) and frees its slot; the connection is the caller's business.
  void end_stream(std::string_view reason) {
    if (!open_) {
      return;
    }
    open_->end();
    server_->release(open_);
    open_.reset();
    server_->log->debug("http.stream_ended remote={} reason={}", remote_, reason);
  }

  // For HTTPS the TCP connection is closed without a TLS close_notify: HTTP/1.1 framing tells
  // the client where the response ends, and waiting for the peer's notify could hang.
  void close() {
    beast::error_code ec;
    auto& socket = beast::get_lowest_layer(stream_).socket();
    socket.shutdown(tcp::socket::shutdown_send, ec);
    socket.close(ec);
  }

  static Stream make_stream(tcp::socket socket, asio::ssl::context* context) {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      return Stream(std::move(socket), *context);
    } else {
      return Stream(std::move(socket));
    }
  }

  std::shared_ptr<asio::ssl::context> context_;  // outlives stream_, even after reload_tls()
  Stream stream_;
  std::shared_ptr<HttpServer::Impl> server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string remote_;
  bool keep_alive_ = true;
  bool head_ = false;
  std::shared_ptr<OpenStream> open_;  // the stream being sent, if any
  bool chunked_ = true;               // HTTP/1.1: the stream's pieces go out as chunks
  bool stream_finished_ = false;      // the last chunk is out: on_watch hands over to read()
};

Result<tcp::endpoint> parse_listen(std::string_view listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string_view::npos) {
    return fail(Errc::invalid_input, fmt::format("listen address {} needs host:port", listen));
  }
  std::string host(listen.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) {
    host = "0.0.0.0";
  }
  unsigned port = 0;
  auto port_text = listen.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5) {
    return fail(Errc::invalid_input, fmt::format("bad port in listen address {}", listen));
  }
  for (char c : port_text) {
    if (c < '0' || c > '9') {
      return fail(Errc::invalid_input, fmt::format("bad port in listen address {}", listen));
    }
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (port > 65535) {
    return fail(Errc::invalid_input, fmt::format("bad port in listen address {}", listen));
  }
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) {
    return fail(Errc::invalid_input,
                fmt::format("listen address {}: {} is not an IP address", listen, host));
  }
  return tcp::endpoint(addr, static_cast<std::uint16_t>(port));
}

}  // namespace

Result<void> check_listen_address(std::string_view listen) {
  auto endpoint = parse_listen(listen);
  if (!endpoint) {
    return tl::unexpected(endpoint.error());
  }
  return {};
}

void HttpServer::Impl::accept() {
  acceptor.async_accept(asio::make_strand(io), [self = shared_from_this()](beast::error_code ec,
                                                                           tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) {
      return;
    }
    if (ec) {
      // Out of descriptors (EMFILE) or memory: retrying at once would spin a core. Wait a
      // little; connections closing meanwhile free what we need.
      self->log->warn("http.accept_failed error={}", log::quoted(ec.message()));
      self->retry.expires_after(std::chrono::milliseconds(100));
      self->retry.async_wait([self](beast::error_code wait_ec) {
        if (!wait_ec) {
          self->accept();
        }
      });
      return;
    }
    if (self->connections.load() >= self->limits.max_connections) {
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      ++self->connections;
      if (auto context = self->tls_context()) {
        std::make_shared<Session<TlsStream>>(self, std::move(socket), std::move(context))->start();
      } else {
        std::make_shared<Session<beast::tcp_stream>>(self, std::move(socket), nullptr)->start();
      }
    }
    self->accept();
  });
}

HttpServer::HttpServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  try {
    stop();
  } catch (const std::exception& e) {  // out of memory: nothing better to do than say so
    impl_->log->error("bug.escaped_exception where=~HttpServer what={}", log::quoted(e.what()));
  }
}

namespace {

// TLS 1.2 at least; OpenSSL 3 prefers 1.3 when the client offers it.
Result<std::shared_ptr<asio::ssl::context>> make_tls_context(const HttpTls& tls) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::single_dh_use);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(tls.cert_file, ec);
  if (!ec) {
    ctx->use_private_key_file(tls.key_file, asio::ssl::context::pem, ec);
  }
  if (ec) {
    return fail(Errc::invalid_input, fmt::format("https: certificate {} / key {}: {}",
                                                 tls.cert_file, tls.key_file, ec.message()));
  }
  return ctx;
}

}  // namespace

Result<void> HttpServer::reload_tls(const HttpTls& tls) {
  auto ctx = make_tls_context(tls);
  if (!ctx) {
    return tl::unexpected(ctx.error());
  }
  std::scoped_lock lock(impl_->tls_mutex);
  impl_->tls = std::move(*ctx);
  return {};
}

Result<std::unique_ptr<HttpServer>> HttpServer::create(asio::io_context& io,
                                                       asio::thread_pool& workers,
                                                       std::string_view listen, Handler handler,
                                                       HttpLimits limits,
                                                       std::optional<HttpTls> tls) {
  auto endpoint = parse_listen(listen);
  if (!endpoint) {
    return fail(endpoint.error(), "http");
  }
  auto impl = std::make_shared<Impl>(io, workers, std::move(handler), limits);
  if (tls) {
    auto ctx = make_tls_context(*tls);
    if (!ctx) {
      return tl::unexpected(ctx.error());
    }
    impl->tls = std::move(*ctx);
  }
  boost::system::error_code ec;
  impl->acceptor.open(endpoint->protocol(), ec);
  if (!ec) {
    impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    impl->acceptor.bind(*endpoint, ec);
  }
  if (!ec) {
    impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return fail(Errc::unavailable, fmt::format("http: listen on {}: {}", listen, ec.message()));
  }
  impl->port = impl->acceptor.local_endpoint(ec).port();
  impl->accept();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

std::uint16_t HttpServer::port() const { return impl_->port; }

void HttpServer::stop() {
  auto impl = impl_;
  asio::post(impl->acceptor.get_executor(), [impl] {
    boost::system::error_code ec;
    impl->acceptor.close(ec);
  });
  // Closed here rather than on the io_context, which may already have stopped.
  std::unordered_set<std::shared_ptr<OpenStream>> open;
  {
    std::scoped_lock lock(impl->streams_mutex);
    impl->stopped = true;
    open.swap(impl->streams);
  }
  for (const auto& stream : open) {
    stream->interrupt();
  }
}

}  // namespace hecs::net
