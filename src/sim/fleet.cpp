#include "sim/fleet.h"

#include <algorithm>
#include <iostream>
#include <utility>

#include <fmt/format.h>

#include "common/clock.h"

namespace hecs::sim {
namespace asio = boost::asio;
using std::chrono::milliseconds;

Result<std::unique_ptr<Fleet>> Fleet::create(asio::io_context& io, const Options& options,
                                             FleetSetup setup) {
  auto fleet = std::unique_ptr<Fleet>(new Fleet(io, options, std::move(setup)));
  if (fleet->shared_.tls != nullptr) {
    auto loader = mqtt::tls::IdentityLoader::create();
    if (!loader) {
      return tl::unexpected(loader.error());
    }
    fleet->loader_.emplace(std::move(*loader));
  }
  if (!options.enroll_url.empty()) {
    EnrollOptions enrol;
    enrol.url = options.enroll_url;
    enrol.token = fleet->enroll_token_;
    enrol.concurrency = options.enroll_concurrency;
    auto enroller =
        Enroller::create(io, *fleet->shared_.tls, std::move(enrol),
                         [f = fleet.get()](std::size_t offset, Result<StoredIdentity> result) {
                           f->on_enrolled(offset, std::move(result));
                         });
    if (!enroller) {
      return fail(std::move(enroller.error()), "--enroll-url");
    }
    fleet->enroller_ = std::move(*enroller);
  }
  return fleet;
}

Fleet::Fleet(asio::io_context& io, const Options& options, FleetSetup setup)
    : io_(io),
      options_(options),
      shared_{std::move(setup.broker), counters_},
      state_dir_(std::move(setup.state_dir)),
      enroll_token_(std::move(setup.enroll_token)),
      command_keys_(std::move(setup.command_keys)),
      session_base_(static_cast<std::uint64_t>(SystemClock{}.now_ms())),
      tick_timer_(io),
      progress_timer_(io),
      duration_timer_(io) {
  shared_.tls = setup.tls;
  shared_.host = std::move(setup.tls_host);
  if (!shared_.broker.empty()) {
    shared_.port = shared_.broker.front().port();
  }
  shared_.log = log::get("sim");
  shared_.link_log_level = spdlog::level::debug;  // thousands of agents: counted, not logged
  agents_.reserve(options.count);
}

double Fleet::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
}

std::string Fleet::id_of(std::size_t offset) const {
  return device_id(options_.seed, options_.first_index + offset);
}

void Fleet::start() {
  // Which agents may start now and which must enrol first: two stat() calls per agent, so a
  // fleet that needs enrolling sends its first requests at once. Certificates are read later,
  // one agent at a time, at the pace of the ramp.
  for (std::size_t offset = 0; offset < options_.count; ++offset) {
    if (!shared_.tls || state_dir_->has(id_of(offset))) {
      if (!options_.enroll_only) {
        ready_.push_back({offset, std::nullopt});
      }
    } else if (enroller_) {
      ++to_enrol_;
      enroller_->add(offset, id_of(offset));
    } else {
      count_failure(offset, "no certificate in --state-dir, and no --enroll-url to get one");
    }
  }
  tick();
  progress();
  if (options_.duration > 0) {
    duration_timer_.expires_after(milliseconds(static_cast<long>(options_.duration * 1000)));
    duration_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) {
        stop();
      }
    });
  }
}

void Fleet::stop() {
  if (stop_started_) {
    return;  // a signal during the stop, or the duration ending
  }
  stop_started_ = true;
  if (enroller_) {
    enroller_->stop();
  }
  tick_timer_.cancel();
  progress_timer_.cancel();
  duration_timer_.cancel();
  if (agents_.empty()) {
    io_.stop();
    return;
  }
  stopping_ = agents_.size();
  for (auto& a : agents_) {
    a->stop([this] {
      if (--stopping_ == 0) {
        io_.stop();
      }
    });
  }
}

std::string Fleet::summary() const {
  const auto& c = counters_;
  double total = elapsed();
  return fmt::format(
      "hecs-sim summary: agents={} connections={} reconnections={} messages_sent={} "
      "publish_failures={} seconds={:.1f} msg_per_s={:.0f} acks_received={} "
      "puback_received={} connect_refused={} subscribe_failures={} protocol_errors={} "
      "ping_timeouts={} commands_unknown={} commands_rejected={} tls_failures={} enrolled={} "
      "enroll_failed={} enroll_seconds={:.2f} connect_seconds={:.2f} tasks_started={} "
      "tasks_duplicate={} tasks_succeeded={} tasks_failed={} tasks_cancelled={} results_sent={} "
      "results_acked={} results_resends={}\n",
      agents_.size(), c.connections,
      c.connections > agents_.size() ? c.connections - agents_.size() : 0, c.sent, c.failed, total,
      static_cast<double>(c.sent) / std::max(total, 1e-3), c.acks_received, c.puback_received,
      c.connect_refused, c.subscribe_failed, c.protocol_errors, c.ping_timeouts, c.commands_unknown,
      c.commands_rejected, c.tls_failures, enrolled_, enroll_failed_,
      to_enrol_ > 0 ? enrolled_at_.value_or(-1) : 0.0, connected_at_.value_or(-1), c.tasks_started,
      c.tasks_duplicate, c.tasks_succeeded, c.tasks_failed, c.tasks_cancelled, c.results_sent,
      c.results_acked, c.results_resends);
}

