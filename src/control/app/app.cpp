// hecs-control start-up (app.h, run): the store, the PKI, ingest, tasks, the broker link, the REST
// API, then the periodic jobs (periodic_jobs.h); and shutdown on a signal.
#include "control/app/app.h"

#include <csignal>
#include <filesystem>
#include <iostream>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <fmt/format.h>
#include <sys/stat.h>

#include "common/log.h"
#include "common/metrics/metrics.h"
#include "common/mqtt/threaded_client.h"
#include "common/net/http.h"
#include "common/net/mqtt.h"
#include "common/net/signals.h"
#include "control/api/api.h"
#include "control/app/commands.h"
#include "control/app/periodic_jobs.h"
#include "control/app/security.h"
#include "control/auth/auth.h"
#include "control/checkpoints/checkpoints.h"
#include "control/devices/acks.h"
#include "control/devices/devices.h"
#include "control/store/store.h"
#include "control/tasks/tasks.h"
#include "control/web/web.h"
#include "proto/proto.h"

namespace hecs::control::app {
namespace asio = boost::asio;

namespace {

// The largest packet hecs-control takes from its broker (see where it is used).
constexpr std::size_t kMaxBrokerPacketBytes = std::size_t{2} * 1024 * 1024;

std::string db_url(const Config& c) {
  if (c.db.empty()) {
    return (std::filesystem::path(c.data_dir) / "hecs.db").string();
  }
  return c.db;
}

}  // namespace

int run(const Config& config) {
  log::set_level(config.log_level);
  auto log = log::get("control");
  SystemClock clock;

  std::error_code fec;
  std::filesystem::create_directories(config.data_dir, fec);
  if (fec) {
    log->error("start.failed reason={}", log::quoted(fmt::format("cannot create data dir {}: {}",
                                                                 config.data_dir, fec.message())));
    return 1;
  }
  ::chmod(config.data_dir.c_str(), 0700);

  db::Options db_options;
  db_options.url = db_url(config);
  unsigned threads =
      config.threads != 0 ? config.threads : std::max(2u, std::thread::hardware_concurrency());
  db_options.pool_size = threads + 2;
  db_options.background_checkpoint = true;  // the checkpoint timer below
  auto database = store::open_and_migrate(db_options);
  if (!database) {
    log->error("start.failed reason={}", log::quoted(database.error().message));
    return 1;
  }
  if (const auto& moved = (*database)->quarantined_path()) {
    log->error("store.corrupt_quarantined moved_to={} action={}", log::quoted(*moved),
               "\"a fresh database was created; restore from backup if needed\"");
  }
  store::IdentityStore identities(**database);
  store::DeviceStore devices(**database);
  store::TelemetryStore telemetry(**database);
  store::EnrollmentStore enrollments(**database);
  store::TaskStore task_store(**database);
  store::GroupStore groups(**database);
  store::ScheduleStore schedules(**database);

  auto boot = auth::bootstrap(identities, config.data_dir, clock);
  if (!boot) {
    log->error("start.failed reason={}", log::quoted(boot.error().message));
    return 1;
  }
  if (boot->admin_key) {
    // Printed once, on the very first start; also in DATA_DIR/admin-credentials (0600).
    std::cout << "hecs-control: first start: admin API key of tenant 'default':\n  "
              << *boot->admin_key << "\n  and user 'admin' with password " << *boot->admin_password
              << "\n  (saved to "
              << (std::filesystem::path(config.data_dir) / "admin-credentials").string()
              << ", mode 0600)\n"
              << std::flush;
  }

  auto security = prepare_security(config, clock, enrollments);
  if (!security) {
    log->error("start.failed reason={}", log::quoted(security.error().message));
    return 1;
  }
  if (security->master_key_created) {
    log->warn("pki.master_key_created file={} action={}", log::quoted(security->master_key_source),
              "\"keep a copy away from this machine: the CA and signing keys cannot be opened "
              "without it\"");
  }
  const auto broker_conf = security->broker.acl_file.parent_path() / "mosquitto.conf";
  if (config.init_only) {
    std::cout << "hecs-control: keys and certificates in "
              << (std::filesystem::path(config.data_dir) / "pki").string()
              << "\n  broker configuration: " << broker_conf.string()
              << "\n  device CA fingerprint (sha256): " << security->pki->ca_fingerprint() << "\n"
              << std::flush;
    return 0;
  }
  RevokedSet revoked;
  if (auto r = refresh_revocations(*security, clock, enrollments, revoked, true); !r) {
    log->error("start.failed reason={}", log::quoted(r.error().message));
    return 1;
  }

  // Before the workers, ingest and the API, which all use it: device streams wait on it
  // (docs/api.md), and ingest notifies it on the workers.
  devices::Events device_events;
  metrics::Registry metrics;
  asio::io_context io;
  asio::thread_pool workers(threads);

  devices::IngestOptions ingest_options;
  ingest_options.tenant_id = boot->tenant_id;
  ingest_options.events = &device_events;
  ingest_options.max_message_bytes = config.max_message_bytes;
  ingest_options.is_revoked = [&revoked](const std::string& id) { return revoked.contains(id); };
  mqtt::ThreadedClient* mqtt_client = nullptr;  // set below; the ingest timer starts after that
  // Ten minutes: long enough for a slow link, short enough that a captured command is soon
  // useless even where the agent's replay record was lost.
  CommandSender commands(*security->pki, clock, 600);
  // After each commit the agents may drop what was stored (DESIGN §4): acks go out from a
  // low-priority thread, after a burst of results, within two seconds (control/devices/acks.h).
  devices::AckQueue acks(io, workers, metrics,
                         [&commands](const std::string& device, boost::json::object ack) {
                           return commands.send(device, "ack", std::move(ack));
                         });
  metrics.gauge("hecs_acks_pending", "Message ids committed and not yet acknowledged",
                [&acks] { return static_cast<double>(acks.pending()); });
  ingest_options.on_committed = [&acks](const std::string& device, std::vector<std::string> ids) {
    acks.add(device, std::move(ids));
  };
  devices::Ingest ingest(io, workers, devices, metrics, clock, ingest_options);

  tasks::Limits task_limits;
  task_limits.confirm_above = config.tasks_confirm_above;
  task_limits.max_message_bytes = config.max_message_bytes;
  task_limits.resend_after = std::chrono::seconds(config.task_resend_seconds);
  tasks::Service task_service(
      io, workers, task_store, groups, devices, metrics, clock,
      [&commands](const std::string& device, std::string_view type, boost::json::object body) {
        return commands.send(device, type, std::move(body));
      },
      ingest_options.on_committed, task_limits);

  mqtt::ThreadedOptions mqtt_options;
  mqtt_options.url = config.mqtt_url;
  mqtt_options.client_id = config.mqtt_client_id;
  mqtt_options.tls_common_name = "hecs-control";  // security.cpp's identity
  mqtt_options.clean_session = false;  // the broker keeps QoS 1 messages while we are down
  mqtt_options.tls = security->mqtt;
  mqtt_options.subscription = std::string(proto::kAllUpTopics);
  // Larger than any packet the broker lets a device send (the generated config: 256 KiB), so
  // that an oversized payload reaches ingest and is refused there ("too_large") instead of
  // ending our link; a packet beyond this ends it, and the broker would resend it on every
  // reconnection, so a broker run by hand must cap max_packet_size below it (docs/security.md).
  mqtt_options.max_packet_bytes = kMaxBrokerPacketBytes;
  auto mqtt = mqtt::ThreadedClient::create(io, mqtt_options);
  if (!mqtt) {
    log->error("start.failed reason={}", log::quoted(mqtt.error().message));
    return 1;
  }
  mqtt_client = mqtt->get();
  commands.set_client(mqtt_client);

  ca::EnrolmentOptions enrol_options;
  enrol_options.tenant_id = boot->tenant_id;
  enrol_options.mqtt_url = config.agent_mqtt_url.empty() ? config.mqtt_url : config.agent_mqtt_url;
  enrol_options.device_cert_lifetime_s = config.device_cert_seconds > 0
                                             ? config.device_cert_seconds
                                             : std::int64_t{config.device_cert_days} * 86400;
  // A revocation (DESIGN §3, S20): the broker's CRL and ACL first, so the device can neither
  // reconnect nor publish; then its retained hello and status go, and ingest ignores it.
  ca::Enrolment enrolment(
      *security->pki, enrollments, clock, enrol_options,
      [&](const std::string& device) {
        if (auto r = refresh_revocations(*security, clock, enrollments, revoked, true); !r) {
          log->error("device.revoke_incomplete device={} error={}", device,
                     log::quoted(r.error().message));
        }
        for (auto kind : {proto::UpKind::hello, proto::UpKind::status}) {
          (void)mqtt_client->publish(proto::up_topic(device, kind), "", 1, true);
        }
        log->info("device.revoked device={}", device);
      },
      [&] {
        // Devices connected now would otherwise get the new key list only when they next
        // connect, and a key activated before then would sign commands they cannot verify.
        asio::post(workers, [&] {
          std::size_t sent = 0;
          store::DeviceFilter online;
          online.online = true;
          online.limit = 500;
          const auto body = proto::to_json(proto::Keys{security->pki->verify_keys()});
          for (;;) {
            auto page = devices.list(boot->tenant_id, online);
            if (!page) {
              log->warn("keys.push_failed error={}", log::quoted(page.error().message));
              break;
            }
            for (const auto& d : page->items) {
              sent += commands.send(d.id, "keys", body) ? 1 : 0;
            }
            if (!page->more || page->items.empty()) {
              break;
            }
            online.after_id = page->items.back().id;
          }
          log->info("keys.pushed devices={}", sent);
        });
      });
  (*mqtt)->on_message = [&](const mqtt::Message& m) {
    auto up = proto::parse_up_topic(m.topic);
    if (up && !m.payload.empty() && !revoked.contains(up->device_id)) {
      if (up->kind == proto::UpKind::hello && !m.retain) {
        send_keys(commands, *security->pki, up->device_id, m.payload, config.max_message_bytes);
        task_service.on_hello(up->device_id);
      }
      if (up->kind == proto::UpKind::result) {
        acks.arrived();  // a fan-out's answers: their acks wait for the burst to pass
        task_service.on_result(up->device_id, m.payload);
        return;
      }
      if (up->kind == proto::UpKind::event) {
        asio::post(workers, [&, device = up->device_id, payload = m.payload] {
          renew_certificate(enrolment, commands, device, payload, config.max_message_bytes);
        });
        return;
      }
    }
    ingest.on_message(m.topic, m.payload);
  };
  metrics.gauge("hecs_mqtt_connected", "1 when connected to the broker",
                [&client = **mqtt] { return client.connected() ? 1.0 : 0.0; });
  metrics.gauge("hecs_ingest_backlog", "Messages waiting for the next ingest batch",
                [&ingest] { return static_cast<double>(ingest.backlog()); });

  store::AuditStore audit(**database);
  auto signer = checkpoints::Signer::open(std::filesystem::path(config.data_dir) / "audit",
                                          security->master_key, clock);
  if (!signer) {
    log->error("start.failed reason={}",
               log::quoted("audit checkpoints: " + signer.error().message));
    return 1;
  }
  api::Deps api_deps{
      identities, devices, telemetry, enrollments, audit, enrolment, metrics, clock, [&] {
        return (*mqtt)->connected() && devices.count(std::nullopt).has_value();
      }};
  api_deps.tls = security->https.has_value();
  api_deps.telemetry_window_ms = std::int64_t{config.telemetry_window_hours} * 3600 * 1000;
  api_deps.checkpoints = signer->get();
  api_deps.tasks = &task_service;
  api_deps.task_store = &task_store;
  api_deps.groups = &groups;
  api_deps.schedules = &schedules;
  api_deps.device_events = &device_events;
  api_deps.on_tenants_changed = [&] {
    if (auto r = refresh_revocations(*security, clock, enrollments, revoked, true); !r) {
      log->error("tenant.devices_not_updated error={}", log::quoted(r.error().message));
    }
  };
  std::unique_ptr<web::StaticSite> site;
  if (!config.web_root.empty()) {
    // The panel is optional: without its files the API still serves (the default points
    // into a build tree, which an installed binary may not have).
    if (auto opened = web::StaticSite::open(config.web_root); opened) {
      site = std::move(*opened);
      log->info("web.serving root={}", log::quoted(config.web_root));
      api_deps.web = [&site](const net::Request& r) { return site->serve(r); };
    } else {
      log->warn("web.disabled error={}", log::quoted(opened.error().message));
    }
  }
  api::Api api(std::move(api_deps));
  net::HttpLimits http_limits;
  http_limits.read_timeout = std::chrono::seconds(config.http_read_timeout_seconds);
  auto http = net::HttpServer::create(
      io, workers, config.http_listen, [&api](const net::Request& r) { return api.handle(r); },
      http_limits, security->https);
  if (!http) {
    log->error("start.failed reason={}", log::quoted(http.error().message));
    return 1;
  }

  PeriodicJobs jobs({io, workers, config, clock, log, **database, telemetry, task_store, schedules,
                     task_service, audit, **signer, *security, enrollments, revoked, **http,
                     **mqtt});
  jobs.start();

  ingest.start();
  task_service.start();
  acks.start();
  (*mqtt)->start();
  log->info("control.started http={} port={} tls={} mqtt={} db={}", config.http_listen,
            (*http)->port(), security->https ? "on" : "off", log::quoted(config.mqtt_url),
            (*database)->backend() == db::Backend::sqlite ? "sqlite" : "postgresql");

  net::StopSignals signals(io, "control", [&](int) {
    (*http)->stop();
    jobs.cancel();
    (*mqtt)->stop([&] {
      asio::post(workers, [&] {
        ingest.stop();  // commit what was received before we leave
        task_service.stop();
        acks.stop();  // the link is down: what waits would not reach the agents
        io.stop();
      });
    });
  });

  std::vector<std::thread> io_threads;
  for (unsigned i = 1; i < threads; ++i) {
    io_threads.emplace_back([&io] { io.run(); });
  }
  io.run();
  for (auto& t : io_threads) {
    t.join();
  }
  workers.join();
  log->info("control.stopped");
  return 0;
}

}  // namespace hecs::control::app
