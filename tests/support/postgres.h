// A real PostgreSQL 15 server for tests (DESIGN §11): initdb + postgres as the non-root user
// "postgres", in a temporary directory, on a free loopback port, with fsync off. The server is
// a child of the test process: it is stopped by the destructor, and by the kernel
// (PR_SET_PDEATHSIG) if the test process dies first, so a crashed test leaks no server.
// Several test processes can each run their own at the same time.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "support/tempdir.h"

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
  std::unique_ptr<TempDir> dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace hecs::test
