// The log also written to a rotated file (the agent's log_file), for where no journal keeps
// stderr, and for collect-logs to bundle. Apart from log.h so that log.h's many users do not
// see <filesystem> and Result.
#pragma once

#include <cstddef>
#include <filesystem>
#include <vector>

#include "common/result.h"

namespace hecs::log {

// Also writes every logger, present and future, to `path` (rotated at `max_bytes`, keeping
// `keep` older files). Call at start-up, before other threads log. Errc::unavailable when the
// file cannot be opened.
Result<void> to_file(const std::filesystem::path& path, std::size_t max_bytes, std::size_t keep);
// The files to_file writes: `path`, then its rotations, newest first.
std::vector<std::filesystem::path> file_set(const std::filesystem::path& path, std::size_t keep);

}  // namespace hecs::log
