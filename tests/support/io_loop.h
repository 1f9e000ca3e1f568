// An io_context running on a thread of its own and a worker pool, as hecs-control has them, for
// tests of code that posts to both. The destructor stops the loop and joins both: declare it
// after what the posted work uses, so that it goes first.
#pragma once

#include <cstddef>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

namespace hecs::test {

class IoLoop {
 public:
  explicit IoLoop(std::size_t workers = 2) : workers_(workers), thread_([this] { io_.run(); }) {}
  ~IoLoop() {
    guard_.reset();
    io_.stop();
    thread_.join();
    workers_.join();
  }
  IoLoop(const IoLoop&) = delete;
  IoLoop& operator=(const IoLoop&) = delete;

  boost::asio::io_context& io() { return io_; }
  boost::asio::thread_pool& workers() { return workers_; }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_ =
      boost::asio::make_work_guard(io_);
  boost::asio::thread_pool workers_;
  std::thread thread_;  // last: it runs io_
};

}  // namespace hecs::test
