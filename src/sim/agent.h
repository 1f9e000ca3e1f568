// One simulated agent of hecs-sim: the messages hecs-agent sends (hello and status on every
// connection, telemetry at an interval, the last will, offline status on a clean stop) and the
// down messages it answers (acks, keys, tasks and cancels: sim/tasks.h), over its own
// mqtt::Client. Lives on the io_context's thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
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
#include "sim/tasks.h"

namespace hecs::sim {

class SimAgent final : private mqtt::ClientEvents {
 public:
  // `options`, `shared` and `counters` outlive the agent. Sessions start above `session_base`.
  // `identity`: the agent's client certificate for TLS (empty: none). `keys`: the command-signing
  // keys every down/cmd message must verify with (null: commands are read unverified).
  SimAgent(boost::asio::io_context& io, const Options& options, mqtt::ClientShared& shared,
           Counters& counters, std::size_t index, std::uint64_t session_base,
           mqtt::tls::Identity identity = {},
           std::shared_ptr<const std::vector<proto::VerifyKey>> keys = nullptr);

  void start();
  // Sends status offline when connected, then DISCONNECT; `done` runs once the link is closed.
  // Called once.
  void stop(std::function<void()> done);

 private:
  // Down messages by command type (docs/protocol.md, Down messages), given their body.
  struct Command {
    std::string_view type;
    void (SimAgent::*handle)(const boost::json::object& body);
  };
  static const std::array<Command, 4> kCommands;

  std::optional<mqtt::Will> will() override;
  void on_connected() override;
  void on_disconnected() override;
  void on_message(const mqtt::Publish& message) override;
  void on_published(std::uint16_t packet_id) override;
  // The type and body of a down/cmd payload, verified when the agent holds keys; counted and
  // logged when refused.
  std::optional<std::pair<std::string, boost::json::object>> read_command(std::string_view jws);
  void on_ack(const boost::json::object& body);
  void on_keys(const boost::json::object& body);
  void on_task(const boost::json::object& body);
  void on_cancel(const boost::json::object& body);
  SimTasks& tasks();  // made on the first task command: most fleets never get one

  std::string status(proto::State state) const;
  void send(proto::UpKind kind, const std::string& payload, bool retain);
  void arm(double seconds);
  proto::Hello hello() const;
  proto::Telemetry sample();

  boost::asio::io_context& io_;
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
  std::shared_ptr<const std::vector<proto::VerifyKey>> keys_;  // shared until a "keys" command
  std::uint64_t last_seq_ = 0;  // highest seq accepted (verifying agents only)
  std::unique_ptr<SimTasks> tasks_;
  std::uint64_t samples_ = 0, rx_ = 0, tx_ = 0;
};

}  // namespace hecs::sim
