#include "cli/cli.h"

#include <string>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/api.h"
#include "cli/device_format.h"
#include "cli/http_client.h"
#include "cli/json_view.h"
#include "cli/settings.h"

namespace hecs::cli {

namespace json = boost::json;

namespace {

constexpr const char* kGlobalGroup = "Global options";
constexpr int kMaxLimit = 500;  // the server's page-size cap (docs/api.md)

struct Invocation {
  GlobalFlags global;
  std::string online;  // "", "true" or "false"
  std::string query;
  int limit = 0;
  bool all = false;
  std::string device_id;
};

struct Commands {
  CLI::App* list = nullptr;
  CLI::App* show = nullptr;
};

// On the root and on every verb, so that they work before or after the verb and each verb's
// --help lists them.
void add_global_options(CLI::App& app, GlobalFlags& flags) {
  app.add_option("--url", flags.url, "hecs-control base URL (else $HECS_URL, config url:)")
      ->type_name("URL")
      ->group(kGlobalGroup);
  app.add_option("--api-key", flags.api_key,
                 "API key (else $HECS_API_KEY, config api_key:; both stay out of ps)")
      ->type_name("KEY")
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

Commands build_app(CLI::App& app, Invocation& inv) {
  app.footer(
      "Settings: flag, then environment (HECS_URL, HECS_API_KEY), then the config file\n"
      "(~/.config/hecs/config.yaml with url: and api_key:), then http://127.0.0.1:8080.\n"
      "Exit codes: 0 ok, 1 server or network error, 2 usage or configuration error.\n\n"
      "Example:\n  export HECS_API_KEY=...\n  hecsctl devices list --online false");
  app.fallthrough();
  app.set_version_flag("--version", "hecsctl 0.1.0");
  add_global_options(app, inv.global);

  CLI::App* devices = app.add_subcommand("devices", "List and inspect enrolled devices");
  devices->footer("Example:\n  hecsctl devices list\n  hecsctl devices show <id>");
  devices->fallthrough(false);  // so that a mistyped verb is named as unexpected
  add_global_options(*devices, inv.global);

  Commands commands;
  commands.list = devices->add_subcommand("list", "List devices, one page or --all");
  commands.list
      ->add_option("--online", inv.online,
                   "only devices that are (true) or not (false) "
                   "connected now")
      ->check(CLI::IsMember({"true", "false"}));
  commands.list->add_option("-q,--query", inv.query, "only devices whose hostname or id has TEXT")
      ->type_name("TEXT");
  commands.list->add_option("--limit", inv.limit, "devices per page (default: the server's)")
      ->check(CLI::Range(1, kMaxLimit))
      ->type_name("N");
  commands.list->add_flag("--all", inv.all, "follow next_cursor and print every page");
  commands.list->footer(
      "Examples:\n  hecsctl devices list --online false -q pi- --all\n"
      "  hecsctl devices list --all -o json | jq -r '.items[].hostname'");
  add_global_options(*commands.list, inv.global);

  commands.show = devices->add_subcommand("show", "Show one device: inventory and telemetry");
  commands.show->add_option("id", inv.device_id, "device id, as in the ID column of devices list")
      ->required();
  commands.show->footer(
      "Example:\n  hecsctl devices show 6f1c2a4e-0b1d-4c3e-9f8a-2b7d5e4c1a90 -o yaml");
  add_global_options(*commands.show, inv.global);
  return commands;
}

int report(std::ostream& err, const Error& error, int exit_code) {
  err << "hecsctl: " << error.message << '\n';
  return exit_code;
}

void print_document(const json::value& document, const std::string& format, std::ostream& out) {
  std::string text = format == "yaml" ? to_yaml(document) : to_pretty_json(document);
  out << text << '\n';
}

int devices_list(const Invocation& inv, DevicesApi& api, std::ostream& out, std::ostream& err,
                 const RunContext& context) {
  DeviceQuery query;
  if (!inv.online.empty()) {
    query.online = inv.online == "true";
  }
  query.text = inv.query;
  query.limit = inv.limit;
  auto page = inv.all ? api.list_all(query) : api.list_page(query);
  if (!page) {
    return report(err, page.error(), kExitFailure);
  }
  const json::array& items = *get_array(*page, "items");  // list_page checked it is there
  if (inv.global.output != "table") {
    print_document(*page, inv.global.output, out);
  } else if (items.empty()) {
    err << "no devices found\n";
  } else {
    out << format_device_table(items, context.clock.now_ms());
  }
  auto next = get_string(*page, "next_cursor");
  if (!inv.all && context.stderr_is_terminal && next && !next->empty()) {
    auto total = get_number(*page, "total");
    err << fmt::format("showing {} of {}; use --all\n", items.size(),
                       total ? fmt::format("{}", *total) : std::string("more"));
  }
  return kExitOk;
}

int devices_show(const Invocation& inv, DevicesApi& api, std::ostream& out, std::ostream& err,
                 const RunContext& context) {
  auto device = api.show(inv.device_id);
  if (!device) {
    return report(err, device.error(), kExitFailure);
  }
  if (inv.global.output != "table") {
    print_document(*device, inv.global.output, out);
  } else {
    out << format_device_details(*device, context.clock.now_ms());
  }
  return kExitOk;
}

}  // namespace

int run(int argc, char** argv, std::ostream& out, std::ostream& err, const RunContext& context) {
  CLI::App app("Operate a HECS fleet through the hecs-control REST API.", "hecsctl");
  Invocation inv;
  Commands commands = build_app(app, inv);
  try {  // CLI11 reports parse results by throwing; they end here
    app.parse(argc, argv);
  } catch (const CLI::CallForVersion& e) {
    out << e.what() << '\n';
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      return app.exit(e, out, err);  // --help, --version
    }
    err << "hecsctl: " << e.what() << " (see --help)\n";
    return kExitUsage;
  }

  if (!commands.list->parsed() && !commands.show->parsed()) {
    err << "hecsctl: no command given; try \"hecsctl devices list\" (see --help)\n";
    return kExitUsage;
  }

  auto settings = resolve_settings(inv.global);
  if (!settings) {
    return report(err, settings.error(), kExitUsage);
  }
  auto http = HttpClient::create(
      {.base_url = settings->url, .api_key = settings->api_key, .timeout = settings->timeout});
  if (!http) {
    return report(err, http.error(), kExitFailure);
  }
  DevicesApi api(*http);
  if (commands.list->parsed()) {
    return devices_list(inv, api, out, err, context);
  }
  return devices_show(inv, api, out, err, context);
}

int run(int argc, char** argv, std::ostream& out, std::ostream& err) {
  SystemClock clock;
  return run(argc, argv, out, err, RunContext{.clock = clock});
}

}  // namespace hecs::cli
