#include "agent/enrol/https.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <fmt/format.h>
#include <openssl/ssl.h>
#include <string.h>

// g++ 12 false positive: Asio's coroutine frames use their own operator new/delete pair, which
// the warning cannot match up once inlined.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace hecs::agent::enrol {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

// An enrolment reply holds two certificates and a few keys: a few KB.
constexpr std::uint64_t kMaxResponseBytes = std::uint64_t{64} * 1024;
constexpr std::uint32_t kMaxHeaderBytes = 8 * 1024;
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

bool is_ip_address(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

tl::unexpected<Error> network_error(std::string_view doing, const ControlUrl& url,
                                    const boost::system::error_code& ec) {
  const bool timed_out = ec == beast::error::timeout;
  return fail(timed_out ? Errc::timeout : Errc::unavailable,
              fmt::format("{} {}:{}: {}", doing, url.host, url.port,
                          timed_out ? "timed out" : ec.message()));
}

void wipe(std::string& secret) {
  ::explicit_bzero(secret.data(), secret.size());  // not optimised away, unlike memset
  secret.clear();
}

}  // namespace

struct HttpsClient::Exchange {
  Exchange(asio::io_context& io, ssl::context&& ctx)
      : context(std::move(ctx)), resolver(io), stream(io, context) {}
  ssl::context context;  // before the stream, which uses it
  tcp::resolver resolver;
  beast::ssl_stream<beast::tcp_stream> stream;
};

void HttpsClient::cancel() {
  if (auto x = current_.lock()) {
    x->resolver.cancel();
    beast::get_lowest_layer(x->stream).close();
  }
}

asio::awaitable<Result<HttpsResponse>> HttpsClient::request(ControlUrl url, std::string ca_pem,
                                                            HttpsRequest message,
                                                            std::chrono::seconds timeout) {
  ssl::context ctx(ssl::context::tls_client);
  boost::system::error_code ec;
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                  ec);
  if (ca_pem.empty()) {
    ctx.set_verify_mode(ssl::verify_none, ec);
  } else {
    ctx.add_certificate_authority(asio::buffer(ca_pem), ec);
    if (ec) {
      co_return fail(Errc::invalid_input, "the control plane's ca does not load: " + ec.message());
    }
    ctx.set_verify_mode(ssl::verify_peer, ec);
    ctx.set_verify_callback(ssl::host_name_verification(url.host), ec);
  }
  auto x = std::make_shared<Exchange>(io_, std::move(ctx));
  current_ = x;
  if (!is_ip_address(url.host)) {  // SNI carries host names only (RFC 6066 §3)
    // The one OpenSSL call here: Asio has no SNI setter.
    // What SSL_set_tlsext_host_name expands to, without its C cast.
    SSL_ctrl(x->stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(url.host.c_str()));
  }
  auto& socket = beast::get_lowest_layer(x->stream);
  socket.expires_after(timeout);

  const std::string port = std::to_string(url.port);
  auto [resolve_ec, endpoints] = co_await x->resolver.async_resolve(url.host, port, kAwait);
  if (resolve_ec) {
    co_return network_error("resolve", url, resolve_ec);
  }
  auto [connect_ec, endpoint] = co_await socket.async_connect(endpoints, kAwait);
  if (connect_ec) {
    co_return network_error("connect", url, connect_ec);
  }
  auto [handshake_ec] = co_await x->stream.async_handshake(ssl::stream_base::client, kAwait);
  if (handshake_ec) {
    co_return network_error("tls handshake with", url, handshake_ec);
  }

  http::request<http::string_body> req{http::string_to_verb(message.method), message.target, 11};
  const bool default_port = url.port == 443;
  const std::string host =
      url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  req.set(http::field::host, default_port ? host : fmt::format("{}:{}", host, url.port));
  req.set(http::field::user_agent, "hecs-agent");
  req.set(http::field::connection, "close");
  if (!message.body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = std::move(message.body);
  }
  req.prepare_payload();
  auto [write_ec, written] = co_await http::async_write(x->stream, req, kAwait);
  wipe(req.body());  // it may carry the enrolment token
  wipe(message.body);
  if (write_ec) {
    co_return network_error("send to", url, write_ec);
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBytes);
  parser.header_limit(kMaxHeaderBytes);
  auto [read_ec, read] = co_await http::async_read(x->stream, buffer, parser, kAwait);
  socket.close();
  if (read_ec) {
    co_return network_error("read from", url, read_ec);
  }
  auto& res = parser.get();
  HttpsResponse out;
  out.status = static_cast<int>(res.result_int());
  out.body = std::move(res.body());
  if (auto it = res.find(http::field::retry_after); it != res.end()) {
    out.retry_after = std::string(it->value());
  }
  co_return out;
}

}  // namespace hecs::agent::enrol
