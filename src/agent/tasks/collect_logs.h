// The collect-logs builtin (docs/tasks.md "Builtins"): the agent's own log, the journal of chosen
// units and files under an allow-list, in one tar.gz with its sha256. Private to agent/tasks.
//
// Threading: collect_logs blocks (it runs journalctl and
// compresses), so the executor runs it on a worker thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "common/result.h"
#include "proto/builtins.h"
#include "proto/proto.h"

namespace hecs::agent::tasks {

struct CollectSettings {
  std::vector<std::filesystem::path> allow;       // collect_logs_allow (S26)
  std::uint64_t max_bytes = 8 * 1024 * 1024;      // collect_logs_max_bytes: compressed bundle
  std::vector<std::filesystem::path> agent_logs;  // log_file and its rotations, may be empty
  std::string agent_unit = "hecs-agent.service";  // whose journal stands in for agent_logs
  std::string journalctl = "journalctl";          // run without a shell, found in PATH
  std::filesystem::path scratch_dir;              // spool for journalctl's output
};

// What args asked for (proto/builtins.h checks them).
using proto::CollectRequest;
using proto::parse_collect_args;

struct Bundle {
  std::string name;    // "collect-logs-<task>.tar.gz"
  std::string bytes;   // the tar.gz
  std::string sha256;  // lower-case hex of bytes
};

// Collects everything into a tar.gz. Every path is confined first (S26): after symlinks are
// resolved it must lie under an allowed directory, and it is opened beneath that directory
// without following any symlink (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so a link
// swapped in after the check cannot escape; a refused path fails the whole run before anything
// is read. A unit whose journalctl fails is not an error: its error text goes into the bundle.
// Errc::invalid_input (refused path, bundle over max_bytes), timeout (deadline passed),
// conflict (cancelled), unavailable (I/O).
Result<Bundle> collect_logs(const std::string& task, const CollectRequest& request,
                            const CollectSettings& settings, const std::atomic<bool>& cancelled,
                            std::chrono::steady_clock::time_point deadline);

// The up/result messages that carry `bundle`, in order, each at most kMaxArtifactChunkBytes.
std::vector<proto::TaskResult> artifact_pieces(const std::string& task, const Bundle& bundle);

}  // namespace hecs::agent::tasks
