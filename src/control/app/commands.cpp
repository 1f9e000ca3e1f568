#include "control/app/commands.h"

#include "common/log.h"
#include "proto/proto.h"

namespace hecs::control::app {

bool CommandSender::send(const std::string& device_id, std::string_view type,
                         boost::json::object body,
                         const std::optional<std::vector<std::string>>& known_kids) {
  proto::Command command;
  command.id = random_uuid();
  command.type = std::string(type);
  command.sub = device_id;
  command.body = std::move(body);
  std::scoped_lock lock(mutex_);
  const std::int64_t now_ms = clock_.now_ms();
  command.seq = std::max(last_seq_ + 1, static_cast<std::uint64_t>(now_ms) * 1000);
  command.iat = now_ms / 1000;
  command.exp = command.iat + lifetime_s_;
  std::string jws;
  if (known_kids) {
    auto signed_text = pki_.sign_with_known(command, *known_kids);
    if (!signed_text) {
      return false;
    }
    jws = std::move(*signed_text);
  } else {
    jws = pki_.sign(command);
  }
  if (mqtt_ == nullptr || !mqtt_->publish(proto::down_cmd_topic(device_id), jws, 1, false)) {
    return false;
  }
  last_seq_ = command.seq;
  return true;
}

void send_keys(CommandSender& commands, const ca::Pki& pki, const std::string& device_id,
               const std::string& hello_payload, std::size_t max_bytes) {
  auto env = proto::parse_envelope(hello_payload, max_bytes);
  auto hello =
      env ? proto::parse_hello(env->body) : Result<proto::Hello>(tl::unexpected(env.error()));
  if (!hello) {
    return;  // ingest rejects and counts it
  }
  auto body = proto::to_json(proto::Keys{pki.verify_keys()});
  std::optional<std::vector<std::string>> known;
  if (!hello->command_kids.empty()) {
    known = hello->command_kids;
  }
  if (!commands.send(device_id, "keys", std::move(body), known) && known) {
    log::get("control.ca")
        ->warn("keys.not_sent device={} reason={}", device_id,
               "\"the device holds none of our signing keys, or the broker is down\"");
  }
}

void renew_certificate(ca::Enrolment& enrolment, CommandSender& commands,
                       const std::string& device_id, const std::string& payload,
                       std::size_t max_bytes) {
  auto log = log::get("control.ca");
  auto env = proto::parse_envelope(payload, max_bytes);
  if (!env || env->type != "renew") {
    log->debug("event.ignored device={} reason={}", device_id,
               log::quoted(env ? "no consumer for this event type yet" : env.error().message));
    return;
  }
  const auto* csr = env->body.if_contains("csr");
  if (csr == nullptr || !csr->is_string() || env->body.size() != 1) {
    log->warn("renew.refused device={} reason={}", device_id,
              log::quoted("body: expected exactly {\"csr\": string}"));
    return;
  }
  auto pem = enrolment.renew(device_id, std::string(csr->as_string()));
  if (!pem) {
    log->warn("renew.refused device={} reason={}", device_id, log::quoted(pem.error().message));
    return;
  }
  if (!commands.send(
          device_id, "certificate",
          boost::json::object{{"certificate", *pem}, {"ca", enrolment.pki().ca_pem()}})) {
    log->warn("renew.not_sent device={} reason=\"broker unavailable\"", device_id);
  }
}

}  // namespace hecs::control::app
