// How a HECS daemon ends: SIGINT or SIGTERM run `stop` once; SIGHUP, which would otherwise end
// the process, is logged and ignored until configuration reload exists.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

namespace hecs::net {

class StopSignals {
 public:
  // `area` names the log lines ("control" → "control.stopping"). Lives on `io`'s thread.
  StopSignals(boost::asio::io_context& io, std::string area, std::function<void(int)> stop);
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace hecs::net
