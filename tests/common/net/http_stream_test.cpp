// Streamed responses (Response::stream, server-sent events) from the real HttpServer on
// loopback, over HTTP and HTTPS, read byte for byte by a client on its own io_context.
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/crypto/crypto.h"
#include "common/net/http.h"
#include "support/tempdir.h"

namespace hecs::net {
namespace {
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;
using std::chrono::seconds;
using ErrorCode = boost::system::error_code;
using Deliver = std::function<void(std::optional<std::string>)>;

constexpr auto kWait = seconds(5);  // the bound on every step a test waits for

std::string chunk(std::string_view text) {
  return fmt::format("{:x}\r\n{}\r\n", text.size(), text);
}

// A BodyStream the test drives: it records pulls and closes, and the test answers the pending
// pull from its own thread.
class ScriptedStream : public BodyStream {
 public:
  void pull(Deliver deliver) override {
    std::scoped_lock lock(mutex_);
    ++pulls_;
    pending_ = std::move(deliver);
    changed_.notify_all();
  }
  void close() override {
    std::scoped_lock lock(mutex_);
    ++closes_;
    changed_.notify_all();
  }

  // The deliver of the pending pull, once the server pulled; empty after `timeout`.
  Deliver take_pull(milliseconds timeout = kWait) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [this] { return pending_ != nullptr; });
    return std::exchange(pending_, nullptr);
  }
  bool answer(std::optional<std::string> piece) {
    auto deliver = take_pull();
    if (!deliver) {
      return false;
    }
    deliver(std::move(piece));
    return true;
  }
  bool wait_closed(milliseconds timeout = kWait) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [this] { return closes_ > 0; });
  }
  int pulls() {
    std::scoped_lock lock(mutex_);
    return pulls_;
  }
  int closes() {
    std::scoped_lock lock(mutex_);
    return closes_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  Deliver pending_;
  int pulls_ = 0;
  int closes_ = 0;
};

// One client connection, plain or TLS (no certificate check: the server side is under test).
// Each step runs the client's own io_context for at most kWait.
class Client {
 public:
  Client(std::uint16_t port, bool tls) : tls_(tls), stream_(io_, context_) {
    ErrorCode ec;
    stream_.next_layer().connect({asio::ip::make_address("127.0.0.1"), port}, ec);
    connected_ = !ec;
    if (connected_ && tls_) {
      connected_ = !step([this](auto done) {
        stream_.async_handshake(ssl::stream_base::client,
                                [done](ErrorCode e) mutable { done(e, 0); });
      });
    }
  }
  bool connected() const { return connected_; }

  bool send(const std::string& text) {
    return !step([&](auto done) {
      if (tls_) {
        asio::async_write(stream_, asio::buffer(text), done);
      } else {
        asio::async_write(stream_.next_layer(), asio::buffer(text), done);
      }
    });
  }
  bool get(std::string_view target, std::string_view method = "GET",
           std::string_view version = "1.1") {
    return send(fmt::format("{} {} HTTP/{}\r\nHost: localhost\r\n\r\n", method, target, version));
  }

  // Everything up to and including `text`, once it arrived; what follows stays for later.
  std::optional<std::string> read_until(std::string_view text) {
    while (received_.find(text) == std::string::npos) {
      if (!read_more()) {
        return std::nullopt;
      }
    }
    auto end = received_.find(text) + text.size();
    auto out = received_.substr(0, end);
    received_.erase(0, end);
    return out;
  }
  std::optional<std::string> head() { return read_until("\r\n\r\n"); }

  // A response with a Content-Length body: head and body.
  std::optional<std::pair<std::string, std::string>> sized_response() {
    auto text = head();
    if (!text) {
      return std::nullopt;
    }
    constexpr std::string_view kLength = "Content-Length: ";
    auto at = text->find(kLength);
    std::size_t length = 0;
    if (at == std::string::npos ||
        std::from_chars(text->data() + at + kLength.size(), text->data() + text->size(), length)
                .ec != std::errc()) {
      return std::nullopt;
    }
    while (received_.size() < length) {
      if (!read_more()) {
        return std::nullopt;
      }
    }
    auto body = received_.substr(0, length);
    received_.erase(0, length);
    return std::pair{*text, body};
  }

  // True when the server ends the connection within kWait (and sends nothing more meanwhile).
  bool closed_by_server() {
    while (read_more()) {
    }
    return last_error_ != asio::error::timed_out;
  }
  const std::string& unread() const { return received_; }

  void close() {
    ErrorCode ignored;
    stream_.next_layer().close(ignored);
  }

