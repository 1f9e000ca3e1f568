// hecsctl devices list|show|accept|reject|revoke|tag.
#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/api.h"
#include "cli/commands.h"
#include "cli/device_format.h"
#include "cli/json_view.h"
#include "cli/text.h"

namespace hecs::cli {

namespace json = boost::json;

namespace {

constexpr int kMaxLimit = 500;  // the server's page-size cap (docs/api.md)

int devices_list(const DeviceOptions& options, CommandEnv& env) {
  DevicesApi api(env.http);
  DeviceQuery query;
  if (!options.online.empty()) {
    query.online = options.online == "true";
  }
  query.text = options.query;
  query.limit = options.limit;
  auto page = options.all ? api.list_all(query) : api.list_page(query);
  if (!page) {
    return report(env.err, page.error(), kExitFailure);
  }
  const json::array& items = *get_array(*page, "items");  // list_page checked it is there
  if (env.global.output != "table") {
    print_document(*page, env.global.output, env.out);
  } else if (items.empty()) {
    env.err << "no devices found\n";
  } else {
    env.out << format_device_table(items, env.context.clock.now_ms());
  }
  auto next = get_string(*page, "next_cursor");
  if (!options.all && env.context.stderr_is_terminal && next && !next->empty()) {
    auto total = get_number(*page, "total");
    env.err << fmt::format("showing {} of {}; use --all\n", items.size(),
                           total ? fmt::format("{}", *total) : std::string("more"));
  }
  return kExitOk;
}

int devices_show(const DeviceOptions& options, CommandEnv& env) {
  auto device = DevicesApi(env.http).show(options.id);
  if (!device) {
    return report(env.err, device.error(), kExitFailure);
  }
  if (env.global.output != "table") {
    print_document(*device, env.global.output, env.out);
  } else {
    env.out << format_device_details(*device, env.context.clock.now_ms());
  }
  return kExitOk;
}

int devices_decide(const DeviceOptions& options, Decision decision, CommandEnv& env) {
  auto decided = DevicesApi(env.http).decide(options.id, decision);
  if (!decided) {
    return report(env.err, decided.error(), kExitFailure);
  }
  if (env.global.output != "table") {
    print_document(*decided, env.global.output, env.out);
    return kExitOk;
  }
  std::string id = escape_for_terminal(get_string(*decided, "device_id").value_or(options.id));
  std::string state = escape_for_terminal(*get_string(*decided, "state"));  // decide checked it
  std::string_view consequence =
      decision == Decision::accept
          ? "its certificate is issued; it connects on its next enrolment poll"
      : decision == Decision::reject
          ? "it gets no certificate and its enrolment attempts are refused"
          : "its certificate is revoked and the broker refuses its connections and messages; "
            "this cannot be undone";
  env.out << fmt::format("device {} is now {}: {}\n", id, state, consequence);
  return kExitOk;
}

int devices_tag(const DeviceOptions& options, CommandEnv& env) {
  if (options.tags.empty() == !options.clear_tags) {
    env.err << "hecsctl: give the tags (key=value or key), or --clear to remove them all\n";
    return kExitUsage;
  }
  auto tagged = DevicesApi(env.http).set_tags(options.id, options.tags);
  if (!tagged) {
    return report(env.err, tagged.error(),
                  tagged.error().code == Errc::invalid_input ? kExitUsage : kExitFailure);
  }
  if (print_if_document(env, *tagged)) {
    return kExitOk;
  }
  std::string id = escape_for_terminal(get_string(*tagged, "id").value_or(options.id));
  const json::array& tags = *get_array(*tagged, "tags");  // set_tags checked it
  env.out << (tags.empty() ? fmt::format("device {} has no tags now\n", id)
                           : fmt::format("device {} tags: {}\n", id, join_strings(&tags)));
  return kExitOk;
}

void add_decision(CLI::App& devices, Invocation& inv, std::vector<Verb>& verbs, Decision decision,
                  const std::string& name, const std::string& description,
                  const std::string& footer) {
  CLI::App* verb = devices.add_subcommand(name, description);
  verb->add_option("id", inv.devices.id, "device id, as in the ID column of devices list")
      ->required();
  verb->footer(footer);
  add_global_options(*verb, inv.global);
  verbs.push_back({verb, [&options = inv.devices, decision](CommandEnv& env) {
                     return devices_decide(options, decision, env);
                   }});
}

}  // namespace

void add_device_commands(CLI::App& root, Invocation& inv, std::vector<Verb>& verbs) {
  CLI::App* devices =
      root.add_subcommand("devices", "List, inspect, tag and accept, reject or revoke devices");
  devices->footer(
      "Example:\n  hecsctl devices list\n  hecsctl devices show <id>\n"
      "  hecsctl devices accept <id>");
  devices->fallthrough(false);  // so that a mistyped verb is named as unexpected
  add_global_options(*devices, inv.global);
  DeviceOptions& options = inv.devices;

  CLI::App* list = devices->add_subcommand("list", "List devices, one page or --all");
  list->add_option("--online", options.online,
                   "only devices that are (true) or not (false) connected now")
      ->check(CLI::IsMember({"true", "false"}));
  list->add_option("-q,--query", options.query, "only devices whose hostname or id has TEXT")
      ->type_name("TEXT");
  list->add_option("--limit", options.limit, "devices per page (default: the server's)")
      ->check(CLI::Range(1, kMaxLimit))
      ->type_name("N");
  list->add_flag("--all", options.all, "follow next_cursor and print every page");
  list->footer(
      "STATE is the enrolment state: pending (waiting for devices accept or reject),\n"
      "accepted, rejected or revoked.\n\n"
      "Examples:\n  hecsctl devices list --online false -q pi- --all\n"
      "  hecsctl devices list --all -o json | jq -r '.items[] | select(.state == \"pending\") "
      "| .id'");
  add_global_options(*list, inv.global);
  verbs.push_back({list, [&options](CommandEnv& env) { return devices_list(options, env); }});

  CLI::App* show = devices->add_subcommand("show", "Show one device: inventory and telemetry");
  show->add_option("id", options.id, "device id, as in the ID column of devices list")->required();
  show->footer("Example:\n  hecsctl devices show 6f1c2a4e-0b1d-4c3e-9f8a-2b7d5e4c1a90 -o yaml");
  add_global_options(*show, inv.global);
  verbs.push_back({show, [&options](CommandEnv& env) { return devices_show(options, env); }});

  CLI::App* tag = devices->add_subcommand("tag", "Replace a device's tags, which selectors match");
  tag->add_option("id", options.id, "device id, as in the ID column of devices list")->required();
  tag->add_option("tags", options.tags, "key=value or key; the device keeps only these")
      ->type_name("TAG");
  tag->add_flag("--clear", options.clear_tags, "remove every tag");
  tag->footer(
      "Keys and values are 1-63 of A-Z a-z 0-9 . _ - (keys may also hold /); at most 64 tags.\n"
      "Tasks pick devices by tag with hecsctl run --selector.\n\n"
      "Example:\n  hecsctl devices tag 6f1c2a4e-0b1d-4c3e-9f8a-2b7d5e4c1a90 site=berlin "
      "role=gateway "
      "gpu\n"
      "  hecsctl devices tag 6f1c2a4e-0b1d-4c3e-9f8a-2b7d5e4c1a90 --clear");
  add_global_options(*tag, inv.global);
  verbs.push_back({tag, [&options](CommandEnv& env) { return devices_tag(options, env); }});

  add_decision(*devices, inv, verbs, Decision::accept, "accept",
               "Accept a pending device: hecs-control issues its client certificate",
               "Only a pending device can be accepted (exit 1 otherwise).\n\n"
               "Example:\n  hecsctl devices list -o json | jq -r '.items[] | "
               "select(.state == \"pending\") | .id'\n"
               "  hecsctl devices accept 6f1c2a4e-0b1d-4c3e-9f8a-2b7d5e4c1a90");
  add_decision(*devices, inv, verbs, Decision::reject, "reject",
               "Reject a pending device: it never gets a certificate",
               "Only a pending device can be rejected (exit 1 otherwise); it stays rejected.\n\n"
               "Example:\n  hecsctl devices reject 6f1c2a4e-0b1d-4c3e-9f8a-2b7d5e4c1a90");
  add_decision(*devices, inv, verbs, Decision::revoke, "revoke",
               "Revoke a device: its certificate is revoked and the broker refuses it",
               "A pending or accepted device can be revoked (exit 1 otherwise); it cannot be\n"
               "undone. There is no prompt: the id names exactly one device.\n\n"
               "Example:\n  hecsctl devices revoke 6f1c2a4e-0b1d-4c3e-9f8a-2b7d5e4c1a90");
}

}  // namespace hecs::cli
