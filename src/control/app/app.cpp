#include "control/app/app.h"

#include <atomic>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <fmt/format.h>
#include <sys/stat.h>

#include "common/config/config.h"
#include "common/log.h"
#include "common/metrics/metrics.h"
#include "common/net/http.h"
#include "common/net/mqtt.h"
#include "common/net/signals.h"
#include "control/api/api.h"
#include "control/auth/auth.h"
#include "control/devices/devices.h"
#include "control/store/store.h"
#include "proto/proto.h"

namespace hecs::control::app {
namespace asio = boost::asio;

void add_flags(CLI::App& cli, Config& c) {
  cli.add_option("--data-dir", c.data_dir, "Directory for the database and credentials")
      ->capture_default_str();
  cli.add_option("--http-listen", c.http_listen, "REST API address, host:port")
      ->check(config::checked_by("HOST:PORT", net::check_listen_address))
      ->capture_default_str();
  cli.add_option("--mqtt-url", c.mqtt_url, "Broker URL, mqtt://host:port")
      ->check(config::checked_by("URL", net::parse_mqtt_url))
      ->capture_default_str();
  cli.add_option("--db", c.db,
                 "Database: a SQLite file path (default DATA_DIR/hecs.db) or postgresql://…");
  cli.add_option("--mqtt-client-id", c.mqtt_client_id,
                 "MQTT client id; its persistent session keeps messages while we are down")
      ->capture_default_str();
  cli.add_option("--telemetry-window-hours", c.telemetry_window_hours,
                 "How long raw telemetry is kept")
      ->check(CLI::Range(1, 8760))
      ->capture_default_str();
  cli.add_option("--max-message-bytes", c.max_message_bytes, "Largest accepted MQTT payload")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{1024 * 1024}))
      ->capture_default_str();
  cli.add_option("--threads", c.threads, "Worker threads (0: one per core)")
      ->check(CLI::Range(0u, 256u))
      ->capture_default_str();
  cli.add_option("--log-level", c.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
}

namespace {

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

  auto boot = auth::bootstrap(identities, config.data_dir, clock);
  if (!boot) {
    log->error("start.failed reason={}", log::quoted(boot.error().message));
    return 1;
  }
  if (boot->admin_key) {
    // Printed once, on the very first start; also in DATA_DIR/admin-credentials (0600).
    std::cout << "hecs-control: first start: admin API key of tenant 'default':\n  "
              << *boot->admin_key << "\n  (saved to "
              << (std::filesystem::path(config.data_dir) / "admin-credentials").string()
              << ", mode 0600)\n"
              << std::flush;
  }

  metrics::Registry metrics;
  asio::io_context io;
  asio::thread_pool workers(threads);

  devices::IngestOptions ingest_options;
  ingest_options.tenant_id = boot->tenant_id;
  ingest_options.max_message_bytes = config.max_message_bytes;
  net::MqttClient* mqtt_client = nullptr;  // set below; the ingest timer starts after that
  auto& acks_sent = metrics.counter("hecs_acks_sent_total", "Ack messages sent to agents");
  // After each commit the agents may drop what was stored (DESIGN §4). An ack that cannot be
  // sent now is not retried: the agent sends the message again and gets its ack then.
  ingest_options.on_committed = [&](const std::string& device, std::vector<std::string> ids) {
    for (std::size_t at = 0; at < ids.size(); at += proto::kMaxAckIds) {
      proto::Ack ack;
      auto end = std::min(ids.size(), at + proto::kMaxAckIds);
      ack.ids.assign(std::make_move_iterator(ids.begin() + static_cast<long>(at)),
                     std::make_move_iterator(ids.begin() + static_cast<long>(end)));
      auto payload =
          proto::serialize(proto::make_envelope("ack", clock.now_ms(), proto::to_json(ack)));
      if (mqtt_client->publish(proto::down_cmd_topic(device), payload, 1, false)) {
        acks_sent.inc();
      }
    }
  };
  devices::Ingest ingest(io, workers, devices, metrics, clock, ingest_options);

  net::MqttOptions mqtt_options;
  mqtt_options.url = config.mqtt_url;
  mqtt_options.client_id = config.mqtt_client_id;
  mqtt_options.clean_session = false;  // the broker keeps QoS 1 messages while we are down
  auto mqtt = net::MqttClient::create(io, mqtt_options);
  if (!mqtt) {
    log->error("start.failed reason={}", log::quoted(mqtt.error().message));
    return 1;
  }
  mqtt_client = mqtt->get();
  (*mqtt)->on_message = [&ingest](const net::MqttMessage& m) {
    ingest.on_message(m.topic, m.payload);
  };
  (*mqtt)->subscribe(std::string(proto::kAllUpTopics), 1);
  metrics.gauge("hecs_mqtt_connected", "1 when connected to the broker",
                [&client = **mqtt] { return client.connected() ? 1.0 : 0.0; });
  metrics.gauge("hecs_ingest_backlog", "Messages waiting for the next ingest batch",
                [&ingest] { return static_cast<double>(ingest.backlog()); });

  api::Api api(api::Deps{identities, devices, telemetry, metrics, clock, [&] {
                           return (*mqtt)->connected() && devices.count(std::nullopt).has_value();
                         }});
  auto http = net::HttpServer::create(io, workers, config.http_listen,
                                      [&api](const net::Request& r) { return api.handle(r); });
  if (!http) {
    log->error("start.failed reason={}", log::quoted(http.error().message));
    return 1;
  }

  // Raw telemetry older than the window goes, once a minute.
  asio::steady_timer prune_timer(io);
  std::function<void()> schedule_prune = [&] {
    prune_timer.expires_after(std::chrono::minutes(1));
    prune_timer.async_wait([&](boost::system::error_code ec) {
      if (ec) {
        return;
      }
      asio::post(workers, [&] {
        auto cutoff = clock.now_ms() - std::int64_t{config.telemetry_window_hours} * 3600 * 1000;
        if (auto n = telemetry.prune(cutoff); !n) {
          log->warn("telemetry.prune_failed error={}", log::quoted(n.error().message));
        }
      });
      schedule_prune();
    });
  };
  schedule_prune();

  // SQLite's WAL is copied back into the database once a second on a worker, beside the ingest
  // writer (Options::background_checkpoint).
  asio::steady_timer checkpoint_timer(io);
  std::function<void()> schedule_checkpoint = [&] {
    checkpoint_timer.expires_after(std::chrono::seconds(1));
    checkpoint_timer.async_wait([&](boost::system::error_code ec) {
      if (ec) {
        return;
      }
      asio::post(workers, [&] {
        if (auto frames = (*database)->checkpoint(); !frames) {
          log->warn("db.checkpoint_failed error={}", log::quoted(frames.error().message));
        }
      });
      schedule_checkpoint();
    });
  };
  if ((*database)->backend() == db::Backend::sqlite) {
    schedule_checkpoint();
  }

  ingest.start();
  (*mqtt)->start();
  log->info("control.started http={} port={} mqtt={} db={}", config.http_listen, (*http)->port(),
            log::quoted(config.mqtt_url),
            (*database)->backend() == db::Backend::sqlite ? "sqlite" : "postgresql");

  net::StopSignals signals(io, "control", [&](int) {
    (*http)->stop();
    prune_timer.cancel();
    checkpoint_timer.cancel();
    (*mqtt)->stop([&] {
      asio::post(workers, [&] {
        ingest.stop();  // commit what was received before we leave
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