 private:
  bool read_more() {
    std::array<char, std::size_t{16} * 1024> buffer{};
    std::size_t got = 0;
    last_error_ = step([&](auto done) {
      auto on_read = [&got, done](ErrorCode e, std::size_t n) mutable {
        got = n;
        done(e, n);
      };
      if (tls_) {
        stream_.async_read_some(asio::buffer(buffer), on_read);
      } else {
        stream_.next_layer().async_read_some(asio::buffer(buffer), on_read);
      }
    });
    received_.append(buffer.data(), got);
    return !last_error_;
  }

  template <class Start>
  ErrorCode step(Start start) {
    std::optional<ErrorCode> result;
    start([&result](ErrorCode e, std::size_t) { result = e; });
    io_.restart();
    io_.run_for(kWait);
    if (!result) {
      ErrorCode ignored;
      stream_.next_layer().cancel(ignored);
      io_.restart();
      io_.run();
      return asio::error::timed_out;
    }
    return *result;
  }

  bool tls_;
  asio::io_context io_;
  ssl::context context_{ssl::context::tls_client};
  ssl::stream<tcp::socket> stream_;
  bool connected_ = false;
  std::string received_;
  ErrorCode last_error_;
};

// The server on loopback with a handler that answers /plain with a sized body and anything
// else with a new ScriptedStream. The parameter says HTTPS.
class HttpStream : public ::testing::TestWithParam<bool> {
 protected:
  // A server certificate from a fresh test CA, in files for HttpTls (the client trusts anything).
  HttpTls make_certificate() {
    auto now = static_cast<std::int64_t>(std::time(nullptr));
    auto ca = crypto::CertificateAuthority::create("HECS test CA", now - 3600, now + 86400);
    if (!ca) {
      ADD_FAILURE() << ca.error().message;
      return {};
    }
    auto key = crypto::generate_p256_key();
    crypto::CertRequest request;
    request.common_name = "localhost";
    request.dns_names = {"localhost"};
    request.ip_addresses = {"127.0.0.1"};
    request.usage = crypto::CertUsage::server;
    request.not_before = now - 60;
    request.not_after = now + 3600;
    auto cert = ca->issue(key.public_pem, request);
    EXPECT_TRUE(cert);
    HttpTls files{(dir_.path() / "server.pem").string(), (dir_.path() / "server.key").string()};
    std::ofstream(files.cert_file) << cert.value_or("");
    std::ofstream(files.key_file) << key.private_pem;
    return files;
  }

  void start(HttpLimits limits = {}) {
    std::optional<HttpTls> tls;
    if (GetParam()) {
      tls = make_certificate();
    }
    auto server = HttpServer::create(
        io_, workers_, "127.0.0.1:0", [this](const Request& req) { return handle(req); }, limits,
        tls);
    ASSERT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    server_.reset();
    work_.reset();
    io_.stop();
    if (thread_.joinable()) {
      thread_.join();
    }
    workers_.join();
  }

  Client connect() { return Client(server_->port(), GetParam()); }

  // The stream the handler made for the n-th streamed request (0-based), once it exists.
  std::shared_ptr<ScriptedStream> stream(std::size_t n) {
    std::unique_lock lock(mutex_);
    made_.wait_for(lock, kWait, [&] { return streams_.size() > n; });
    return streams_.size() > n ? streams_[n] : nullptr;
  }

  Response handle(const Request& req) {
    Response r;
    if (req.path == "/plain") {
      r.content_type = "text/plain";
      r.body = "plain";
      return r;
    }
    auto s = std::make_shared<ScriptedStream>();
    {
      std::scoped_lock lock(mutex_);
      streams_.push_back(s);
    }
    made_.notify_all();
    r.content_type = "text/event-stream";
    r.body = "never sent";
    r.stream = s;
    return r;
  }

  hecs::test::TempDir dir_{"http-stream"};
  std::mutex mutex_;
  std::condition_variable made_;
  std::vector<std::shared_ptr<ScriptedStream>> streams_;  // guarded by mutex_
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  asio::thread_pool workers_{2};
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

TEST_P(HttpStream, SendsTheHeadOfAStreamWithChunkedEncodingAndNoBuffering) {
  start();
  auto client = connect();
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.get("/events"));
  auto head = client.head();
  ASSERT_TRUE(head);
  EXPECT_TRUE(head->starts_with("HTTP/1.1 200 OK\r\n")) << *head;
  EXPECT_NE(head->find("Content-Type: text/event-stream\r\n"), std::string::npos) << *head;
  EXPECT_NE(head->find("Transfer-Encoding: chunked\r\n"), std::string::npos) << *head;
  EXPECT_NE(head->find("Cache-Control: no-store\r\n"), std::string::npos) << *head;
  EXPECT_NE(head->find("X-Accel-Buffering: no\r\n"), std::string::npos) << *head;
  EXPECT_EQ(head->find("Content-Length"), std::string::npos) << *head;
  ASSERT_TRUE(stream(0)->answer(std::nullopt));
  EXPECT_EQ(client.read_until("0\r\n\r\n"), "0\r\n\r\n");  // the ignored body never went out
}

