// Small files written so that a crash or power cut leaves either the old or the new content:
// state files of the agent, keys and certificates of the control plane.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include <sys/types.h>

#include "common/result.h"

namespace hecs::files {

// Writes `text` to a temp file created with `mode` next to `path`, then renames it over `path`.
// With `durable`, the file and its directory are fsynced, so the rename survives a power cut.
// Errc::unavailable with the path and the system's reason.
Result<void> write_atomic(const std::filesystem::path& path, std::string_view text,
                          mode_t mode = 0600, bool durable = true);

// Reads a whole file of at most `max_bytes`. Errc::not_found when it does not exist,
// Errc::invalid_input when larger, Errc::unavailable when unreadable.
Result<std::string> read_small(const std::filesystem::path& path,
                               std::size_t max_bytes = 1024 * 1024);

}  // namespace hecs::files
