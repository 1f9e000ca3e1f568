// hecs-control's command-line flags (app.h, add_flags): one per key of Config, with its range.
#include <cstddef>

#include "common/config/config.h"
#include "common/net/http.h"
#include "common/net/mqtt.h"
#include "control/app/app.h"

namespace hecs::control::app {

void add_flags(CLI::App& cli, Config& c) {
  cli.add_option("--data-dir", c.data_dir, "Directory for the database and credentials")
      ->capture_default_str();
  cli.add_option("--http-listen", c.http_listen, "REST API address, host:port")
      ->check(config::checked_by("HOST:PORT", net::check_listen_address))
      ->capture_default_str();
  cli.add_flag("--http-plain", c.http_plain,
               "Serve plain HTTP instead of HTTPS (only behind a TLS proxy, or for tests)");
  cli.add_option("--mqtt-url", c.mqtt_url,
                 "Broker URL: mqtts://host:port (mTLS) or mqtt://host:port (plain, no enrolment)")
      ->check(config::checked_by("URL", net::parse_mqtt_url))
      ->capture_default_str();
  cli.add_option("--agent-mqtt-url", c.agent_mqtt_url,
                 "Broker URL given to enrolled agents (default: --mqtt-url)")
      ->check(config::checked_by("URL", net::parse_mqtt_url));
  cli.add_option("--master-key-file", c.master_key_file,
                 "File with the key that seals the CA and signing keys (64 hex characters; "
                 "default DATA_DIR/master.key, made on first start). The environment variable "
                 "HECS_MASTER_KEY wins when set");
  cli.add_option("--ca-import-cert", c.ca_import_cert,
                 "First start only: use this CA certificate (PEM) instead of creating one");
  cli.add_option("--ca-import-key", c.ca_import_key,
                 "First start only: the private key (PEM) of --ca-import-cert; it is sealed");
  cli.add_option("--tls-names", c.tls_names,
                 "Host names and IP addresses in the REST API and broker certificates")
      ->delimiter(',')
      ->capture_default_str();
  cli.add_option("--device-cert-days", c.device_cert_days, "Lifetime of device certificates")
      ->check(CLI::Range(1, 825))
      ->capture_default_str();
  cli.add_option("--device-cert-seconds", c.device_cert_seconds,
                 "Lifetime of device certificates in seconds, overriding the days (tests)")
      ->check(CLI::Range(0, 86400 * 825));
  cli.add_option("--broker-dir", c.broker_dir,
                 "Where the generated Mosquitto configuration goes (default DATA_DIR/broker)");
  cli.add_option("--broker-listen", c.broker_listen,
                 "Address of the broker's TLS listener, written into its configuration")
      ->check(config::checked_by("HOST:PORT", net::check_listen_address))
      ->capture_default_str();
  cli.add_option("--broker-user", c.broker_user,
                 "User Mosquitto drops its privileges to (its `user` setting)");
  cli.add_flag("--init-only", c.init_only,
               "Create the keys, certificates and broker configuration, print where, and exit");
  cli.add_option("--db", c.db,
                 "Database: a SQLite file path (default DATA_DIR/hecs.db) or postgresql://…");
  cli.add_option("--mqtt-client-id", c.mqtt_client_id,
                 "MQTT client id; its persistent session keeps messages while we are down")
      ->capture_default_str();
  cli.add_option("--telemetry-window-hours", c.telemetry_window_hours,
                 "How long raw telemetry is kept")
      ->check(CLI::Range(1, 8760))
      ->capture_default_str();
  cli.add_option("--http-read-timeout-seconds", c.http_read_timeout_seconds,
                 "Time a client has to send a whole request (slow clients are cut off)")
      ->check(CLI::Range(1, 300))
      ->capture_default_str();
  cli.add_option("--audit-checkpoint-seconds", c.audit_checkpoint_seconds,
                 "How often each tenant's audit chain head is signed when it moved")
      ->check(CLI::Range(10, 86400))
      ->capture_default_str();
  cli.add_option("--tasks-confirm-above", c.tasks_confirm_above,
                 "Tasks aimed at more devices than this need \"confirm\": true")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}))
      ->capture_default_str();
  cli.add_option("--task-resend-seconds", c.task_resend_seconds,
                 "A task sent this long ago without news from the device is sent again")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cli.add_option("--task-retention-days", c.task_retention_days,
                 "Ended tasks are deleted this long after they ended, with their runs, output "
                 "and artifacts (0: kept for ever)")
      ->check(CLI::Range(0, 3650))
      ->capture_default_str();
  cli.add_option("--artifact-retention-days", c.artifact_retention_days,
                 "Artifacts (collect-logs bundles) are emptied this long after they arrived "
                 "(0: kept as long as their task)")
      ->check(CLI::Range(0, 3650))
      ->capture_default_str();
  cli.add_option("--max-message-bytes", c.max_message_bytes, "Largest accepted MQTT payload")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{1024 * 1024}))
      ->capture_default_str();
  cli.add_option("--web-root", c.web_root,
                 "Directory of the admin panel's built files (\"\": no panel)")
      ->capture_default_str();
  cli.add_option("--threads", c.threads, "Worker threads (0: one per core)")
      ->check(CLI::Range(0u, 256u))
      ->capture_default_str();
  cli.add_option("--log-level", c.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
}

}  // namespace hecs::control::app