TEST_P(HttpStream, SendsEachPieceAsOneChunkInTheOrderProducedOnAnotherThread) {
  start();
  auto client = connect();
  ASSERT_TRUE(client.get("/events"));
  ASSERT_TRUE(client.head());
  auto events = stream(0);
  std::string expected;
  for (int i = 0; i < 50; ++i) {
    expected += chunk(fmt::format("id: {}\ndata: {{\"n\":{}}}\n\n", i, i));
  }
  std::atomic<bool> all_answered{true};
  std::thread producer([&] {
    for (int i = 0; i < 50; ++i) {
      if (!events->answer(fmt::format("id: {}\ndata: {{\"n\":{}}}\n\n", i, i))) {
        all_answered = false;
        return;
      }
    }
  });
  auto body = client.read_until(chunk("id: 49\ndata: {\"n\":49}\n\n"));
  producer.join();
  EXPECT_TRUE(all_answered);
  EXPECT_EQ(body, expected);
}

TEST_P(HttpStream, SendsAKeepaliveCommentForAnEmptyPiece) {
  start();
  auto client = connect();
  ASSERT_TRUE(client.get("/events"));
  ASSERT_TRUE(client.head());
  ASSERT_TRUE(stream(0)->answer(""));
  ASSERT_TRUE(stream(0)->answer("data: after\n\n"));
  EXPECT_EQ(client.read_until("after\n\n\r\n"),
            chunk(": keepalive\n\n") + chunk("data: after\n\n"));
}

TEST_P(HttpStream, EndsTheBodyOnNulloptAndServesTheNextRequestOnTheSameConnection) {
  start();
  auto client = connect();
  ASSERT_TRUE(client.get("/events"));
  ASSERT_TRUE(client.head());
  auto events = stream(0);
  ASSERT_TRUE(events->answer("data: only\n\n"));
  ASSERT_TRUE(events->answer(std::nullopt));
  EXPECT_EQ(client.read_until("0\r\n\r\n"), chunk("data: only\n\n") + "0\r\n\r\n");
  EXPECT_TRUE(events->wait_closed());

  ASSERT_TRUE(client.get("/plain"));
  auto plain = client.sized_response();
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->second, "plain");
  ASSERT_TRUE(client.get("/events"));  // and another stream after that
  ASSERT_TRUE(client.head());
  ASSERT_TRUE(stream(1)->answer("data: again\n\n"));
  EXPECT_EQ(client.read_until("again\n\n\r\n"), chunk("data: again\n\n"));
  EXPECT_EQ(events->pulls(), 2);
  EXPECT_EQ(events->closes(), 1);
}

TEST_P(HttpStream, ClosesTheStreamWithinASecondOfTheClientGoingAway) {
  start();
  auto client = connect();
  ASSERT_TRUE(client.get("/events"));
  ASSERT_TRUE(client.head());
  auto events = stream(0);
  ASSERT_TRUE(events->answer("data: one\n\n"));
  ASSERT_TRUE(client.read_until("one\n\n\r\n"));
  auto pending = events->take_pull();  // the stream has nothing new: no write will fail
  ASSERT_TRUE(pending);
  client.close();
  EXPECT_TRUE(events->wait_closed(milliseconds(1000)));
  pending("data: too late\n\n");  // after close(): harmless
  EXPECT_EQ(events->closes(), 1);
}

TEST_P(HttpStream, KeepsAQuietStreamOpenPastTheReadTimeout) {
  start({.read_timeout = seconds(1)});
  auto client = connect();
  ASSERT_TRUE(client.get("/events"));
  ASSERT_TRUE(client.head());
  auto events = stream(0);
  auto pending = events->take_pull();
  ASSERT_TRUE(pending);
  // Real time: the server's timers are Beast's, on the steady clock.
  std::this_thread::sleep_for(milliseconds(1500));
  pending("data: still here\n\n");
  EXPECT_EQ(client.read_until("here\n\n\r\n"), chunk("data: still here\n\n"));
  EXPECT_EQ(events->closes(), 0);
}

TEST_P(HttpStream, ClosesAStreamWhoseClientStopsReadingAfterTheWriteTimeout) {
  start({.read_timeout = seconds(1)});
  auto client = connect();
  ASSERT_TRUE(client.get("/events"));
  ASSERT_TRUE(client.head());
  auto events = stream(0);
  // The client reads nothing more: once the socket buffers are full a write waits, and is cut.
  const std::string big(std::size_t{1024} * 1024, 'x');
  for (int i = 0; i < 64; ++i) {
    auto deliver = events->take_pull(seconds(3));
    if (!deliver) {
      break;
    }
    deliver("data: " + big + "\n\n");
  }
  EXPECT_TRUE(events->wait_closed());
}

