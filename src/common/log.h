// Logging (CONVENTIONS §4): a named spdlog logger per module; lines are "area.event key=value".
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace hecs::log {

using Logger = std::shared_ptr<spdlog::logger>;

// The logger for a module ("agent.uplink"), created on first use, writing to stderr.
Logger get(const std::string& name);

// Sets the level of every logger, present and future: trace, debug, info, warn, error, off.
bool set_level(std::string_view level);

// An outside value made safe for one log line: quoted, escaped, cut at 200 characters.
std::string quoted(std::string_view value);

}  // namespace hecs::log
