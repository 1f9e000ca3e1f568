#include "agent/app/app.h"

#include <csignal>
#include <cstring>
#include <filesystem>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <linux/close_range.h>
#include <unistd.h>

#include "agent/app/connect.h"
#include "agent/enrol/enrol.h"
#include "agent/tasks/tasks.h"
#include "agent/telemetry/telemetry.h"
#include "agent/uplink/uplink.h"
#include "common/clock.h"
#include "common/config/config.h"
#include "common/files.h"
#include "common/log.h"
#include "common/log_file.h"
#include "common/net/mqtt.h"
#include "common/net/signals.h"
#include "proto/proto.h"

namespace hecs::agent::app {
namespace asio = boost::asio;

void add_flags(CLI::App& cli, Config& c) {
  cli.add_option("--state-dir", c.state_dir,
                 "Directory for the device id, session, outbox, keys and certificate")
      ->capture_default_str();
  cli.add_option("--mqtt-url", c.mqtt_url,
                 "Plain mode, without enrolment: broker URL mqtt://host:port")
      ->check(config::checked_by("URL", check_plain_url));
  cli.add_option("--command-keys-file", c.command_keys_file,
                 "Plain mode: the control plane's command-signing keys (its "
                 "DATA_DIR/pki/signing-keys.json); without them every command is refused")
      ->check(config::checked_by(
          "FILE", [](const std::string& path) { return uplink::read_command_keys_file(path); }));
  cli.add_option("--enroll-token", c.enroll_token,
                 "Enrolment token (prefer enroll_file or the config file: flags are visible in "
                 "the process list)");
  cli.add_option("--control-url", c.control_url, "Control plane for enrolment, https://host:port")
      ->check(config::checked_by("URL", enrol::parse_control_url));
  cli.add_option("--control-ca-sha256", c.control_ca_sha256,
                 "SHA-256 of the control plane's CA certificate, trusted on first contact")
      ->check(config::checked_by("HEX", enrol::parse_sha256_pin));
  cli.add_option("--control-ca-file", c.control_ca_file,
                 "The control plane's CA certificate (PEM), instead of the SHA-256 pin")
      ->check(config::checked_by("FILE", check_ca_file));
  cli.add_option("--enroll-file", c.enroll_file,
                 "YAML with token, control_url and ca_sha256, written by the image builder; "
                 "read when not enrolled, configured keys win")
      ->capture_default_str();
  cli.add_option("--enroll-retry-max", c.enroll_retry_max,
                 "Longest wait in seconds between two enrolment attempts")
      ->check(CLI::Range(2, 300))
      ->capture_default_str();
  cli.add_option("--telemetry-interval", c.telemetry_interval, "Seconds between samples")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  cli.add_option("--keepalive", c.keepalive,
                 "MQTT keepalive in seconds; the broker declares us offline after 1.5 times it")
      ->check(CLI::Range(5, 3600))  // pings more often than every 5 s are only noise
      ->capture_default_str();
  cli.add_option("--outbox-max-entries", c.outbox_max_entries,
                 "Messages kept while offline; the oldest go first beyond it")
      ->check(CLI::Range(std::size_t{100}, std::size_t{10000000}))
      ->capture_default_str();
  cli.add_option("--ack-timeout", c.ack_timeout,
                 "Seconds a sent message may stay unacknowledged by the control plane before it "
                 "is sent again, with those after it")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cli.add_option("--task-concurrency", c.task_concurrency, "Tasks run at once; others wait")
      ->check(CLI::Range(std::size_t{1}, std::size_t{64}))
      ->capture_default_str();
  cli.add_option("--task-kill-grace", c.task_kill_grace,
                 "Seconds between SIGTERM and SIGKILL when a task times out or is cancelled")
      ->check(CLI::Range(1, 300))
      ->capture_default_str();
  cli.add_option("--task-cwd-allow", c.task_cwd_allow,
                 "Directories tasks may run in, symlinks resolved (comma-separated)")
      ->delimiter(',')
      ->capture_default_str();
  cli.add_option("--reboot-command", c.reboot_command,
                 "The command the reboot builtin runs (comma-separated argv)")
      ->delimiter(',')
      ->capture_default_str();
  cli.add_option("--collect-logs-allow", c.collect_logs_allow,
                 "Directories whose files collect-logs may bundle, symlinks resolved "
                 "(comma-separated)")
      ->delimiter(',')
      ->capture_default_str();
  cli.add_option("--collect-logs-max-bytes", c.collect_logs_max_bytes,
                 "Largest compressed collect-logs bundle; a larger one fails the run")
      ->check(CLI::Range(std::uint64_t{64} * 1024, proto::kMaxArtifactBytes))
      ->capture_default_str();
  cli.add_option("--log-file", c.log_file,
                 "Also write the log to this file (rotated at 4 MiB, 3 kept); collect-logs "
                 "bundles it");
  cli.add_option("--schedules-file", c.schedules_file,
                 "Local schedules (YAML): tasks the agent fires by cron, online or offline")
      ->check(config::checked_by(
          "FILE", [](const std::string& path) { return tasks::read_schedules_file(path); }));
  cli.add_option("--log-level", c.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
}

namespace {

constexpr std::size_t kLogFileBytes = std::size_t{4} * 1024 * 1024;
constexpr std::size_t kLogFilesKept = 3;

// The restart-agent builtin: the same binary with the same arguments, in this process, after
// the link was closed cleanly. Descriptors are not inherited.
void restart_self() {
  auto cmdline = files::read_small("/proc/self/cmdline");
  if (!cmdline || cmdline->empty()) {
    log::get("agent")->error("agent.restart_failed reason={}",
                             log::quoted("cannot read /proc/self/cmdline"));
    return;
  }
  std::vector<std::string> args;
  std::size_t at = 0;
  while (at < cmdline->size()) {
    auto end = cmdline->find('\0', at);
    if (end == std::string::npos) {
      end = cmdline->size();
    }
    args.emplace_back(cmdline->substr(at, end - at));
    at = end + 1;
  }
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  ::execv("/proc/self/exe", argv.data());
  log::get("agent")->error("agent.restart_failed reason={}", log::quoted(std::strerror(errno)));
}

}  // namespace

int run(Config config) {
  log::set_level(config.log_level);
  auto log = log::get("agent");
  auto start_failed = [&](const std::string& why, int code = 1) {
    log->error("start.failed reason={}", log::quoted(why));
    return code;
  };
  if (!config.log_file.empty()) {
    if (auto r = log::to_file(config.log_file, kLogFileBytes, kLogFilesKept); !r) {
      return start_failed(r.error().message, config::kUsageExitCode);
    }
  }

  auto node = open_node(config);
  if (!node) {
    return start_failed(node.error().message);
  }
  if (!node->outbox->quarantined().empty()) {
    log->error("outbox.corrupt_quarantined moved_to={}", log::quoted(node->outbox->quarantined()));
  }
  auto mode = choose_mode(config, enrol::Paths(config.state_dir));
  if (!mode) {
    return start_failed(mode.error().message,
                        mode.error().code == Errc::invalid_input ? config::kUsageExitCode : 1);
  }
  if (mode->keys) {
    if (auto set = node->gate->set_keys(*mode->keys); !set) {
      return start_failed("command_keys_file: " + set.error().message);
    }
  }
  if (node->gate->keys().empty() && mode->kind != Mode::enrolling) {
    log->warn("agent.no_command_keys action={}",
              log::quoted("give command_keys_file (the control plane's "
                          "DATA_DIR/pki/signing-keys.json): until then every command is "
                          "refused, acks included, and the outbox never drains"));
  }
  const auto& device_id = node->identity.device_id;
  const std::string shown_url = mode_url(*mode, config);
  const auto kind = mode->kind;

  telemetry::Collector collector;
  SystemClock clock;
  asio::io_context io(1);

  auto hello_envelope = [&](std::uint64_t session) {
    proto::Hello hello;
    if (auto h = collector.hello()) {
      hello = std::move(*h);
    } else {
      log->warn("telemetry.hello_partial error={}", log::quoted(h.error().message));
    }
    hello.session = session;
    hello.agent_version = std::string(kAgentVersion);
    return proto::serialize(proto::make_envelope("hello", clock.now_ms(), proto::to_json(hello)));
  };

  uplink::UplinkOptions uplink_options;
  uplink_options.keepalive_s = config.keepalive;
  uplink_options.resend_after = std::chrono::seconds(config.ack_timeout);
  uplink::Uplink link(io, node->identity, node->sessions, *node->outbox, *node->gate,
                      uplink_options, hello_envelope);
  Connector connector(io, link, *node->gate, config.state_dir, device_id);

  // Tasks (docs/tasks.md): results go through the outbox, never dropped for space.
  const auto result_topic = proto::up_topic(device_id, proto::UpKind::result);
  bool restart = false;
  std::function<void()> shutdown;
  std::vector<tasks::LocalSchedule> schedules;
  if (!config.schedules_file.empty()) {
    auto read = tasks::read_schedules_file(config.schedules_file);
    if (!read) {
      return start_failed("schedules_file: " + read.error().message, config::kUsageExitCode);
    }
    schedules = std::move(*read);
  }
  auto local =
      tasks::LocalScheduler::open(io, *node->outbox, clock, device_id, std::move(schedules));
  if (!local) {
    return start_failed("schedules: " + local.error().message);
  }
  tasks::Hooks hooks;
  hooks.append = [&](const proto::TaskResult& result, bool droppable) -> Result<void> {
    proto::TaskResult annotated = result;
    (*local)->annotate(annotated);
    auto envelope = proto::make_envelope("result", clock.now_ms(), proto::to_json(annotated));
    auto seq =
        node->outbox->append(result_topic, proto::serialize(envelope), envelope.id, droppable);
    if (!seq) {
      return tl::unexpected(seq.error());
    }
    return {};
  };
  hooks.flush = [&link] { link.flush(); };
  hooks.refresh_inventory = [&link, &log] {
    if (auto r = link.send_hello(); !r) {
      log->info("inventory.refresh_deferred reason={}", log::quoted(r.error().message));
    }
  };
  hooks.restart_agent = [&] {
    restart = true;
    shutdown();
  };
  hooks.reboot_command = config.reboot_command;
  tasks::Options task_options;
  task_options.concurrency = config.task_concurrency;
  task_options.kill_grace = std::chrono::seconds(config.task_kill_grace);
  task_options.cwd_allow.assign(config.task_cwd_allow.begin(), config.task_cwd_allow.end());
  task_options.scratch_dir = std::filesystem::path(config.state_dir) / "tasks";
  task_options.collect_allow.assign(config.collect_logs_allow.begin(),
                                    config.collect_logs_allow.end());
  task_options.collect_max_bytes = config.collect_logs_max_bytes;
  if (!config.log_file.empty()) {
    task_options.agent_logs = log::file_set(config.log_file, kLogFilesKept);
  }
  auto executor = tasks::Executor::open(io, *node->outbox, clock, hooks, task_options);
  if (!executor) {
    return start_failed(executor.error().message);
  }
  if (auto r = (*executor)->recover(); !r) {
    return start_failed("tasks: " + r.error().message);
  }
  if (auto r = (*local)->start(**executor); !r) {
    return start_failed("schedules: " + r.error().message);
  }
  connector.on_command(
      [&executor](const proto::Command& command) { return (*executor)->on_command(command); });
  if (auto r = connector.start(std::move(*mode), config); !r) {
    return start_failed(r.error().message);
  }
  log->info("agent.started device={} mode={} url={} interval_s={}", device_id, mode_name(kind),
            log::quoted(shown_url), config.telemetry_interval);

  const auto telemetry_topic = proto::up_topic(device_id, proto::UpKind::telemetry);
  asio::steady_timer timer(io);
  std::function<void()> tick = [&] {
    timer.expires_after(std::chrono::seconds(config.telemetry_interval));
    timer.async_wait([&](boost::system::error_code e) {
      if (e) {
        return;
      }
      if (auto sample = collector.sample()) {
        auto envelope = proto::make_envelope("telemetry", clock.now_ms(), proto::to_json(*sample));
        if (auto r = link.send(telemetry_topic, proto::serialize(envelope), envelope.id); !r) {
          log->error("telemetry.store_failed error={}", log::quoted(r.error().message));
        }
      } else {
        log->warn("telemetry.sample_failed error={}", log::quoted(sample.error().message));
      }
      tick();
    });
  };
  tick();

  bool stopping = false;
  shutdown = [&] {
    if (stopping) {
      return;
    }
    stopping = true;
    timer.cancel();
    (*local)->stop();
    (*executor)->stop();
    connector.stop();
    link.stop([&io] { io.stop(); });
  };
  net::StopSignals signals(io, "agent", [&](int) { shutdown(); });
  io.run();
  if (restart) {
    log->info("agent.restarting");
    restart_self();  // returns only when exec fails
  }
  log->info("agent.stopped");
  return 0;
}

}  // namespace hecs::agent::app
