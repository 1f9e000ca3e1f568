// The fleet of one hecs-sim process, on one io_context: which agents start when (the ramp), the
// enrolment of those with no certificate yet, progress lines, the clean stop and the summary.
//
// Threading: the io_context's one thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/mqtt/client.h"
#include "common/mqtt/tls.h"
#include "common/result.h"
#include "sim/agent.h"
#include "sim/counters.h"
#include "sim/enroll.h"
#include "sim/sim.h"
#include "sim/state_dir.h"

namespace hecs::sim {

struct FleetSetup {
  std::vector<boost::asio::ip::tcp::endpoint> broker;
  const mqtt::tls::Context* tls = nullptr;  // mqtts:// and enrolment; outlives the fleet
  std::string tls_host;                     // what the broker's certificate must name
  std::optional<StateDir> state_dir;        // with tls
  std::string enroll_token;                 // with Options::enroll_url
  // Options::command_keys_file, read: every agent starts with these (null: no verification).
  std::shared_ptr<const std::vector<proto::VerifyKey>> command_keys;
};

class Fleet {
 public:
  // `options` outlives the fleet. Errc from Enroller::create (an unresolvable host) and
  // mqtt::tls::IdentityLoader::create.
  static Result<std::unique_ptr<Fleet>> create(boost::asio::io_context& io, const Options& options,
                                               FleetSetup setup);
  Fleet(const Fleet&) = delete;
  Fleet(Fleet&&) = delete;
  Fleet& operator=(const Fleet&) = delete;
  Fleet& operator=(Fleet&&) = delete;
  ~Fleet() = default;

  void start();
  // Every agent sends its offline status and disconnects; the loop stops once all are closed.
  void stop();
  // One line; fields are only ever added at the end: scripts read it.
  std::string summary() const;

 private:
  Fleet(boost::asio::io_context& io, const Options& options, FleetSetup setup);

  // An agent that may start: its certificate is in the state dir, or was just issued, or it
  // needs none (plain MQTT).
  struct Ready {
    std::size_t offset = 0;  // from --first-index
    std::optional<StoredIdentity> issued;
  };

  double elapsed() const;
  std::string id_of(std::size_t offset) const;
  void tick();
  void ramp();
  void start_agent(Ready ready);
  void on_enrolled(std::size_t offset, Result<StoredIdentity> result);
  void count_failure(std::size_t offset, std::string_view reason);
  bool enrolment_done() const;
  std::size_t target() const;  // agents that can connect: those not failed at enrolment
  void check_milestones();
  void progress();
  void print_progress();

  boost::asio::io_context& io_;
  const Options& options_;
  Counters counters_;
  mqtt::ClientShared shared_;
  std::optional<StateDir> state_dir_;
  std::optional<mqtt::tls::IdentityLoader> loader_;  // with tls
  std::string enroll_token_;
  std::shared_ptr<const std::vector<proto::VerifyKey>> command_keys_;
  std::unique_ptr<Enroller> enroller_;
  // Session numbers start at the wall clock, so a later run's sessions are above an earlier
  // run's for the same device ids (S28).
  const std::uint64_t session_base_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::deque<Ready> ready_;
  std::vector<std::unique_ptr<SimAgent>> agents_;
  boost::asio::steady_timer tick_timer_, progress_timer_, duration_timer_;
  std::size_t to_enrol_ = 0, enrolled_ = 0, enroll_failed_ = 0;
  std::optional<double> enrolled_at_, connected_at_;  // seconds after start
  std::uint64_t last_sent_ = 0;
  std::size_t last_enrolled_ = 0;
  double last_at_ = 0;
  bool stop_started_ = false;
  std::size_t stopping_ = 0;
};

}  // namespace hecs::sim
