// A scripted MQTT peer on 127.0.0.1 for what a real broker never does (malformed or oversized
// packets, QoS 2 floods, a PINGRESP that never comes): a test drives it with blocking calls from
// its own thread, one connection at a time, whole packets as raw bytes.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <boost/asio/ip/tcp.hpp>

namespace hecs::test {

class FakeBroker {
 public:
  FakeBroker();  // listens on a kernel-picked port
  ~FakeBroker();
  FakeBroker(const FakeBroker&) = delete;
  FakeBroker(FakeBroker&&) = delete;
  FakeBroker& operator=(const FakeBroker&) = delete;
  FakeBroker& operator=(FakeBroker&&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url() const;  // mqtt://127.0.0.1:<port>
  boost::asio::ip::tcp::endpoint endpoint() const;
  // Closes the current connection, if any, and takes the next one; false after `timeout`.
  bool accept(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // One whole packet; "" when the peer closed or nothing came within `timeout`.
  std::string read_packet(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // True when the peer closed the connection within `timeout` (what it sent first is skipped).
  bool closed_by_peer(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Writes everything (EXPECTs success).
  void write(const std::string& bytes);
  // Writes as much as the peer takes; false once it closed or reset the connection, or took
  // nothing for `stall` (the bytes then wait in the kernel's buffers).
  bool try_write(const std::string& bytes,
                 std::chrono::milliseconds stall = std::chrono::seconds(2));
  void close();

 private:
  int listener_ = -1;
  int conn_ = -1;
  std::uint16_t port_ = 0;
};

// Packet bytes, for scripts: {0x20, 2, 0, 0} is a CONNACK that accepts.
std::string bytes(std::initializer_list<int> values);

}  // namespace hecs::test
