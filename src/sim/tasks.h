// The task side of one simulated agent (docs/tasks.md "Agent side"), without running anything:
// a "task" command is answered on up/result with "running", the fake stdout of --task-output
// bytes, then a final "succeeded" (exit code 0) or, for --task-fail-percent of the runs,
// "failed" (exit code 1), --task-latency-ms after "running". A task id is run at most once per
// agent: a repeated command is ignored (counted as tasks_duplicate), and a "cancel" that comes
// first is remembered, so the task never runs. A "cancel" of a run still going reports it
// "cancelled".
//
// Results go through a small outbox, as hecs-agent's go through its SQLite one: each message is
// kept until the control plane's "ack" names its id, and sent again on every new connection and
// when unacknowledged for kResultResendAfter. Nothing survives the process (no journal).
//
// Threading: the io_context's one thread, like the agent that owns it.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>

#include "common/log.h"
#include "common/random.h"
#include "proto/proto.h"
#include "sim/counters.h"
#include "sim/sim.h"

namespace hecs::sim {

// hecs-agent's default (UplinkOptions::resend_after).
inline constexpr std::chrono::seconds kResultResendAfter{60};

// hecs-agent's default output flush (agent::tasks::Options::output_flush), in milliseconds.
inline constexpr int kAgentOutputFlushMs = 200;

class SimTasks {
 public:
  // Hands one up/result payload to the agent's MQTT client (QoS 1); false when it cannot now
  // (link down, in-flight window full): the outbox tries again later.
  using Publish = std::function<bool(const std::string& payload)>;

  // `options`, `counters` and `log` outlive us. `hostname` goes into the fake output.
  SimTasks(boost::asio::io_context& io, const Options& options, Counters& counters, log::Logger log,
           std::string device_id, std::string hostname, std::uint64_t seed, Publish publish);
  SimTasks(const SimTasks&) = delete;
  SimTasks(SimTasks&&) = delete;
  SimTasks& operator=(const SimTasks&) = delete;
  SimTasks& operator=(SimTasks&&) = delete;
  ~SimTasks() = default;

  // Bodies of verified (or, without --command-keys-file, merely parsed) down/cmd commands.
  void on_task(const boost::json::object& body);
  void on_cancel(const boost::json::object& body);
  // Envelope ids the control plane has stored (an "ack"); ids of other messages are ignored.
  void on_ack(const std::vector<std::string>& ids);
  // A new connection: every unacknowledged result goes out again, oldest first.
  void on_connected();
  // The broker acknowledged a publish: room in the in-flight window.
  void on_published();
  // Timers stop; results still unacknowledged are lost with the process.
  void stop();

  std::size_t unacknowledged() const { return outbox_.size(); }

 private:
  struct Entry {
    std::string id;  // the envelope id, what the ack names
    std::string payload;
    bool in_flight = false;
    std::chrono::steady_clock::time_point sent_at{};
  };
  struct Run {
    explicit Run(boost::asio::io_context& io) : timer(io) {}
    boost::asio::steady_timer timer;
    std::int64_t started_at = 0;
    std::uint64_t output_cap = 0;
  };

  void finish(const std::string& task);
  void report(const proto::TaskResult& result);
  std::vector<proto::TaskResult> output_chunks(const std::string& task, std::uint64_t cap) const;
  std::string fake_output(std::size_t bytes) const;
  void pump();
  void arm_resend();

  boost::asio::io_context& io_;
  const Options& options_;
  Counters& counters_;
  log::Logger log_;
  std::string device_id_;
  std::string hostname_;
  Rng rng_;
  Publish publish_;
  std::unordered_set<std::string> seen_;              // task ids received, or cancelled before that
  std::map<std::string, std::unique_ptr<Run>> runs_;  // running, until their final report
  std::deque<Entry> outbox_;
  boost::asio::steady_timer resend_timer_;
  bool resend_armed_ = false;
  bool stopped_ = false;
};

}  // namespace hecs::sim
