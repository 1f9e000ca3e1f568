// A real Mosquitto broker for tests: its own config, persistence dir and free loopback port.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "support/process.h"
#include "support/tempdir.h"

namespace hecs::test {

class Mosquitto {
 public:
  static std::unique_ptr<Mosquitto> start();  // throws when it does not come up in 10 s
  ~Mosquitto();
  std::string url() const;  // "mqtt://127.0.0.1:<port>"
  std::uint16_t port() const { return port_; }
  void stop();     // SIGTERM: saves retained messages and sessions, as a service stop does
  void restart();  // same port, same persistence
  bool running();

 private:
  Mosquitto() = default;
  void launch();
  std::unique_ptr<TempDir> dir_;
  std::uint16_t port_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace hecs::test
