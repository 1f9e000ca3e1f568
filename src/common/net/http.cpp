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
#include "common/net/http_server.h"

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

Result<void> detail::split_target(std::string_view target, Request& req) {
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

namespace {

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
  acceptor.async_accept(
      asio::make_strand(io), [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
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
          detail::start_session(self, std::move(socket), self->tls_context());
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
  std::unordered_set<std::shared_ptr<detail::OpenStream>> open;
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
