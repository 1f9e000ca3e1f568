// A real PostgreSQL 15 server for tests (DESIGN §11): postgres runs as the non-root user
// "postgres" on a free loopback port, with fsync off, in a scratch directory (/dev/shm when
// writable, else $TMPDIR or /tmp). initdb runs once per machine into hecs-pg15-template-<uid>
// there, and each server starts from a copy of it.
//
// The server is a child of the test process: the destructor stops it (immediate shutdown) and
// removes its directory, and the kernel stops it (PR_SET_PDEATHSIG) if the test process dies
// first. Several test processes can each run their own at the same time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <sys/types.h>

namespace hecs::test {

class Postgres {
 public:
  // Initialises a cluster and starts it; throws std::runtime_error (with the server log's
  // tail) when it cannot.
  static std::unique_ptr<Postgres> start();
  ~Postgres();  // immediate shutdown, then the directory is removed
  Postgres(const Postgres&) = delete;
  Postgres& operator=(const Postgres&) = delete;

  // "postgresql://postgres@127.0.0.1:<port>/postgres"
  std::string url() const;
  std::uint16_t port() const { return port_; }
  // CREATE DATABASE <name> (lower-case letters, digits, '_'); returns its URL.
  std::string create_database(const std::string& name);

 private:
  Postgres() = default;
  std::filesystem::path dir_;  // removed by the destructor
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace hecs::test
