// hecsctl signing-keys list|rotate|activate: the keys hecs-control signs device commands with
// (API keys, with which people and scripts call the API, are `hecsctl keys`).
#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/enrol_api.h"
#include "cli/enrol_format.h"
#include "cli/json_view.h"

namespace hecs::cli {

namespace json = boost::json;

namespace {

constexpr const char* kRotationSteps =
    "Rotation takes two steps, so that no device ever gets a command signed with a key it\n"
    "does not hold:\n"
    "  1. hecsctl signing-keys rotate    publishes a next key; devices receive the key list\n"
    "                                    each time they connect.\n"
    "  2. wait until the devices have connected again since step 1, then\n"
    "     hecsctl signing-keys activate  signs with the next key from now on; the old key is\n"
    "                                    retired.\n"
    "A device that was offline meanwhile still gets the new key list when it comes back:\n"
    "it is signed with a key the device already holds.\n";

enum class KeyAction { list, rotate, activate };

int keys_run(KeyAction action, CommandEnv& env) {
  EnrolmentApi api(env.http);
  auto keys = action == KeyAction::rotate     ? api.rotate_key()
              : action == KeyAction::activate ? api.activate_key()
                                              : api.list_keys();
  if (!keys) {
    return report(env.err, keys.error(), kExitFailure);
  }
  if (env.global.output != "table") {
    print_document(*keys, env.global.output, env.out);
    return kExitOk;
  }
  const json::array& items = *get_array(*keys, "items");  // EnrolmentApi checked it
  if (action == KeyAction::rotate) {
    env.out << fmt::format(
        "published next key {}; once devices have reconnected, run hecsctl signing-keys "
        "activate\n\n",
        key_in_state(items, "next"));
  } else if (action == KeyAction::activate) {
    env.out << fmt::format("key {} is active: commands are signed with it from now on\n\n",
                           key_in_state(items, "active"));
  }
  env.out << format_key_table(items, env.context.clock.now_ms());
  return kExitOk;
}

void add_signing_key_verb(CLI::App& keys, GlobalFlags& global, std::vector<Verb>& verbs,
                          KeyAction action, const std::string& name, const std::string& description,
                          const std::string& example) {
  CLI::App* verb = keys.add_subcommand(name, description);
  verb->footer(std::string(kRotationSteps) + "\nExample:\n  " + example);
  add_global_options(*verb, global);
  verbs.push_back({verb, [action](CommandEnv& env) { return keys_run(action, env); }});
}

}  // namespace

void add_signing_key_commands(CLI::App& root, Invocation& inv, std::vector<Verb>& verbs) {
  CLI::App* keys =
      root.add_subcommand("signing-keys", "List and rotate the keys that sign commands to devices");
  keys->footer(std::string(kRotationSteps) +
               "\nThese verbs were `hecsctl keys list|rotate|activate` before; `hecsctl keys`\n"
               "now manages API keys.\n"
               "\nExample:\n  hecsctl signing-keys rotate\n  hecsctl signing-keys list\n"
               "  hecsctl signing-keys activate");
  keys->fallthrough(false);
  add_global_options(*keys, inv.global);
  add_signing_key_verb(*keys, inv.global, verbs, KeyAction::list, "list",
                       "List the signing keys: next, active and retired",
                       "hecsctl signing-keys list -o yaml");
  add_signing_key_verb(*keys, inv.global, verbs, KeyAction::rotate, "rotate",
                       "Step 1: publish a next signing key to devices (exit 1 if one is waiting)",
                       "hecsctl signing-keys rotate");
  add_signing_key_verb(*keys, inv.global, verbs, KeyAction::activate, "activate",
                       "Step 2: sign with the next key from now on; the active one is retired",
                       "hecsctl signing-keys activate");
}

}  // namespace hecs::cli
