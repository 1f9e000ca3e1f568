#include "common/net/signals.h"

#include <csignal>

#include <boost/asio/signal_set.hpp>

#include "common/log.h"

namespace hecs::net {

struct StopSignals::Impl : std::enable_shared_from_this<Impl> {
  Impl(boost::asio::io_context& io, std::string area_, std::function<void(int)> stop_)
      : stops(io, SIGINT, SIGTERM),
        hangups(io, SIGHUP),
        area(std::move(area_)),
        stop(std::move(stop_)),
        log(log::get(area)) {}

  boost::asio::signal_set stops;
  boost::asio::signal_set hangups;
  std::string area;
  std::function<void(int)> stop;
  log::Logger log;

  void arm_hangup() {
    hangups.async_wait([weak = weak_from_this()](boost::system::error_code ec, int) {
      auto self = weak.lock();
      if (ec || !self) {
        return;
      }
      self->log->warn("{}.reload_unsupported action=\"restart to apply a new configuration\"",
                      self->area);
      self->arm_hangup();
    });
  }
};

StopSignals::StopSignals(boost::asio::io_context& io, std::string area,
                         std::function<void(int)> stop)
    : impl_(std::make_shared<Impl>(io, std::move(area), std::move(stop))) {
  impl_->stops.async_wait(
      [weak = std::weak_ptr<Impl>(impl_)](boost::system::error_code ec, int sig) {
        auto self = weak.lock();
        if (ec || !self) {
          return;
        }
        self->log->info("{}.stopping signal={}", self->area, sig);
        boost::system::error_code ignored;
        self->hangups.cancel(ignored);
        self->stop(sig);
      });
  impl_->arm_hangup();
}

StopSignals::~StopSignals() {
  boost::system::error_code ignored;
  impl_->stops.cancel(ignored);
  impl_->hangups.cancel(ignored);
}

}  // namespace hecs::net
