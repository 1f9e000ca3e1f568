// Where hecsctl finds the server, its credential and the CA to verify it with: flag >
// environment > config file > default. `hecsctl login` and `logout` write the config file.
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

// The config file: YAML with the keys `url:`, `ca_file:`, `api_key:` and `token:`, all
// optional. `token:` is the session token `hecsctl login --username` saves.
struct FileConfig {
  std::optional<std::string> url{};
  std::optional<std::string> ca_file{};  // a relative path is relative to the config file
  std::optional<std::string> api_key{};
  std::optional<std::string> token{};
};

// Where a setting came from, for messages and for what `login` saves.
enum class Source { flag, environment, config_file, default_value };

struct Settings {
  std::string url;        // no trailing slash
  std::string api_key{};  // from --api-key, HECS_API_KEY or the config's api_key:
  std::string token{};    // the config's token:, only when no API key is given anywhere
  std::string ca_file{};  // PEM CA to verify https with; empty: the system trust store
  std::chrono::seconds timeout{30};
  std::filesystem::path config_path{};  // the config file in use (it may not exist); empty
                                        // when neither --config nor HOME says where
  Source url_source = Source::default_value;
  Source ca_source = Source::default_value;

  // What goes after "Authorization: Bearer ": the API key, else the session token; both are
  // sent the same way. Empty when neither is set.
  const std::string& credential() const { return api_key.empty() ? token : api_key; }
};

// $XDG_CONFIG_HOME/hecs/config.yaml, else $HOME/.config/hecs/config.yaml; empty if neither set.
std::filesystem::path default_config_path();

// How load_config_file returns ca_file: resolved against the config file's folder (for use),
// or as written (for `login` and `logout`, which write the file back).
enum class Paths { resolved, as_written };

// Reads the config file. A missing file is an empty config unless `required` (the user named
// it with --config). Unknown keys, non-scalar values and YAML errors: Errc::invalid_input with
// a one-line message naming the file and the key or line.
Result<FileConfig> load_config_file(const std::filesystem::path& path, bool required,
                                    Paths paths = Paths::resolved);

// Writes the config file with mode 0600 (it holds a credential), through a temporary file and
// a rename, so a crash leaves the old file or the new one; creates its folder (0700) if
// missing. Keys left nullopt are not written. Errc::unavailable when the file cannot be
// written, with the path and the reason.
Result<void> save_config_file(const std::filesystem::path& path, const FileConfig& config);

// Whether a command needs a credential: most do; `login`, `logout` and offline `audit verify`
// do not, and for them a missing --config file is not an error either.
enum class Credential { required, optional };

// Resolves url, credential and CA file from flags, then HECS_URL / HECS_API_KEY /
// HECS_CA_FILE, then the config file (api_key:, else token:), then the defaults.
// Errc::invalid_input: bad config, bad url, a missing credential when required, a malformed
// one (the message says where to put it and never contains it), a CA file that is not a
// readable file (the message names where it was set).
Result<Settings> resolve_settings(const GlobalFlags& flags, Credential need = Credential::required);

// Whether `text` may go into an HTTP header: no spaces, no control or non-ASCII bytes.
bool is_header_safe(std::string_view text);

}  // namespace hecs::cli