// Every 10 ms until every agent that can be connected is: the ramp, then the milestones, so
// that enroll_seconds and connect_seconds are good to a tick.
void Fleet::tick() {
  ramp();
  check_milestones();
  if (stop_started_ || connected_at_ || (enrolled_at_ && ready_.empty() && target() == 0)) {
    return;  // nothing left to start or to wait for
  }
  tick_timer_.expires_after(milliseconds(10));
  tick_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) {
      tick();
    }
  });
}

// Starts the agents due by now at --ramp per second, counted from the elapsed time, not per
// tick, so a busy loop (a loaded machine) does not slow the ramp down.
void Fleet::ramp() {
  const double allowed = 1 + elapsed() * options_.ramp;
  while (!ready_.empty() && static_cast<double>(agents_.size()) < allowed) {
    Ready next = std::move(ready_.front());
    ready_.pop_front();
    start_agent(std::move(next));
  }
}

void Fleet::start_agent(Ready ready) {
  mqtt::tls::Identity identity;
  if (shared_.tls != nullptr) {
    const std::string id = id_of(ready.offset);
    auto pem =
        ready.issued ? Result<StoredIdentity>(std::move(*ready.issued)) : state_dir_->load(id);
    auto parsed =
        pem ? loader_->load(pem->key_pem, pem->cert_pem, id, SystemClock{}.now_ms() / 1000)
            : Result<mqtt::tls::Identity>(tl::unexpected(pem.error()));
    if (!parsed) {
      if (enroller_ && !ready.issued) {
        shared_.log->warn("sim.certificate_unusable device={} reason={} action=enrol", id,
                          log::quoted(parsed.error().message));
        ++to_enrol_;
        enrolled_at_.reset();
        enroller_->add(ready.offset, id);
      } else {
        count_failure(ready.offset, "stored certificate: " + parsed.error().message);
      }
      return;
    }
    identity = std::move(*parsed);
  }
  agents_.push_back(std::make_unique<SimAgent>(io_, options_, shared_, counters_,
                                               options_.first_index + ready.offset, session_base_,
                                               std::move(identity), command_keys_));
  agents_.back()->start();
}

void Fleet::on_enrolled(std::size_t offset, Result<StoredIdentity> result) {
  if (!result) {
    count_failure(offset, result.error().message);
    return;
  }
  if (auto stored = state_dir_->store(id_of(offset), *result); !stored) {
    count_failure(offset, stored.error().message);
    return;
  }
  ++enrolled_;
  if (!options_.enroll_only) {
    ready_.push_back({offset, std::move(*result)});
  }
}

void Fleet::count_failure(std::size_t offset, std::string_view reason) {
  ++enroll_failed_;
  shared_.log->warn("sim.enroll_failed device={} reason={}", id_of(offset), log::quoted(reason));
}

std::size_t Fleet::target() const {
  return options_.count - std::min(options_.count, enroll_failed_);
}

bool Fleet::enrolment_done() const { return !enroller_ || enroller_->idle(); }

void Fleet::check_milestones() {
  if (!enrolled_at_ && enrolment_done()) {
    enrolled_at_ = elapsed();
    if (to_enrol_ > 0) {
      std::cerr << fmt::format("hecs-sim: all {} agents enrolled in {:.1f} s ({} failed)\n",
                               to_enrol_, *enrolled_at_, enroll_failed_);
    }
    if (options_.enroll_only) {
      stop();
      return;
    }
  }
  const std::size_t all = target();
  if (!connected_at_ && enrolled_at_ && ready_.empty() && all > 0 && agents_.size() == all &&
      counters_.connected == all) {
    connected_at_ = elapsed();
    std::cerr << fmt::format("hecs-sim: all {} agents connected in {:.1f} s\n", all,
                             *connected_at_);
  }
}

// Every second while coming up, then every 10 s.
void Fleet::progress() {
  progress_timer_.expires_after(std::chrono::seconds(connected_at_ ? 10 : 1));
  progress_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) {
      print_progress();
      progress();
    }
  });
}

void Fleet::print_progress() {
  double now = elapsed();
  double span = std::max(now - last_at_, 1e-3);
  double rate = static_cast<double>(counters_.sent - last_sent_) / span;
  double enrol_rate = static_cast<double>(enrolled_ - last_enrolled_) / span;
  last_sent_ = counters_.sent;
  last_enrolled_ = enrolled_;
  last_at_ = now;
  if (!enrolled_at_) {
    std::cerr << fmt::format(
        "hecs-sim: enrolled {} of {} after {:.1f} s ({} failed), {:.0f} per s; {} connected\n",
        enrolled_, to_enrol_, now, enroll_failed_, enrol_rate, counters_.connected);
  } else if (!connected_at_) {
    std::cerr << fmt::format("hecs-sim: connected {} of {} after {:.1f} s, {:.0f} msg/s\n",
                             counters_.connected, target(), now, rate);
  } else {
    std::cerr << fmt::format("hecs-sim: {} connected, {:.0f} msg/s, {} sent\n", counters_.connected,
                             rate, counters_.sent);
  }
}

}  // namespace hecs::sim
