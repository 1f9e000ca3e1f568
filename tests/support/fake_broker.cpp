#include "support/fake_broker.h"

#include <algorithm>
#include <cerrno>

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/mqtt/codec.h"

namespace hecs::test {
namespace {

bool ready(int fd, short events, std::chrono::milliseconds timeout) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

}  // namespace

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) {
    out.push_back(static_cast<char>(v));
  }
  return out;
}

FakeBroker::FakeBroker() {
  listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), len), 0);
  EXPECT_EQ(::listen(listener_, 8), 0);
  EXPECT_EQ(::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  port_ = ntohs(addr.sin_port);
}

FakeBroker::~FakeBroker() {
  close();
  ::close(listener_);
}

std::string FakeBroker::url() const { return "mqtt://127.0.0.1:" + std::to_string(port_); }

boost::asio::ip::tcp::endpoint FakeBroker::endpoint() const {
  return {boost::asio::ip::address_v4::loopback(), port_};
}

bool FakeBroker::accept(std::chrono::milliseconds timeout) {
  close();
  if (!ready(listener_, POLLIN, timeout)) {
    return false;
  }
  conn_ = ::accept(listener_, nullptr, nullptr);
  return conn_ >= 0;
}

std::string FakeBroker::read_packet(std::chrono::milliseconds timeout) {
  std::string packet;
  for (;;) {
    auto decoded = mqtt::decode_remaining_length(
        std::string_view(packet).substr(std::min<std::size_t>(1, packet.size())));
    if (!packet.empty() && decoded && *decoded &&
        packet.size() == 1 + (*decoded)->bytes + (*decoded)->value) {
      return packet;
    }
    char c = 0;
    if (!ready(conn_, POLLIN, timeout) || ::recv(conn_, &c, 1, 0) != 1) {
      return {};
    }
    packet.push_back(c);
  }
}

bool FakeBroker::closed_by_peer(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() < 0 || !ready(conn_, POLLIN, left)) {
      return false;
    }
    auto n = ::recv(conn_, buffer, sizeof buffer, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) {
      return true;
    }
  }
}

void FakeBroker::write(const std::string& data) {
  EXPECT_EQ(::send(conn_, data.data(), data.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(data.size()));
}

bool FakeBroker::try_write(const std::string& data, std::chrono::milliseconds stall) {
  std::size_t done = 0;
  while (done < data.size()) {
    if (!ready(conn_, POLLOUT, stall)) {
      return false;
    }
    auto n = ::send(conn_, data.data() + done, data.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

void FakeBroker::close() {
  if (conn_ >= 0) {
    ::close(conn_);
    conn_ = -1;
  }
}

}  // namespace hecs::test
