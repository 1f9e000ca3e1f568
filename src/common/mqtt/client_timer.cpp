// Client's one timer (client.h): the deadline of a connection attempt, the keepalive,
// the retry after a backoff, and the bound on a clean stop.
#include "common/mqtt/client.h"

namespace hecs::mqtt {
using boost::system::error_code;

void Client::arm_timer(Clock::time_point deadline) {
  deadline_ = deadline;
  timer_.expires_at(deadline);
  timer_.async_wait([this](error_code ec) {
    if (ec) {
      return;  // re-armed or cancelled
    }
    if (Clock::now() < deadline_) {  // an expiry that raced with re-arming
      arm_timer(deadline_);
      return;
    }
    on_deadline();
  });
}

void Client::on_deadline() {
  switch (state_) {
    case State::waiting:
      attempt();
      break;
    case State::connecting:
    case State::handshaking:
      drop(spdlog::level::info, "no CONNACK within the keepalive");
      break;
    case State::connected:
      check_keepalive();
      break;
    case State::stopping:
      finish_stop();
      break;
    case State::idle:
    case State::stopped:
      break;
  }
}

// As libmosquitto does: a PINGREQ once nothing went out or nothing came in for a keepalive, and
// the link is dead when its PINGRESP has not come one keepalive later.
void Client::check_keepalive() {
  auto now = Clock::now();
  if (ping_outstanding_ && now >= ping_sent_ + keepalive_) {
    ++shared_.counters.ping_timeouts;
    drop(spdlog::level::warn, "no PINGRESP within the keepalive");
    return;
  }
  if (!ping_outstanding_ && (now >= last_out_ + keepalive_ || now >= last_in_ + keepalive_)) {
    mqtt::append_pingreq(out_);
    ping_outstanding_ = true;
    ping_sent_ = last_out_ = now;
    flush();
  }
  arm_timer(ping_outstanding_ ? ping_sent_ + keepalive_
                              : std::min(last_out_, last_in_) + keepalive_);
}

}  // namespace hecs::mqtt
