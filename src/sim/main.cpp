// hecs-sim: a fleet of simulated agents for benchmarks and load tests (DESIGN §1).
#include <iostream>

#include "common/config/config.h"
#include "sim/sim.h"

int main(int argc, char** argv) {
  try {
    hecs::sim::Options options;
    CLI::App cli(
        "hecs-sim: thousands of simulated HECS agents in one process, one MQTT connection "
        "each, speaking the real protocol (hello, status with last will, telemetry)",
        "hecs-sim");
    cli.footer(
        "Each agent has its own client id and a device id that follows from --seed.\n"
        "Each agent holds 3 descriptors (libmosquitto adds a socketpair): raise ulimit -n, or "
        "split\n"
        "the fleet over processes with --first-index.\n"
        "Example: hecs-sim --count 10000 --interval 10 --ramp 1000 --mqtt-url "
        "mqtt://127.0.0.1:1883");
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
