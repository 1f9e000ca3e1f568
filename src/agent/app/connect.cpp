#include "agent/app/connect.h"

#include <filesystem>
#include <utility>

#include <fmt/format.h>
#include <sys/stat.h>

#include "common/files.h"
#include "common/log.h"
#include "common/net/mqtt.h"

namespace hecs::agent::app {

Result<void> check_ca_file(const std::string& path) {
  auto text = files::read_small(path, enrol::kMaxPemBytes);
  if (!text) {
    return tl::unexpected(std::move(text.error()));
  }
  if (auto cert = crypto::parse_certificate(*text); !cert) {
    return fail(Errc::invalid_input, fmt::format("{}: not a PEM certificate", path));
  }
  return {};
}

Result<void> check_plain_url(const std::string& url) {
  auto parsed = net::parse_mqtt_url(url);
  if (!parsed) {
    return tl::unexpected(std::move(parsed.error()));
  }
  if (parsed->tls) {
    return fail(Errc::invalid_input,
                "mqtts:// comes with an enrolment (give enroll_token); mqtt_url is for a plain "
                "broker");
  }
  return {};
}

Result<Node> open_node(const Config& config) {
  std::error_code ec;
  std::filesystem::create_directories(config.state_dir, ec);
  if (ec) {
    return fail(Errc::unavailable,
                fmt::format("cannot create state dir {}: {}", config.state_dir, ec.message()));
  }
  ::chmod(config.state_dir.c_str(), 0700);
  auto sessions = uplink::SessionCounter::open(config.state_dir);
  if (!sessions) {
    return tl::unexpected(std::move(sessions.error()));
  }
  auto identity = uplink::load_or_create_identity(config.state_dir);
  if (!identity) {
    return tl::unexpected(std::move(identity.error()));
  }
  uplink::OutboxLimits limits;
  limits.max_entries = config.outbox_max_entries;
  auto outbox = uplink::Outbox::open(std::filesystem::path(config.state_dir) / "outbox.db", limits,
                                     /*synchronous_full=*/false);
  if (!outbox) {
    return tl::unexpected(std::move(outbox.error()));
  }
  auto gate = uplink::CommandGate::open(config.state_dir, identity->device_id);
  if (!gate) {
    return tl::unexpected(std::move(gate.error()));
  }
  return Node{std::move(*sessions), std::move(*identity), std::move(*outbox), std::move(*gate)};
}

std::string_view mode_name(Mode::Kind kind) {
  switch (kind) {
    case Mode::enrolled:
      return "enrolled";
    case Mode::enrolling:
      return "enrolling";
    case Mode::plain:
      break;
  }
  return "plain";
}

std::string mode_url(const Mode& mode, const Config& config) {
  switch (mode.kind) {
    case Mode::enrolled:
      return mode.enrolment.mqtt_url;
    case Mode::enrolling:
      return mode.settings.control_url;
    case Mode::plain:
      break;
  }
  return config.mqtt_url;
}

Result<Mode> choose_mode(Config& config, const enrol::Paths& paths) {
  Mode mode;
  auto stored = enrol::load_enrolment(paths);
  if (!stored) {
    return fail(Errc::corrupt, stored.error().message);
  }
  if (*stored) {
    mode.kind = Mode::enrolled;
    mode.enrolment = std::move(**stored);
    return mode;
  }
  enrol::Settings configured{std::move(config.enroll_token), config.control_url,
                             config.control_ca_sha256, config.control_ca_file};
  enrol::Settings from_file;
  if (!config.enroll_file.empty()) {
    auto read = enrol::read_enroll_file(config.enroll_file);
    if (!read && read.error().code != Errc::not_found) {
      return tl::unexpected(std::move(read.error()));
    }
    if (read) {
      from_file = std::move(*read);
    }
  }
  mode.settings = enrol::merge(std::move(configured), from_file);
  if (!mode.settings.token.empty()) {
    if (auto ok = enrol::check_settings(mode.settings); !ok) {
      return tl::unexpected(std::move(ok.error()));
    }
    mode.kind = Mode::enrolling;
    return mode;
  }
  if (config.mqtt_url.empty()) {
    return fail(Errc::invalid_input,
                fmt::format("not enrolled and nothing to connect to: give enroll_token, "
                            "control_url and control_ca_sha256 (or an enroll_file with them{}), "
                            "or a plain mqtt_url",
                            config.enroll_file.empty() ? "" : " at " + config.enroll_file));
  }
  if (auto ok = check_plain_url(config.mqtt_url); !ok) {
    return fail(Errc::invalid_input, "mqtt_url: " + ok.error().message);
  }
  mode.kind = Mode::plain;
  if (!config.command_keys_file.empty()) {
    auto keys = uplink::read_command_keys_file(config.command_keys_file);
    if (!keys) {
      return fail(Errc::invalid_input, "command_keys_file: " + keys.error().message);
    }
    mode.keys = std::move(*keys);
  }
  return mode;
}

Connector::Connector(boost::asio::io_context& io, uplink::Uplink& link, uplink::CommandGate& gate,
                     const std::string& state_dir, std::string device_id)
    : io_(io),
      link_(link),
      gate_(gate),
      paths_(state_dir),
      state_dir_(state_dir),
      device_id_(std::move(device_id)) {
  link_.set_command_handler([this](const proto::Command& command) {
    if (command.type != "certificate" || !renewal_) {
      return other_ && other_(command);
    }
    renewal_->on_certificate(command);
    return true;
  });
}

Result<void> Connector::start(Mode mode, const Config& config) {
  switch (mode.kind) {
    case Mode::enrolled:
      return go_online(mode.enrolment, /*fresh=*/false);
    case Mode::plain:
      return link_.start({config.mqtt_url, std::nullopt});
    case Mode::enrolling:
      break;
  }
  enrol::EnrollerOptions options;
  options.settings = std::move(mode.settings);
  options.state_dir = state_dir_;
  options.device_id = device_id_;
  options.max_delay = std::chrono::seconds(config.enroll_retry_max);
  enroller_ = std::make_unique<enrol::Enroller>(io_, std::move(options), gate_);
  enroller_->start([this](const enrol::Enrolled& enrolled) {
    if (auto r = go_online(enrolled, /*fresh=*/true); !r) {
      log::get("agent")->error("agent.connect_failed error={}", log::quoted(r.error().message));
    }
  });
  return {};
}

// Once enrolled: mTLS to the broker the control plane named, and renewal of the certificate.
Result<void> Connector::go_online(const enrol::Enrolled& enrolled, bool fresh) {
  if (auto r = link_.start({enrolled.mqtt_url, enrolled.tls}); !r) {
    return r;
  }
  renewal_ = std::make_unique<enrol::Renewal>(io_, paths_, device_id_, link_, enrolled.tls, fresh);
  renewal_->start();
  return {};
}

void Connector::stop() {
  if (enroller_) {
    enroller_->stop();
  }
  if (renewal_) {
    renewal_->stop();
  }
}

}  // namespace hecs::agent::app