TEST_P(HttpStream, RefusesAStreamOverMaxStreamsWith503AndClosesIt) {
  start({.max_streams = 1});
  auto first = connect();
  ASSERT_TRUE(first.get("/events"));
  ASSERT_TRUE(first.head());

  auto second = connect();
  ASSERT_TRUE(second.get("/events"));
  auto refused = second.sized_response();
  ASSERT_TRUE(refused);
  EXPECT_TRUE(refused->first.starts_with("HTTP/1.1 503 ")) << refused->first;
  EXPECT_NE(refused->first.find("Retry-After: 5\r\n"), std::string::npos) << refused->first;
  EXPECT_NE(refused->second.find(R"("code":"unavailable")"), std::string::npos);
  EXPECT_TRUE(stream(1)->wait_closed());
  EXPECT_EQ(stream(1)->pulls(), 0);

  ASSERT_TRUE(stream(0)->answer(std::nullopt));  // frees the slot
  ASSERT_TRUE(first.read_until("0\r\n\r\n"));
  ASSERT_TRUE(stream(0)->wait_closed());
  auto third = connect();
  ASSERT_TRUE(third.get("/events"));
  auto head = third.head();
  ASSERT_TRUE(head);
  EXPECT_TRUE(head->starts_with("HTTP/1.1 200 OK\r\n")) << *head;
}

TEST_P(HttpStream, AnswersHeadWithTheHeadersOnlyAndClosesTheStream) {
  start();
  auto client = connect();
  ASSERT_TRUE(client.get("/events", "HEAD"));
  auto head = client.head();
  ASSERT_TRUE(head);
  EXPECT_TRUE(head->starts_with("HTTP/1.1 200 OK\r\n")) << *head;
  EXPECT_NE(head->find("Transfer-Encoding: chunked\r\n"), std::string::npos) << *head;
  EXPECT_TRUE(stream(0)->wait_closed());
  EXPECT_EQ(stream(0)->pulls(), 0);
  ASSERT_TRUE(client.get("/plain"));  // nothing of a body came before the next answer
  auto plain = client.sized_response();
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->first.starts_with("HTTP/1.1 200 OK\r\n")) << plain->first;
  EXPECT_EQ(plain->second, "plain");
}

TEST_P(HttpStream, LeavesAPlainResponseAsItWas) {
  start();
  auto client = connect();
  ASSERT_TRUE(client.get("/plain"));
  auto plain = client.sized_response();
  ASSERT_TRUE(plain);
  EXPECT_NE(plain->first.find("Content-Length: 5\r\n"), std::string::npos) << plain->first;
  EXPECT_EQ(plain->first.find("Transfer-Encoding"), std::string::npos) << plain->first;
  EXPECT_EQ(plain->first.find("X-Accel-Buffering"), std::string::npos) << plain->first;
  EXPECT_EQ(plain->second, "plain");
  EXPECT_EQ(client.unread(), "");
}

TEST_P(HttpStream, SendsTheRawBodyToAnHttp10ClientAndEndsItByClosing) {
  start();
  auto client = connect();
  ASSERT_TRUE(client.get("/events", "GET", "1.0"));
  auto head = client.head();
  ASSERT_TRUE(head);
  EXPECT_TRUE(head->starts_with("HTTP/1.0 200 OK\r\n")) << *head;
  EXPECT_EQ(head->find("Transfer-Encoding"), std::string::npos) << *head;
  auto events = stream(0);
  ASSERT_TRUE(events->answer("data: a\n\n"));
  ASSERT_TRUE(events->answer(std::nullopt));
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_EQ(client.unread(), "data: a\n\n");
  EXPECT_TRUE(events->wait_closed());
}

TEST_P(HttpStream, StopClosesEveryOpenStreamAndItsConnection) {
  start();
  auto first = connect();
  auto second = connect();
  ASSERT_TRUE(first.get("/events"));
  ASSERT_TRUE(second.get("/events"));
  ASSERT_TRUE(first.head());
  ASSERT_TRUE(second.head());
  auto pending = stream(0)->take_pull();
  ASSERT_TRUE(pending);
  ASSERT_TRUE(stream(1)->take_pull());
  server_->stop();
  EXPECT_EQ(stream(0)->closes(), 1);  // by the time stop() returns
  EXPECT_EQ(stream(1)->closes(), 1);
  EXPECT_TRUE(first.closed_by_server());
  EXPECT_TRUE(second.closed_by_server());
  pending("data: too late\n\n");  // harmless
  EXPECT_EQ(first.unread(), "");
}

INSTANTIATE_TEST_SUITE_P(Transports, HttpStream, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "Https" : "Http"; });

}  // namespace
}  // namespace hecs::net
