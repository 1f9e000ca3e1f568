#include "sim/enroll.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <deque>
#include <optional>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <openssl/ssl.h>

#include "common/crypto/crypto.h"
#include "common/log.h"

namespace hecs::sim {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
// An answer holds the certificate, the CA and a few keys: a few KiB.
constexpr std::uint64_t kMaxAnswerBytes = std::uint64_t{64} * 1024;

tl::unexpected<Error> invalid_url(std::string_view why) {
  return fail(Errc::invalid_input, fmt::format("expected https://host[:port]: {}", why));
}

Errc errc_for_status(int status) {
  switch (status) {
    case 400:
    case 413:
    case 422:
      return Errc::invalid_input;
    case 401:
    case 403:
      return Errc::unauthorized;
    case 404:
      return Errc::not_found;
    case 409:
      return Errc::conflict;
    case 429:
      return Errc::unavailable;
    default:
      return status >= 500 ? Errc::unavailable : Errc::internal;
  }
}

}  // namespace

Result<EnrollUrl> parse_enroll_url(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (!url.starts_with(kScheme)) {
    return invalid_url("not https://");
  }
  std::string_view rest = url.substr(kScheme.size());
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  while (path.ends_with('/')) {
    path.remove_suffix(1);
  }
  EnrollUrl out;
  std::string_view port;
  bool bracketed = authority.starts_with('[');
  if (bracketed) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return invalid_url("unclosed [");
    }
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) {
      return invalid_url("expected :port after ]");
    }
    port = after.empty() ? after : after.substr(1);
  } else {
    const auto colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    port = colon == std::string_view::npos ? std::string_view() : authority.substr(colon + 1);
  }
  auto host_char = [bracketed](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' ||
           (bracketed && c == ':');
  };
  if (out.host.empty() || !std::all_of(out.host.begin(), out.host.end(), host_char)) {
    return invalid_url("bad host");
  }
  if (!port.empty() || authority.ends_with(':')) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return invalid_url("bad port");
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  auto path_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '/' || c == '-' || c == '.' ||
           c == '_' || c == '~';
  };
  if (!std::all_of(path.begin(), path.end(), path_char)) {
    return invalid_url("bad path");
  }
  out.path = std::string(path);
  return out;
}

Result<std::string> read_enroll_answer(int status, std::string_view body) {
  boost::system::error_code ec;
  auto doc = json::parse(body, ec);
  const json::object* object = ec ? nullptr : doc.if_object();
  if (status == 201) {
    const json::value* cert = object != nullptr ? object->if_contains("certificate") : nullptr;
    if (cert == nullptr || !cert->is_string() || cert->as_string().empty()) {
      return fail(Errc::invalid_input, "201 without a certificate");
    }
    return std::string(cert->as_string());
  }
  if (status == 202) {
    return fail(Errc::unavailable, "202: pending, the token wants an operator's approval");
  }
  std::string detail;
  for (const char* member : {"detail", "title"}) {
    const json::value* v = object != nullptr ? object->if_contains(member) : nullptr;
    if (v != nullptr && v->is_string() && !v->as_string().empty()) {
      detail = std::string(v->as_string());
      break;
    }
  }
  if (detail.empty()) {
    detail = body.empty() ? "no detail" : std::string(body.substr(0, 200));
  }
  return fail(errc_for_status(status), fmt::format("{}: {}", status, detail));
}

// ---- Enroller ---------------------------------------------------------------------------

namespace {

using Stream = beast::ssl_stream<beast::tcp_stream>;

// One worker's connection, kept alive between its requests.
struct Link {
  std::optional<Stream> stream;
  beast::flat_buffer buffer;
};

struct Job {
  std::size_t index = 0;
  std::string device_id;
};

struct Answer {
  int status = 0;
  std::string body;
};

}  // namespace

struct Enroller::Impl {
  Impl(asio::io_context& io_, asio::ssl::context ssl_, EnrollOptions options_, EnrollUrl url_,
       std::vector<tcp::endpoint> endpoints_, Done done_)
      : io(io_),
        ssl(std::move(ssl_)),
        options(std::move(options_)),
        url(std::move(url_)),
        host_header(url.host.find(':') == std::string::npos
                        ? fmt::format("{}:{}", url.host, url.port)
                        : fmt::format("[{}]:{}", url.host, url.port)),
        endpoints(std::move(endpoints_)),
        done(std::move(done_)) {}

  // The frame's copy of `keep_alive` holds the Impl while a worker runs. The Link lives in the
  // frame of work(), which awaits the others: their references hold.
  asio::awaitable<void> work(std::shared_ptr<Impl> keep_alive);
  asio::awaitable<Result<StoredIdentity>> enrol(Link& link, std::string device_id);
  asio::awaitable<Result<Answer>> exchange(Link& link, std::string body);
  asio::awaitable<Result<void>> connect(Link& link);

  asio::io_context& io;
  asio::ssl::context ssl;
  EnrollOptions options;
  EnrollUrl url;
  std::string host_header;
  std::vector<tcp::endpoint> endpoints;
  Done done;
  std::deque<Job> queue;
  std::size_t workers = 0, in_flight = 0;
  std::uint64_t requests = 0;
  bool stopped = false;
  log::Logger log = log::get("sim");
};

asio::awaitable<void> Enroller::Impl::work(std::shared_ptr<Impl> /*keep_alive*/) {
  Link link;
  while (!stopped && !queue.empty()) {
    Job job = std::move(queue.front());
    queue.pop_front();
    ++in_flight;
    auto result = co_await enrol(link, job.device_id);
    --in_flight;
    if (stopped) {
      break;
    }
    done(job.index, std::move(result));
  }
  --workers;
}

