// hecs-sim: a fleet of simulated agents for benchmarks and load tests (DESIGN §1).
#include <iostream>

#include <fmt/format.h>

#include "common/config/config.h"
#include "sim/sim.h"

int main(int argc, char** argv) {
  try {
    hecs::sim::Options options;
    CLI::App cli(
        "hecs-sim: thousands of simulated HECS agents in one process, one MQTT connection "
        "each, speaking the real protocol (hello, status with last will, telemetry, task results)",
        "hecs-sim");
    cli.footer(fmt::format(
        "Each agent has its own client id and a device id that follows from --seed.\n"
        "Each agent holds one descriptor (its socket), and the process needs --count + {}.\n"
        "hecs-sim raises its soft descriptor limit to the hard one (ulimit -Hn) at start and,\n"
        "when even that is too low, stops with exit code 2: raise the limit in the shell that\n"
        "starts it (ulimit -n), or split the fleet over processes with --first-index.\n"
        "Tasks: each agent answers a \"task\" command on up/result as hecs-agent does (running,\n"
        "--task-output bytes of stdout, succeeded or failed) without running anything; give\n"
        "--command-keys-file DATA_DIR/pki/signing-keys.json so that it verifies commands too.\n"
        "Example: ulimit -n 20000; hecs-sim --count 10000 --interval 10 --ramp 1000 "
        "--mqtt-url mqtt://127.0.0.1:1883",
        hecs::sim::kDescriptorMargin));
    hecs::sim::add_flags(cli, options);
    if (auto code = hecs::config::parse(cli, argc, argv, std::cout, std::cerr)) {
      return *code;
    }
    return hecs::sim::run(options);
  } catch (const std::exception& e) {
    std::cerr << "hecs-sim: bug.escaped_exception what=" << e.what() << "\n";
    return 1;
  }
}
