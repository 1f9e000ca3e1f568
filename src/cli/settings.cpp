#include "cli/settings.h"

#include <cstdlib>
#include <fstream>
#include <system_error>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "cli/text.h"

namespace hecs::cli {
namespace {

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read before threads
  return value == nullptr ? std::string() : std::string(value);
}

// The first non-empty of the candidates.
std::string first_set(std::initializer_list<std::string> candidates) {
  for (const std::string& candidate : candidates) {
    if (!candidate.empty()) {
      return candidate;
    }
  }
  return {};
}

Result<std::string> normalize_url(std::string url, std::string_view source) {
  bool http = url.rfind("http://", 0) == 0;
  bool https = url.rfind("https://", 0) == 0;
  std::size_t host_start = https ? 8 : 7;
  if ((!http && !https) || url.size() <= host_start ||
      url.find_first_of("?# \t\r\n") != std::string::npos) {
    return fail(Errc::invalid_input,
                fmt::format("url {} from {}: want http(s)://host[:port][/path]",
                            escape_for_terminal(url), source));
  }
  while (url.size() > host_start && url.back() == '/') {
    url.pop_back();
  }
  return url;
}

// An HTTP header value must not carry CR/LF (header injection) or other controls.
bool is_valid_api_key(std::string_view key) {
  for (char c : key) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7F) {
      return false;
    }
  }
  return true;
}

std::optional<std::string>* config_slot(FileConfig& config, std::string_view key) {
  return key == "url"       ? &config.url
         : key == "api_key" ? &config.api_key
         : key == "ca_file" ? &config.ca_file
                            : nullptr;
}

// A CA file that is missing or unreadable is an error here, with its source named, rather than
// a TLS failure later that would look like the server's fault.
Result<void> check_ca_file(const std::string& path, std::string_view source) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  std::string_view problem = !std::filesystem::exists(status)            ? "no such file"
                             : !std::filesystem::is_regular_file(status) ? "not a file"
                             : !std::ifstream(path).is_open()            ? "cannot be read"
                                                                         : "";
  if (!problem.empty()) {
    return fail(Errc::invalid_input,
                fmt::format("CA file {} from {}: {}", escape_for_terminal(path), source, problem));
  }
  return {};
}

}  // namespace

std::filesystem::path default_config_path() {
  std::string xdg = env_or_empty("XDG_CONFIG_HOME");
  if (!xdg.empty()) {
    return std::filesystem::path(xdg) / "hecs" / "config.yaml";
  }
  std::string home = env_or_empty("HOME");
  if (!home.empty()) {
    return std::filesystem::path(home) / ".config" / "hecs" / "config.yaml";
  }
  return {};
}

Result<FileConfig> load_config_file(const std::filesystem::path& path, bool required) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (!required) {
      return FileConfig{};
    }
    return fail(Errc::invalid_input, fmt::format("config {}: no such file", path.string()));
  }
  YAML::Node root;
  try {  // yaml-cpp reports errors by throwing (CONVENTIONS §3): map them here
    root = YAML::LoadFile(path.string());
  } catch (const YAML::Exception& e) {
    std::string where = e.mark.is_null() ? "" : fmt::format("line {}: ", e.mark.line + 1);
    return fail(Errc::invalid_input, fmt::format("config {}: {}{}", path.string(), where, e.msg));
  }
  FileConfig config;
  if (root.IsNull()) {
    return config;
  }
  if (!root.IsMap()) {
    return fail(
        Errc::invalid_input,
        fmt::format("config {}: want a map of keys (url, api_key, ca_file)", path.string()));
  }
  for (const auto& entry : root) {
    std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "?";
    std::optional<std::string>* slot = config_slot(config, key);
    if (slot == nullptr) {
      return fail(Errc::invalid_input,
                  fmt::format("config {}: unknown key \"{}\" (known: url, api_key, ca_file)",
                              path.string(), escape_for_terminal(key)));
    }
    if (!entry.second.IsScalar()) {
      return fail(Errc::invalid_input,
                  fmt::format("config {}: key \"{}\" wants a string", path.string(), key));
    }
    *slot = entry.second.Scalar();
  }
  if (config.ca_file && !config.ca_file->empty() &&
      std::filesystem::path(*config.ca_file).is_relative()) {
    config.ca_file = (path.parent_path() / *config.ca_file).string();
  }
  return config;
}

Result<Settings> resolve_settings(const GlobalFlags& flags) {
  std::filesystem::path config_path =
      flags.config_path.empty() ? default_config_path() : std::filesystem::path(flags.config_path);
  FileConfig file;
  if (!config_path.empty()) {
    auto loaded = load_config_file(config_path, !flags.config_path.empty());
    if (!loaded) {
      return tl::unexpected<Error>(std::move(loaded.error()));
    }
    file = std::move(*loaded);
  }

  Settings settings;
  settings.timeout = std::chrono::seconds(flags.timeout_s);
  std::string env_url = env_or_empty("HECS_URL");
  std::string url_source = !flags.url.empty() ? "--url"
                           : !env_url.empty() ? "HECS_URL"
                           : file.url         ? config_path.string()
                                              : "the default";
  auto url = normalize_url(first_set({flags.url, env_url, file.url.value_or(""), kDefaultUrl}),
                           url_source);
  if (!url) {
    return tl::unexpected<Error>(std::move(url.error()));
  }
  settings.url = std::move(*url);

  settings.api_key =
      first_set({flags.api_key, env_or_empty("HECS_API_KEY"), file.api_key.value_or("")});
  std::string where = config_path.empty() ? "~/.config/hecs/config.yaml" : config_path.string();
  if (settings.api_key.empty()) {
    return fail(Errc::invalid_input,
                fmt::format("no API key: set HECS_API_KEY, pass --api-key, or put \"api_key: "
                            "<key>\" in {}",
                            where));
  }
  if (!is_valid_api_key(settings.api_key)) {
    return fail(Errc::invalid_input,
                "the API key contains spaces or control characters; check where it was set");
  }

  std::string env_ca = env_or_empty("HECS_CA_FILE");
  settings.ca_file = first_set({flags.ca_file, env_ca, file.ca_file.value_or("")});
  if (!settings.ca_file.empty()) {
    std::string ca_source = !flags.ca_file.empty() ? "--ca-file"
                            : !env_ca.empty()      ? "HECS_CA_FILE"
                                                   : config_path.string();
    if (auto usable = check_ca_file(settings.ca_file, ca_source); !usable) {
      return tl::unexpected<Error>(std::move(usable.error()));
    }
  }
  return settings;
}

}  // namespace hecs::cli
