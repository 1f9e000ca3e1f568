// Where hecsctl finds the server, its key and the CA to verify it with: flag > environment >
// config file > default.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "common/result.h"

namespace hecs::cli {

// hecs-control serves HTTPS by default, with a certificate for localhost and 127.0.0.1.
inline constexpr const char* kDefaultUrl = "https://localhost:8080";

// Global options as given on the command line; empty means "not given".
struct GlobalFlags {
  std::string url{};
  std::string api_key{};
  std::string config_path{};
  std::string ca_file{};
  std::string output = "table";  // table | json | yaml (checked by the parser)
  int timeout_s = 30;            // 1..3600 (checked by the parser)
};

// The config file: YAML with the keys `url:`, `api_key:` and `ca_file:`, all optional.
struct FileConfig {
  std::optional<std::string> url;
  std::optional<std::string> api_key;
  std::optional<std::string> ca_file;  // a relative path is relative to the config file
};

struct Settings {
  std::string url;  // no trailing slash
  std::string api_key{};
  std::string ca_file{};  // PEM CA to verify https with; empty: the system trust store
  std::chrono::seconds timeout{30};
};

// $XDG_CONFIG_HOME/hecs/config.yaml, else $HOME/.config/hecs/config.yaml; empty if neither set.
std::filesystem::path default_config_path();

// Reads the config file. A missing file is an empty config unless `required` (the user named
// it with --config). Unknown keys, non-scalar values and YAML errors: Errc::invalid_input with
// a one-line message naming the file and the key or line.
Result<FileConfig> load_config_file(const std::filesystem::path& path, bool required);

// Resolves url, key and CA file from flags, then HECS_URL / HECS_API_KEY / HECS_CA_FILE, then
// the config file, then the defaults. Errc::invalid_input: bad config, bad url, missing or
// malformed key (the message says where to put the key and never contains it), a CA file that
// is not a readable file (the message names where it was set).
Result<Settings> resolve_settings(const GlobalFlags& flags);

}  // namespace hecs::cli
