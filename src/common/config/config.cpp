#include "common/config/config.h"

#include <ostream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace hecs::config {
namespace {

std::string flag_for_key(const std::string& key) {
  std::string flag = key;
  for (char& c : flag) {
    if (c == '_' || c == '.') {
      c = '-';
    }
  }
  return "--" + flag;
}

Result<void> flatten(const YAML::Node& node, const std::string& prefix, const CLI::App& app,
                     const std::string& path, std::vector<std::string>& args) {
  for (const auto& item : node) {
    std::string key;
    if (!YAML::convert<std::string>::decode(item.first, key)) {
      return fail(Errc::invalid_input, fmt::format("{}: keys must be strings", path));
    }
    std::string full = prefix.empty() ? key : prefix + "." + key;
    const YAML::Node& value = item.second;
    if (value.IsMap()) {
      if (auto r = flatten(value, full, app, path, args); !r) {
        return r;
      }
      continue;
    }
    std::string flag = flag_for_key(full);
    const CLI::Option* opt = nullptr;
    try {
      opt = app.get_option_no_throw(flag);
    } catch (const std::exception&) {
      opt = nullptr;
    }
    if (opt == nullptr || flag == "--config") {
      return fail(Errc::invalid_input, fmt::format("{}: unknown key '{}'", path, full));
    }
    if (value.IsSequence()) {
      for (const auto& element : value) {
        if (!element.IsScalar()) {
          return fail(Errc::invalid_input,
                      fmt::format("{}: key '{}': expected a list of plain values", path, full));
        }
        args.push_back(flag + "=" + element.Scalar());
      }
    } else if (value.IsScalar()) {
      args.push_back(flag + "=" + value.Scalar());
    } else if (!value.IsNull()) {
      return fail(Errc::invalid_input, fmt::format("{}: key '{}': unsupported value", path, full));
    }
  }
  return {};
}

}  // namespace

Result<std::vector<std::string>> yaml_to_args(const CLI::App& app, const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return fail(Errc::invalid_input, fmt::format("{}: cannot read the file", path));
  } catch (const YAML::Exception& e) {
    return fail(Errc::invalid_input, fmt::format("{}: line {}: {}", path, e.mark.line + 1, e.msg));
  }
  std::vector<std::string> args;
  if (root.IsNull()) {
    return args;  // an empty file is a valid, empty configuration
  }
  if (!root.IsMap()) {
    return fail(Errc::invalid_input, fmt::format("{}: expected a mapping of keys", path));
  }
  try {
    if (auto r = flatten(root, "", app, path, args); !r) {
      return tl::unexpected(r.error());
    }
  } catch (const YAML::Exception& e) {
    return fail(Errc::invalid_input, fmt::format("{}: {}", path, e.msg));
  }
  return args;
}

std::optional<int> parse(CLI::App& app, int argc, const char* const* argv, std::ostream& out,
                         std::ostream& err) {
  std::string config_path;
  app.add_option("--config", config_path, "YAML configuration file; flags override its keys");
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  for (auto* opt : app.get_options()) {
    opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  }

  // Find --config before the real parse, so the file's values go in first and flags win.
  std::vector<std::string> cmdline;
  for (int i = argc - 1; i >= 1; --i) {
    cmdline.emplace_back(argv[i]);  // CLI11 wants them reversed
  }
  std::string path;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--config" && i + 1 < argc) {
      path = argv[i + 1];
    } else if (a.starts_with("--config=")) {
      path = std::string(a.substr(9));
    }
  }
  if (!path.empty()) {
    auto file_args = yaml_to_args(app, path);
    if (!file_args) {
      err << app.get_name() << ": " << file_args.error().message << "\n";
      return kUsageExitCode;
    }
    for (auto it = file_args->rbegin(); it != file_args->rend(); ++it) {
      cmdline.push_back(*it);  // reversed: the file's values come first
    }
  }
  try {
    app.parse(cmdline);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    out << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::CallForVersion&) {
    out << app.version() << "\n";
    return 0;
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    if (!what.empty() && what.back() == '\n') {
      what.pop_back();
    }
    err << app.get_name() << ": " << what << (path.empty() ? "" : " (flags or " + path + ")")
        << "\n";
    return kUsageExitCode;
  }
  return std::nullopt;
}

}  // namespace hecs::config
