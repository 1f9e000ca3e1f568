// Test helpers: a temporary directory removed at scope exit, and free loopback ports.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace hecs::test {

class TempDir {
 public:
  // Creates a fresh directory under $TMPDIR (or /tmp) named hecs-<prefix>-XXXXXX.
  explicit TempDir(const std::string& prefix = "test");
  ~TempDir();  // removes it recursively
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A TCP port on 127.0.0.1 the kernel picked (bind 0), released before returning: for servers
// such as Mosquitto or PostgreSQL that cannot be told to bind port 0 themselves.
std::uint16_t free_port();

// Directory of the project's built binaries (HECS_BIN_DIR, set by ctest).
std::filesystem::path bin_dir();
std::filesystem::path source_dir();

}  // namespace hecs::test
