// Signed down-messages (DESIGN §4): every command the control plane sends is a JWS with a
// sequence number that grows per device and an expiry. Private to src/control/app.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "common/clock.h"
#include "common/mqtt/threaded_client.h"
#include "control/ca/ca.h"

namespace hecs::control::app {

class CommandSender {
 public:
  // `mqtt` may be set later (set_client) but before the first send. All outlive us.
  CommandSender(const ca::Pki& pki, const Clock& clock, std::int64_t lifetime_s)
      : pki_(pki), clock_(clock), lifetime_s_(lifetime_s) {}
  void set_client(mqtt::ThreadedClient* mqtt) { mqtt_ = mqtt; }

  // Signs and publishes (QoS 1) on the device's down/cmd topic. With `known_kids`, signs with
  // the newest of those keys instead of the active one (the "keys" command to a device that
  // missed a rotation); false when it knows none of ours or the client is disconnected.
  bool send(const std::string& device_id, std::string_view type, boost::json::object body,
            const std::optional<std::vector<std::string>>& known_kids = std::nullopt);

 private:
  const ca::Pki& pki_;
  const Clock& clock_;
  std::int64_t lifetime_s_;
  mqtt::ThreadedClient* mqtt_ = nullptr;
  // Sequence numbers come from the clock in microseconds, never below the last one given: they
  // grow across restarts without being stored, and publishing under the same lock keeps them
  // in order on the wire (the agent refuses a seq at or below the highest it accepted).
  std::mutex mutex_;
  std::uint64_t last_seq_ = 0;
};

// On a fresh hello (a new connection): the current command-signing keys, signed with a key
// the device says it holds (hello.command_kids), else with the active key (DESIGN §3).
void send_keys(CommandSender& commands, const ca::Pki& pki, const std::string& device_id,
               const std::string& hello_payload, std::size_t max_bytes);

// An up/event message: "renew" (a CSR from a connected device, DESIGN §3) is answered with a
// signed "certificate" command; other events have no consumer yet. Blocks on the database.
void renew_certificate(ca::Enrolment& enrolment, CommandSender& commands,
                       const std::string& device_id, const std::string& payload,
                       std::size_t max_bytes);

}  // namespace hecs::control::app
