// The flags of hecs-sim and the checks that span several of them.
#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include "common/config/config.h"
#include "common/files.h"
#include "common/net/mqtt.h"
#include "sim/enroll.h"
#include "sim/sim.h"

namespace hecs::sim {

void add_flags(CLI::App& cli, Options& o) {
  cli.add_option("--count", o.count,
                 fmt::format("Simulated agents, each with its own MQTT connection and one "
                             "descriptor: the process needs count + {} descriptors",
                             kDescriptorMargin))
      ->check(CLI::Range(std::size_t{1}, kMaxCount))
      ->capture_default_str();
  cli.add_option("--mqtt-url", o.mqtt_url,
                 "Broker URL: mqtt://host:port, or mqtts://host:port for mTLS (with --ca-file and "
                 "--state-dir; the broker's certificate must name host)")
      ->check(config::checked_by("URL", net::parse_mqtt_url))
      ->capture_default_str();
  cli.add_option("--interval", o.interval, "Seconds between two telemetry samples of one agent")
      ->check(CLI::Range(0.01, 86400.0))
      ->capture_default_str();
  cli.add_option("--jitter", o.jitter,
                 "Each interval varies by up to this fraction, so agents do not send in lockstep")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cli.add_option("--seed", o.seed,
                 "Device ids and payload values follow from it: same seed, "
                 "same fleet")
      ->capture_default_str();
  cli.add_option("--first-index", o.first_index,
                 "Number of the first agent: several processes with the same --seed and "
                 "disjoint ranges make one fleet, when one process may not hold enough descriptors")
      ->capture_default_str();
  cli.add_option("--ramp", o.ramp, "New connections per second while the fleet comes up")
      ->check(CLI::Range(1.0, 100000.0))
      ->capture_default_str();
  cli.add_option("--keepalive", o.keepalive, "MQTT keepalive of each agent, seconds")
      ->check(CLI::Range(5, 3600))
      ->capture_default_str();
  cli.add_option("--payload", o.payload,
                 "minimal: CPU, load, memory, uptime; realistic: also 2 disks, 3 network "
                 "interfaces and a temperature, as a Raspberry Pi sends")
      ->check(CLI::IsMember({"minimal", "realistic"}))
      ->capture_default_str();
  cli.add_option("--duration", o.duration, "Seconds to run, then stop cleanly; 0: until Ctrl-C")
      ->check(CLI::Range(0.0, 31536000.0))
      ->capture_default_str();
  cli.add_option("--log-level", o.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  cli.add_option("--ca-file", o.ca_file,
                 "CA certificate (PEM) that the broker's certificate (mqtts://) and the enrolment "
                 "server's must chain to; their host names are checked too");
  cli.add_option("--state-dir", o.state_dir,
                 "Where each agent keeps its key and certificate (DIR/<device id>.key and .pem): "
                 "a later run with the same --seed reuses them and enrols nobody");
  cli.add_option("--enroll-url", o.enroll_url,
                 "hecs-control's HTTPS address, https://host:port: agents with no certificate in "
                 "--state-dir enrol there first (a P-256 key and a CSR each)")
      ->check(config::checked_by("URL", parse_enroll_url));
  cli.add_option("--enroll-token", o.enroll_token,
                 "Enrolment token of the whole fleet (its max_uses must cover --count); other "
                 "users of this machine can read it in ps: prefer --enroll-token-file");
  cli.add_option("--enroll-token-file", o.enroll_token_file, "File holding the enrolment token");
  cli.add_option("--enroll-concurrency", o.enroll_concurrency,
                 "Enrolment requests in flight, each on its own kept-alive HTTPS connection")
      ->check(CLI::Range(std::size_t{1}, kMaxEnrollConcurrency))
      ->capture_default_str();
  cli.add_flag("--enroll-only", o.enroll_only,
               "Enrol the agents that need it, store their certificates, and exit without "
               "connecting (a later run then connects without enrolling)");
  cli.add_option("--command-keys-file", o.command_keys_file,
                 "The control plane's command-signing keys (its DATA_DIR/pki/signing-keys.json): "
                 "every agent then verifies each command as hecs-agent does (signature, device, "
                 "expiry, sequence); without it commands are read unverified")
      ->check(CLI::ExistingFile);
  cli.add_option("--task-latency-ms", o.task_latency_ms,
                 "Simulated run time of a task. As hecs-agent, \"running\" is reported only for "
                 "a run of 200 ms or more; a shorter one sends one message, its final state "
                 "with its output")
      ->check(CLI::Range(0, 3600000))
      ->capture_default_str();
  cli.add_option("--task-output", o.task_output,
                 "Bytes of fake stdout each task reports (up to the task's output cap, then "
                 "hecs-agent's truncation marker), in chunks of 8 KiB; 0: none")
      ->check(CLI::Range(std::uint64_t{0}, proto::kMaxOutputCap))
      ->capture_default_str();
  cli.add_option("--task-fail-percent", o.task_fail_percent,
                 "Share of task runs that fail with exit code 1 instead of succeeding (to "
                 "exercise a task's abort criteria)")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
}

Result<void> check_options(const Options& o) {
  auto mqtt = net::parse_mqtt_url(o.mqtt_url);
  if (!mqtt) {
    return fail(Errc::invalid_input, "--mqtt-url: " + mqtt.error().message);
  }
  const bool tls = mqtt->tls;
  const bool enrol = !o.enroll_url.empty();
  const bool token = !o.enroll_token.empty() || !o.enroll_token_file.empty();
  if (tls && (o.ca_file.empty() || o.state_dir.empty())) {
    return fail(Errc::invalid_input,
                "--mqtt-url mqtts:// needs --ca-file (the broker's CA) and --state-dir (the "
                "agents' keys and certificates)");
  }
  if (!enrol) {
    if (token || o.enroll_only) {
      return fail(Errc::invalid_input,
                  "--enroll-token, --enroll-token-file and --enroll-only need --enroll-url");
    }
    if (!tls && (!o.ca_file.empty() || !o.state_dir.empty())) {
      return fail(Errc::invalid_input,
                  "--ca-file and --state-dir are for mqtts:// and enrolment; --mqtt-url is "
                  "plain mqtt://");
    }
    return {};
  }
  if (auto url = parse_enroll_url(o.enroll_url); !url) {
    return fail(Errc::invalid_input, "--enroll-url: " + url.error().message);
  }
  if (o.ca_file.empty() || o.state_dir.empty()) {
    return fail(Errc::invalid_input,
                "--enroll-url needs --ca-file (the server's CA) and --state-dir (where the "
                "certificates go)");
  }
  if (!o.enroll_token.empty() && !o.enroll_token_file.empty()) {
    return fail(Errc::invalid_input, "give --enroll-token or --enroll-token-file, not both");
  }
  if (!token) {
    return fail(Errc::invalid_input, "--enroll-url needs --enroll-token or --enroll-token-file");
  }
  if (!tls && !o.enroll_only) {
    return fail(Errc::invalid_input,
                "enrolled agents connect with their certificates: --mqtt-url must be mqtts:// "
                "(or give --enroll-only)");
  }
  return {};
}

Result<std::string> enroll_token(const Options& o) {
  if (o.enroll_token_file.empty()) {
    return o.enroll_token;
  }
  auto text = files::read_small(o.enroll_token_file, 4096);
  if (!text) {
    return fail(Errc::invalid_input, "--enroll-token-file: " + text.error().message);
  }
  std::string_view token = *text;
  token = token.substr(0, token.find('\n'));
  constexpr std::string_view kSpace = " \t\r";
  const auto first = token.find_first_not_of(kSpace);
  token = first == std::string_view::npos ? std::string_view() : token.substr(first);
  token = token.substr(0, token.find_last_not_of(kSpace) + 1);
  if (token.empty()) {
    return fail(Errc::invalid_input,
                fmt::format("--enroll-token-file {}: no token in it", o.enroll_token_file));
  }
  return std::string(token);
}

Result<std::vector<proto::VerifyKey>> command_keys(const Options& o) {
  if (o.command_keys_file.empty()) {
    return std::vector<proto::VerifyKey>();
  }
  auto invalid = [&](std::string_view what) {
    return fail(Errc::invalid_input,
                fmt::format("--command-keys-file {}: {}", o.command_keys_file, what));
  };
  // Eight keys with their state and times fit many times over.
  auto text = files::read_small(o.command_keys_file, std::size_t{64} * 1024);
  if (!text) {
    return invalid(text.error().message);
  }
  boost::system::error_code ec;
  const auto doc = boost::json::parse(*text, ec);
  const auto* list = !ec && doc.is_object() ? doc.get_object().if_contains("keys") : nullptr;
  if (list == nullptr || !list->is_array()) {
    return invalid("expected a json object with a \"keys\" array");
  }
  boost::json::array keys;
  for (const auto& item : list->get_array()) {
    const auto* entry = item.if_object();
    if (entry == nullptr || !entry->contains("kid") || !entry->contains("public_key")) {
      return invalid("each key needs kid and public_key");
    }
    keys.push_back(
        boost::json::object{{"kid", entry->at("kid")}, {"public_key", entry->at("public_key")}});
  }
  auto parsed = proto::parse_keys(boost::json::object{{"keys", std::move(keys)}});
  if (!parsed) {
    return invalid(parsed.error().message);
  }
  return std::move(parsed->keys);
}

}  // namespace hecs::sim
