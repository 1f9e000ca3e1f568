#include "cli/settings.h"

#include <cstdlib>
#include <fstream>
#include <system_error>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "cli/text.h"
#include "common/files.h"

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

constexpr const char* kKnownKeys = "url, ca_file, api_key, token";

std::optional<std::string>* config_slot(FileConfig& config, std::string_view key) {
  return key == "url"       ? &config.url
         : key == "ca_file" ? &config.ca_file
         : key == "api_key" ? &config.api_key
         : key == "token"   ? &config.token
                            : nullptr;
}

std::string config_text(const FileConfig& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  for (const auto& [key, value] :
       {std::pair{"url", &config.url}, std::pair{"ca_file", &config.ca_file},
        std::pair{"api_key", &config.api_key}, std::pair{"token", &config.token}}) {
    if (*value) {
      out << YAML::Key << key << YAML::Value << YAML::DoubleQuoted << **value;
    }
  }
  out << YAML::EndMap;
  std::string text = out.c_str();
  return text == "{}" ? "" : text + "\n";
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

bool is_header_safe(std::string_view text) {
  for (char c : text) {  // CR/LF would inject headers; spaces and controls break them
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7F) {
      return false;
    }
  }
  return true;
}

Result<FileConfig> load_config_file(const std::filesystem::path& path, bool required, Paths paths) {
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
    return fail(Errc::invalid_input,
                fmt::format("config {}: want a map of keys ({})", path.string(), kKnownKeys));
  }
  for (const auto& entry : root) {
    std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "?";
    std::optional<std::string>* slot = config_slot(config, key);
    if (slot == nullptr) {
      return fail(Errc::invalid_input,
                  fmt::format("config {}: unknown key \"{}\" (known: {})", path.string(),
                              escape_for_terminal(key), kKnownKeys));
    }
    if (!entry.second.IsScalar()) {
      return fail(Errc::invalid_input,
                  fmt::format("config {}: key \"{}\" wants a string", path.string(), key));
    }
    *slot = entry.second.Scalar();
  }
  if (paths == Paths::resolved && config.ca_file && !config.ca_file->empty() &&
      std::filesystem::path(*config.ca_file).is_relative()) {
    config.ca_file = (path.parent_path() / *config.ca_file).string();
  }
  return config;
}

Result<void> save_config_file(const std::filesystem::path& path, const FileConfig& config) {
  std::error_code ec;
  std::filesystem::path dir = path.parent_path().empty() ? "." : path.parent_path();
  if (!std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return fail(Errc::unavailable, fmt::format("cannot make {}: {}", dir.string(), ec.message()));
    }
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  }
  // 0600 from the first byte: the file holds a credential.
  if (auto written = files::write_atomic(path, config_text(config), 0600); !written) {
    return fail(Errc::unavailable,
                fmt::format("cannot save the config: {}", written.error().message));
  }
  return {};
}

namespace {

// Each fills its part of `settings` from the flag, the environment, then the config file.
Result<void> resolve_url(const GlobalFlags& flags, const FileConfig& file, Settings& settings) {
  std::string env_url = env_or_empty("HECS_URL");
  settings.url_source = !flags.url.empty() ? Source::flag
                        : !env_url.empty() ? Source::environment
                        : file.url         ? Source::config_file
                                           : Source::default_value;
  std::string source = settings.url_source == Source::flag          ? "--url"
                       : settings.url_source == Source::environment ? "HECS_URL"
                       : settings.url_source == Source::config_file ? settings.config_path.string()
                                                                    : "the default";
  auto url =
      normalize_url(first_set({flags.url, env_url, file.url.value_or(""), kDefaultUrl}), source);
  if (!url) {
    return tl::unexpected<Error>(std::move(url.error()));
  }
  settings.url = std::move(*url);
  return {};
}

Result<void> resolve_credential(const GlobalFlags& flags, const FileConfig& file, Credential need,
                                Settings& settings) {
  settings.api_key =
      first_set({flags.api_key, env_or_empty("HECS_API_KEY"), file.api_key.value_or("")});
  if (settings.api_key.empty()) {
    settings.token = file.token.value_or("");
  }
  std::string where =
      settings.config_path.empty() ? "~/.config/hecs/config.yaml" : settings.config_path.string();
  if (settings.credential().empty() && need == Credential::required) {
    return fail(Errc::invalid_input,
                fmt::format("not logged in: run hecsctl login, set HECS_API_KEY, pass --api-key, "
                            "or put \"api_key: <key>\" in {}",
                            where));
  }
  if (!is_header_safe(settings.credential())) {
    return fail(Errc::invalid_input,
                settings.api_key.empty()
                    ? fmt::format("the token in {} contains spaces or control characters; run "
                                  "hecsctl login again",
                                  where)
                    : "the API key contains spaces or control characters; check where it was set");
  }
  return {};
}

Result<void> resolve_ca_file(const GlobalFlags& flags, const FileConfig& file, Settings& settings) {
  std::string env_ca = env_or_empty("HECS_CA_FILE");
  settings.ca_file = first_set({flags.ca_file, env_ca, file.ca_file.value_or("")});
  settings.ca_source = !flags.ca_file.empty()      ? Source::flag
                       : !env_ca.empty()           ? Source::environment
                       : !settings.ca_file.empty() ? Source::config_file
                                                   : Source::default_value;
  if (settings.ca_file.empty()) {
    return {};
  }
  std::string source = settings.ca_source == Source::flag          ? "--ca-file"
                       : settings.ca_source == Source::environment ? "HECS_CA_FILE"
                                                                   : settings.config_path.string();
  return check_ca_file(settings.ca_file, source);
}

}  // namespace

Result<Settings> resolve_settings(const GlobalFlags& flags, Credential need) {
  Settings settings;
  settings.config_path =
      flags.config_path.empty() ? default_config_path() : std::filesystem::path(flags.config_path);
  settings.timeout = std::chrono::seconds(flags.timeout_s);
  FileConfig file;
  if (!settings.config_path.empty()) {
    bool required = !flags.config_path.empty() && need == Credential::required;
    auto loaded = load_config_file(settings.config_path, required);
    if (!loaded) {
      return tl::unexpected<Error>(std::move(loaded.error()));
    }
    file = std::move(*loaded);
  }
  if (auto url = resolve_url(flags, file, settings); !url) {
    return tl::unexpected<Error>(std::move(url.error()));
  }
  if (auto credential = resolve_credential(flags, file, need, settings); !credential) {
    return tl::unexpected<Error>(std::move(credential.error()));
  }
  if (auto ca_file = resolve_ca_file(flags, file, settings); !ca_file) {
    return tl::unexpected<Error>(std::move(ca_file.error()));
  }
  return settings;
}

}  // namespace hecs::cli
