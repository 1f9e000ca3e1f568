// How the agent reaches its control plane (module-internal): the state in STATE_DIR, the choice
// between enrolled, enrolling and plain mode, and what each mode starts.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>

#include "agent/app/app.h"
#include "agent/enrol/enrol.h"
#include "agent/uplink/uplink.h"
#include "common/result.h"

namespace hecs::agent::app {

// Checks of flag values (CLI11 validators).
Result<void> check_ca_file(const std::string& path);
Result<void> check_plain_url(const std::string& url);

// What lives in STATE_DIR (made 0700): session counter, device id, outbox, command gate.
struct Node {
  uplink::SessionCounter sessions;
  uplink::Identity identity;
  std::unique_ptr<uplink::Outbox> outbox;
  std::unique_ptr<uplink::CommandGate> gate;
};
Result<Node> open_node(const Config& config);

struct Mode {
  enum Kind { enrolled, enrolling, plain } kind = plain;
  enrol::Enrolled enrolment;        // enrolled
  enrol::Settings settings;         // enrolling
  std::optional<proto::Keys> keys;  // plain, from command_keys_file
};
std::string_view mode_name(Mode::Kind kind);
// Where the mode connects first: the broker, or the control plane while enrolling.
std::string mode_url(const Mode& mode, const Config& config);

// An enrolment stored in STATE_DIR wins; else a token (configured, or in enroll_file) enrols;
// else a plain mqtt:// URL. Moves the token out of `config`. Errc::invalid_input for a
// configuration that cannot work (exit 2); other errors fail start-up (exit 1).
Result<Mode> choose_mode(Config& config, const enrol::Paths& paths);

// Starts the uplink as the mode says, with the enrolment or the certificate renewal that goes
// with it. Lives on the io thread; `link` and `gate` outlive it.
class Connector {
 public:
  Connector(boost::asio::io_context& io, uplink::Uplink& link, uplink::CommandGate& gate,
            const std::string& state_dir, std::string device_id);
  // Errc::invalid_input when the uplink cannot start (a bad URL or unreadable TLS files).
  Result<void> start(Mode mode, const Config& config);
  void stop();
  // Commands other than "certificate" (tasks); returns false for a type it does not handle.
  void on_command(std::function<bool(const proto::Command&)> handler) {
    other_ = std::move(handler);
  }

 private:
  Result<void> go_online(const enrol::Enrolled& enrolled, bool fresh);

  boost::asio::io_context& io_;
  uplink::Uplink& link_;
  uplink::CommandGate& gate_;
  enrol::Paths paths_;
  std::string state_dir_, device_id_;
  std::unique_ptr<enrol::Enroller> enroller_;
  std::unique_ptr<enrol::Renewal> renewal_;
  std::function<bool(const proto::Command&)> other_;
};

}  // namespace hecs::agent::app
