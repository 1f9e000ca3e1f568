// Arguments of the builtins (docs/tasks.md "Builtins"): checked by the control plane before a
// task is stored, and again by the agent before it runs one. Pure functions, any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "common/result.h"

namespace hecs::proto {

// collect-logs: units of the systemd charset (never an option to journalctl), `since` as
// journalctl takes it ("-1h", or "@<unix s>" from unix milliseconds), absolute paths without
// empty, "." or ".." components or NUL (S26; the agent confines them to its allow-list).
struct CollectRequest {
  std::vector<std::string> units;
  std::string since = "-24h";
  std::vector<std::string> paths;
};
inline constexpr std::size_t kMaxCollectUnits = 32;
inline constexpr std::size_t kMaxCollectPaths = 32;
Result<CollectRequest> parse_collect_args(const boost::json::object& args);

// The args of builtin `name`: reboot takes exactly {"confirm": true}, collect-logs what
// parse_collect_args accepts, the others none. Errc::invalid_input naming the field.
Result<void> check_builtin_args(std::string_view name, const boost::json::object& args);

}  // namespace hecs::proto
