// hecs-agent: the HECS node agent (DESIGN §1, §7).
#include <csignal>
#include <iostream>
#include <utility>

#include "agent/app/app.h"
#include "common/config/config.h"

int main(int argc, char** argv) {
  // SIGHUP terminates by default: ignored until the event loop handles it (net::StopSignals), so
  // one sent during start-up (logrotate, a closing terminal) cannot kill the daemon.
  std::signal(SIGHUP, SIG_IGN);
  try {
    hecs::agent::app::Config config;
    CLI::App cli("hecs-agent: the HECS node agent (inventory, telemetry, offline outbox)",
                 "hecs-agent");
    cli.set_version_flag("--version",
                         std::string("hecs-agent ") + std::string(hecs::agent::app::kAgentVersion));
    cli.footer(
        "Every key of the --config YAML file is also a flag (state_dir: → --state-dir); flags "
        "win.\nEnrol: hecs-agent --control-url https://control.example:8443 "
        "--control-ca-sha256 <hex> --enroll-token <token> (or an --enroll-file)\nPlain, no "
        "enrolment: hecs-agent --mqtt-url mqtt://broker.lan:1883 --command-keys-file "
        "signing-keys.json");
    hecs::agent::app::add_flags(cli, config);
    if (auto code = hecs::config::parse(cli, argc, argv, std::cout, std::cerr)) {
      return *code;
    }
    return hecs::agent::app::run(std::move(config));
  } catch (const std::exception& e) {
    std::cerr << "hecs-agent: bug.escaped_exception what=" << e.what() << "\n";
    return 1;
  }
}
