// The POST /api/v1/tasks body that hecsctl run sends, made from its flags (docs/tasks.md). The
// server checks every field again; these checks are the ones a flag can name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "cli/commands.h"
#include "common/result.h"

namespace hecs::cli {

inline constexpr std::size_t kMaxScriptBytes = std::size_t{64} * 1024;  // the agent's limit

// "300" (seconds) or a duration such as "90s", "5m", "2h", "1d"; nullopt for anything else.
std::optional<std::int64_t> parse_seconds(std::string_view text);

// The request for `options`, with `script_text` the content of --script FILE (ignored without
// --script) and "confirm": true when `confirm`. Errc::invalid_input, with a message that names
// the flags, when the target or the command is missing or given twice, or a flag is malformed.
Result<boost::json::value> task_request(const RunOptions& options, std::string_view script_text,
                                        bool confirm);

}  // namespace hecs::cli
