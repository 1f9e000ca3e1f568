// One HTTP connection of the server (http_server.h): reads requests, runs the handler on the
// worker pool, writes answers and streamed responses.
#include <algorithm>
#include <type_traits>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <fmt/format.h>
#include <openssl/ssl.h>

#include "common/net/http_server.h"

namespace hecs::net::detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

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

}  // namespace

void start_session(std::shared_ptr<HttpServer::Impl> server, tcp::socket socket,
                   std::shared_ptr<asio::ssl::context> context) {
  if (context) {
    std::make_shared<Session<TlsStream>>(std::move(server), std::move(socket), std::move(context))
        ->start();
  } else {
    std::make_shared<Session<beast::tcp_stream>>(std::move(server), std::move(socket), nullptr)
        ->start();
  }
}

}  // namespace hecs::net::detail
