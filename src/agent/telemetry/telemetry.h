// The agent's system readers (DESIGN §7): inventory for hello and periodic telemetry samples,
// read from /proc, /sys and /etc. Roots lets tests point those at a temporary tree.
//
// A Collector is not thread-safe: call it from the agent's io_context thread. Every call reads
// small pseudo-files and calls statvfs on local filesystems only, so it does not block long.
#pragma once

#include <cstdint>
#include <filesystem>

#include "common/result.h"
#include "proto/proto.h"

namespace hecs::agent::telemetry {

struct Roots {
  std::filesystem::path proc = "/proc";
  std::filesystem::path sys = "/sys";
  std::filesystem::path etc = "/etc";
};

class Collector {
 public:
  // Takes a first CPU sample, so that the first sample() reports the time since construction
  // (since boot if proc/stat could not be read then).
  explicit Collector(Roots roots = {});

  // Inventory for hello; session and agent_version are left to the caller. Parts that cannot
  // be read stay empty or zero. Errc::unavailable only when proc/stat cannot be read.
  Result<proto::Hello> hello() const;

  // A snapshot; cpu_percent covers the time since the previous call. Optional parts that
  // cannot be read stay zero, empty or absent. Errc::unavailable when proc/stat cannot be read.
  Result<proto::Telemetry> sample();

 private:
  Roots roots_;
  std::uint64_t cpu_busy_ = 0;  // jiffies at the previous sample
  std::uint64_t cpu_idle_ = 0;
};

}  // namespace hecs::agent::telemetry