asio::awaitable<Result<StoredIdentity>> Enroller::Impl::enrol(Link& link, std::string device_id) {
  auto key = crypto::generate_p256_key();
  auto csr = crypto::make_csr(key.private_pem, device_id);
  if (!csr) {
    co_return fail(std::move(csr.error()), "csr");
  }
  const std::string body = json::serialize(json::object{{"token", options.token}, {"csr", *csr}});
  Error last{Errc::unavailable, "not attempted"};
  // Network failures and 5xx are tried again over a fresh connection; the same CSR again is
  // safe: the control plane finds the device by its key without using the token twice.
  for (int attempt = 0; attempt < options.attempts && !stopped; ++attempt) {
    auto answer = co_await exchange(link, body);
    if (answer && answer->status < 500) {
      auto cert = read_enroll_answer(answer->status, answer->body);
      if (!cert) {
        co_return tl::unexpected(cert.error());
      }
      co_return StoredIdentity{std::move(key.private_pem), std::move(*cert)};
    }
    last = answer ? read_enroll_answer(answer->status, answer->body).error() : answer.error();
    link.stream.reset();
    log->debug("sim.enroll_retry device={} attempt={} reason={}", device_id, attempt + 1,
               log::quoted(last.message));
  }
  co_return fail(last, fmt::format("{} attempts", options.attempts));
}

asio::awaitable<Result<void>> Enroller::Impl::connect(Link& link) {
  link.stream.emplace(io, ssl);
  link.buffer.clear();
  auto& tcp_stream = beast::get_lowest_layer(*link.stream);
  tcp_stream.expires_after(options.timeout);
  auto [ec, endpoint] = co_await tcp_stream.async_connect(endpoints, kAwait);
  if (ec) {
    link.stream.reset();
    co_return fail(Errc::unavailable, fmt::format("connect {}: {}", host_header, ec.message()));
  }
  if (auto named = mqtt::tls::expect_peer(link.stream->native_handle(), url.host); !named) {
    link.stream.reset();
    co_return tl::unexpected(named.error());
  }
  tcp_stream.expires_after(options.timeout);
  auto [handshake] = co_await link.stream->async_handshake(asio::ssl::stream_base::client, kAwait);
  if (handshake) {
    auto reason = mqtt::tls::handshake_failure(link.stream->native_handle(), handshake.message());
    link.stream.reset();
    co_return fail(Errc::unavailable, fmt::format("tls handshake {}: {}", host_header, reason));
  }
  co_return Result<void>{};
}

asio::awaitable<Result<Answer>> Enroller::Impl::exchange(Link& link, std::string body) {
  if (!link.stream) {
    if (auto connected = co_await connect(link); !connected) {
      co_return tl::unexpected(connected.error());
    }
  }
  http::request<http::string_body> request{http::verb::post, url.path + "/api/v1/enroll", 11};
  request.set(http::field::host, host_header);
  request.set(http::field::content_type, "application/json");
  request.set(http::field::user_agent, "hecs-sim");
  request.keep_alive(true);
  request.body() = std::move(body);
  request.prepare_payload();
  auto& tcp_stream = beast::get_lowest_layer(*link.stream);
  tcp_stream.expires_after(options.timeout);
  auto [sent, sent_bytes] = co_await http::async_write(*link.stream, request, kAwait);
  if (sent) {
    co_return fail(Errc::unavailable, "send: " + sent.message());
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxAnswerBytes);
  tcp_stream.expires_after(options.timeout);
  auto [got, got_bytes] = co_await http::async_read(*link.stream, link.buffer, parser, kAwait);
  if (got) {
    co_return fail(Errc::unavailable, "answer: " + got.message());
  }
  ++requests;
  auto response = parser.release();
  if (!response.keep_alive()) {
    link.stream.reset();
  }
  co_return Answer{static_cast<int>(response.result_int()), std::move(response.body())};
}

Result<std::unique_ptr<Enroller>> Enroller::create(asio::io_context& io,
                                                   const mqtt::tls::Context& tls,
                                                   EnrollOptions options, Done done) {
  auto url = parse_enroll_url(options.url);
  if (!url) {
    return tl::unexpected(url.error());
  }
  tcp::resolver resolver(io);
  boost::system::error_code ec;
  auto results =
      resolver.resolve(url->host, std::to_string(url->port), tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return fail(Errc::unavailable,
                fmt::format("cannot resolve {}: {}", url->host, ec ? ec.message() : "no address"));
  }
  std::vector<tcp::endpoint> endpoints;
  for (const auto& entry : results) {
    endpoints.push_back(entry.endpoint());
  }
  // The MQTT connections' context, shared: one CA, one TLS floor.
  SSL_CTX_up_ref(tls.native());
  asio::ssl::context ssl(tls.native());
  auto impl = std::make_shared<Impl>(io, std::move(ssl), std::move(options), std::move(*url),
                                     std::move(endpoints), std::move(done));
  return std::unique_ptr<Enroller>(new Enroller(std::move(impl)));
}

Enroller::Enroller(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Enroller::~Enroller() { stop(); }

void Enroller::add(std::size_t index, std::string device_id) {
  impl_->queue.push_back({index, std::move(device_id)});
  if (impl_->stopped || impl_->workers >= impl_->options.concurrency) {
    return;
  }
  ++impl_->workers;
  asio::co_spawn(impl_->io, impl_->work(impl_), [log = impl_->log](const std::exception_ptr& e) {
    if (!e) {
      return;
    }
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log->error("bug.escaped_exception where=sim.enroll what={}", log::quoted(ex.what()));
    }
  });
}

void Enroller::stop() { impl_->stopped = true; }

bool Enroller::idle() const { return impl_->queue.empty() && impl_->in_flight == 0; }

std::uint64_t Enroller::requests() const { return impl_->requests; }

}  // namespace hecs::sim
