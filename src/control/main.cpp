// hecs-control: the HECS control plane (DESIGN §1, §8).
#include <csignal>
#include <iostream>

#include "common/config/config.h"
#include "control/app/app.h"

int main(int argc, char** argv) {
  // SIGHUP terminates by default: ignored until the event loop handles it (net::StopSignals), so
  // one sent during start-up (logrotate, a closing terminal) cannot kill the daemon.
  std::signal(SIGHUP, SIG_IGN);
  try {
    hecs::control::app::Config config;
    CLI::App cli("hecs-control: the HECS control plane (REST API, MQTT ingest, device registry)",
                 "hecs-control");
    cli.set_version_flag("--version", "hecs-control 0.1.0");
    cli.footer(
        "Every key of the --config YAML file is also a flag (data_dir: → --data-dir); flags win.\n"
        "Example: hecs-control --data-dir /var/lib/hecs-control --http-listen 0.0.0.0:8080");
    hecs::control::app::add_flags(cli, config);
    if (auto code = hecs::config::parse(cli, argc, argv, std::cout, std::cerr)) {
      return *code;
    }
    return hecs::control::app::run(config);
  } catch (const std::exception& e) {
    std::cerr << "hecs-control: bug.escaped_exception what=" << e.what() << "\n";
    return 1;
  }
}
