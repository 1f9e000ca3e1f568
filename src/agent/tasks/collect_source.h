// Parts of collect-logs (collect_logs.h): a descriptor owner, the size-capped tar.gz writer
// (libarchive) and the journalctl runner. Private to agent/tasks; used on the worker thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <unistd.h>

#include "agent/tasks/collect_logs.h"
#include "common/result.h"

struct archive;

namespace hecs::agent::tasks {

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = fd;
  }

 private:
  int fd_;
};

// A tar.gz (POSIX pax) built into `out`; past `max_bytes` of compressed output every call fails
// with Errc::invalid_input, and `out` must be dropped.
class ArchiveWriter {
 public:
  ArchiveWriter(std::string prefix, std::uint64_t max_bytes, std::string& out);
  ~ArchiveWriter();
  ArchiveWriter(const ArchiveWriter&) = delete;
  ArchiveWriter& operator=(const ArchiveWriter&) = delete;

  Result<void> open();
  // The file's bytes up to its size when called (a log that grows meanwhile is cut there).
  Result<void> add_file(const std::string& name, int fd);
  Result<void> add_text(const std::string& name, const std::string& text);
  Result<void> close();

 private:
  Result<void> check(int rc, std::string_view doing);
  struct Sink;
  std::string prefix_;
  std::unique_ptr<Sink> sink_;
  archive* archive_ = nullptr;
};

// Runs `journalctl -u UNIT --since SINCE -o short-iso --no-pager` without a shell and adds its
// output as DIR/UNIT.log; journalctl's stderr, a non-zero exit or a failure to start it go into
// that file too, after the output, so one broken unit does not fail the run. Errc::timeout past
// the deadline, Errc::conflict when cancelled.
struct JournalRunner {
  const CollectSettings& settings;
  const std::string& since;
  const std::atomic<bool>& cancelled;
  std::chrono::steady_clock::time_point deadline;
  Result<void> add(ArchiveWriter& out, const std::string& unit, const std::string& dir,
                   std::string& manifest) const;
};

}  // namespace hecs::agent::tasks
