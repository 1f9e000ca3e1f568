#include <exception>
#include <iostream>

#include <unistd.h>

#include "cli/cli.h"

int main(int argc, char** argv) {
  try {
    hecs::SystemClock clock;
    return hecs::cli::run(argc, argv, std::cout, std::cerr,
                          {.clock = clock, .stderr_is_terminal = isatty(STDERR_FILENO) == 1});
  } catch (const std::exception& e) {  // the last net (CONVENTIONS §3): a bug, not an input
    std::cerr << "hecsctl: bug: escaped exception: " << e.what() << "\n";
    return hecs::cli::kExitFailure;
  }
}
