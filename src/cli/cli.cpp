#include "cli/cli.h"

#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/http_client.h"
#include "cli/json_view.h"
#include "cli/settings.h"
#include "cli/text.h"

namespace hecs::cli {

namespace json = boost::json;

namespace {

constexpr const char* kGlobalGroup = "Global options";

void build_root(CLI::App& app, Invocation& inv, std::vector<Verb>& verbs) {
  app.footer(
      "Settings: flag, then environment (HECS_URL, HECS_API_KEY, HECS_CA_FILE), then the config\n"
      "file (~/.config/hecs/config.yaml with url:, ca_file:, api_key:, token:), then the\n"
      "default: https://localhost:8080, verified with the system trust store. hecsctl login\n"
      "saves api_key: or token: there. hecs-control's own CA is DATA_DIR/pki/ca.pem on its\n"
      "host: copy it and pass --ca-file.\n"
      "Exit codes: 0 ok, 1 server or network error, 2 usage or configuration error.\n\n"
      "Example:\n  hecsctl --url https://control.lan:8080 --ca-file ~/hecs-ca.pem login "
      "--username admin\n"
      "  hecsctl devices list --online false");
  app.fallthrough();
  app.set_version_flag("--version", "hecsctl 0.1.0");
  add_global_options(app, inv.global);
  add_device_commands(app, inv, verbs);
  add_token_commands(app, inv, verbs);
  add_signing_key_commands(app, inv, verbs);
  add_auth_commands(app, inv, verbs);
  add_key_commands(app, inv, verbs);
  add_user_commands(app, inv, verbs);
  add_tenant_commands(app, inv, verbs);
  add_session_commands(app, inv, verbs);
  add_audit_commands(app, inv, verbs);
  add_run_command(app, inv, verbs);
  add_task_commands(app, inv, verbs);
}

// Which noun was given without a verb, for a message that lists its verbs.
int missing_verb(const CLI::App& app, std::ostream& err) {
  for (const CLI::App* noun : app.get_subcommands()) {
    if (noun->get_subcommands({}).empty()) {
      continue;  // a verb without a noun (login) would have run
    }
    std::vector<std::string> names;
    for (const CLI::App* verb : noun->get_subcommands({})) {
      names.push_back(verb->get_name());
    }
    err << fmt::format("hecsctl: \"{}\" needs a verb: {} (see hecsctl {} --help)\n",
                       noun->get_name(), fmt::join(names, ", "), noun->get_name());
    return kExitUsage;
  }
  err << "hecsctl: no command given; try \"hecsctl devices list\" (see --help)\n";
  return kExitUsage;
}

}  // namespace

void add_global_options(CLI::App& app, GlobalFlags& flags) {
  app.add_option("--url", flags.url, "hecs-control base URL (else $HECS_URL, config url:)")
      ->type_name("URL")
      ->group(kGlobalGroup);
  app.add_option("--api-key", flags.api_key,
                 "API key (else $HECS_API_KEY, config api_key:; both stay out of ps)")
      ->type_name("KEY")
      ->group(kGlobalGroup);
  app.add_option("--ca-file", flags.ca_file,
                 "CA (PEM) to verify the server with (else $HECS_CA_FILE, config ca_file:, "
                 "system CAs)")
      ->type_name("PATH")
      ->group(kGlobalGroup);
  app.add_option("-o,--output", flags.output, "output format (default table)")
      ->check(CLI::IsMember({"table", "json", "yaml"}))
      ->type_name("FORMAT")
      ->group(kGlobalGroup);
  app.add_option("--config", flags.config_path, "config file (default ~/.config/hecs/config.yaml)")
      ->type_name("PATH")
      ->group(kGlobalGroup);
  app.add_option("--timeout", flags.timeout_s, "seconds to wait for the server (default 30)")
      ->check(CLI::Range(1, 3600))
      ->type_name("SECONDS")
      ->group(kGlobalGroup);
}

int report(std::ostream& err, const Error& error, int exit_code) {
  err << "hecsctl: " << error.message << '\n';
  return exit_code;
}

void print_document(const json::value& document, const std::string& format, std::ostream& out) {
  std::string text = format == "yaml" ? to_yaml(document) : to_pretty_json(document);
  out << text << '\n';
}

bool print_if_document(const CommandEnv& env, const json::value& document) {
  if (env.global.output == "table") {
    return false;
  }
  print_document(document, env.global.output, env.out);
  return true;
}

CLI::Validator role_check() {
  return CLI::IsMember({"viewer", "operator", "admin", "owner", "superadmin"});
}

CLI::Validator duration_check(std::int64_t min_s, std::int64_t max_s, const std::string& range) {
  return CLI::Validator(
      [min_s, max_s, range](std::string& text) -> std::string {
        auto seconds = parse_duration_s(text);
        return seconds && *seconds >= min_s && *seconds <= max_s
                   ? ""
                   : "want a duration from " + range + ", in s, m, h or d (such as 30m or 7d)";
      },
      "");
}

int run(int argc, char** argv, std::ostream& out, std::ostream& err, const RunContext& context) {
  CLI::App app("Operate a HECS fleet through the hecs-control REST API.", "hecsctl");
  Invocation inv;
  std::vector<Verb> verbs;
  build_root(app, inv, verbs);
  try {  // CLI11 reports parse results by throwing; they end here
    app.parse(argc, argv);
  } catch (const CLI::CallForVersion& e) {
    out << e.what() << '\n';
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      return app.exit(e, out, err);  // --help, --version
    }
    // A command's own options (ls -l) are hecsctl's unless they come after --.
    bool run_argv =
        dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr && app.get_subcommand("run")->parsed();
    err << "hecsctl: " << e.what()
        << (run_argv ? " (write the command to run after --: hecsctl run ... -- ls -l)"
                     : " (see --help)")
        << "\n";
    return kExitUsage;
  }

  const Verb* verb = nullptr;
  for (const Verb& candidate : verbs) {
    if (candidate.app->parsed()) {
      verb = &candidate;
    }
  }
  if (verb == nullptr) {
    return missing_verb(app, err);
  }

  bool needs_credential = !verb->needs_credential || verb->needs_credential();
  auto settings =
      resolve_settings(inv.global, needs_credential ? Credential::required : Credential::optional);
  if (!settings) {
    return report(err, settings.error(), kExitUsage);
  }
  auto http = HttpClient::create({.base_url = settings->url,
                                  .api_key = settings->credential(),
                                  .ca_file = settings->ca_file,
                                  .timeout = settings->timeout});
  if (!http) {
    return report(err, http.error(), kExitFailure);
  }
  CommandEnv env{.out = out,
                 .err = err,
                 .context = context,
                 .global = inv.global,
                 .settings = *settings,
                 .http = *http};
  return verb->run(env);
}

int run(int argc, char** argv, std::ostream& out, std::ostream& err) {
  SystemClock clock;
  return run(argc, argv, out, err, RunContext{.clock = clock});
}

}  // namespace hecs::cli
