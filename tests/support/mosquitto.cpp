#include "support/mosquitto.h"

#include <csignal>
#include <fstream>
#include <stdexcept>

#include <pwd.h>
#include <unistd.h>

namespace hecs::test {

std::unique_ptr<Mosquitto> Mosquitto::start() {
  auto m = std::unique_ptr<Mosquitto>(new Mosquitto());
  m->dir_ = std::make_unique<TempDir>("mosquitto");
  m->port_ = free_port();
  std::ofstream conf(m->dir_->path() / "mosquitto.conf");
  // Plain MQTT on loopback only; TLS and ACLs come with the security issue (issue 4).
  conf << "listener " << m->port_ << " 127.0.0.1\n"
       << "allow_anonymous true\n"
       << "persistence true\n"
       << "persistence_location " << m->dir_->path().string() << "/\n"
       << "max_queued_messages 100000\n"
       << "max_packet_size 1048576\n"  // bounds what one client can make anyone allocate
       // Started as root, Mosquitto would switch to user "mosquitto": that clears the
       // parent-death signal (a crashed test would leak the broker) and leaves it unable to
       // write persistence into our directory. Tests keep it as the user that started it.
       << (::geteuid() == 0 ? "user root\n" : "") << "log_dest stderr\n"
       << "log_type error\nlog_type warning\nlog_type notice\n";
  conf.close();
  m->launch();
  return m;
}

void Mosquitto::launch() {
  process_ =
      Process::spawn({"/usr/sbin/mosquitto", "-c", (dir_->path() / "mosquitto.conf").string()},
                     dir_->path() / "mosquitto.log");
  if (!wait_until([this] { return port_open(port_); }, std::chrono::seconds(10))) {
    throw std::runtime_error("mosquitto did not start: " + process_->log_text());
  }
}

Mosquitto::~Mosquitto() {
  if (process_) {
    process_->signal(SIGKILL);
    process_->wait(std::chrono::seconds(5));
  }
}

std::string Mosquitto::url() const { return "mqtt://127.0.0.1:" + std::to_string(port_); }

void Mosquitto::stop() {
  process_->signal(SIGTERM);
  process_->wait(std::chrono::seconds(10));
}

void Mosquitto::restart() { launch(); }

bool Mosquitto::running() { return process_ && process_->running(); }

}  // namespace hecs::test
