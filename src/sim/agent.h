// One simulated agent of hecs-sim: the messages hecs-agent sends (hello and status on every
// connection, telemetry at an interval, the last will, offline status on a clean stop) and the
// down messages it answers, over its own mqtt::Client. Lives on the io_context's thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/mqtt/client.h"
#include "common/mqtt/tls.h"
#include "common/random.h"
#include "proto/proto.h"
#include "sim/counters.h"
#include "sim/sim.h"

namespace hecs::sim {

class SimAgent final : private mqtt::ClientEvents {
 public:
  // `options`, `shared` and `counters` outlive the agent. Sessions start above `session_base`.
  // `identity`: the agent's client certificate for TLS (empty: none).
  SimAgent(boost::asio::io_context& io, const Options& options, mqtt::ClientShared& shared,
           Counters& counters, std::size_t index, std::uint64_t session_base,
           mqtt::tls::Identity identity = {});

  void start();
  // Sends status offline when connected, then DISCONNECT; `done` runs once the link is closed.
  // Called once.
  void stop(std::function<void()> done);

 private:
  // Down messages by command type (docs/protocol.md, Down messages), given their body. Task
  // commands (issue 6) join here as {"task", &SimAgent::on_task}, with their own knobs (delay,
  // failure rate) in Options and a result sent on up/result.
  struct Command {
    std::string_view type;
    void (SimAgent::*handle)(const boost::json::object& body);
  };
  static const std::array<Command, 2> kCommands;

  std::optional<mqtt::Will> will() override;
  void on_connected() override;
  void on_disconnected() override;
  void on_message(const mqtt::Publish& message) override;
  void on_ack(const boost::json::object& body);
  void on_keys(const boost::json::object& body);

  std::string status(proto::State state) const;
  void send(proto::UpKind kind, const std::string& payload, bool retain);
  void arm(double seconds);
  proto::Hello hello() const;
  proto::Telemetry sample();

  const Options& options_;
  mqtt::ClientShared& shared_;
  Counters& counters_;
  std::size_t index_;
  std::string id_;
  std::uint64_t session_;
  boost::asio::steady_timer timer_;  // the next telemetry sample
  Rng rng_;
  mqtt::tls::Identity identity_;  // before client_, which points to it
  mqtt::Client client_;
  std::uint64_t samples_ = 0, rx_ = 0, tx_ = 0;
};

}  // namespace hecs::sim
