// hecsctl keys create|list|show|revoke|rotate: API keys, with which scripts and people call the
// hecs-control API (the command-signing keys are `hecsctl signing-keys`).
#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/identity_api.h"
#include "cli/identity_format.h"
#include "cli/json_view.h"
#include "cli/text.h"

namespace hecs::cli {

namespace json = boost::json;

namespace {

// The server's ranges (docs/api.md), checked here too so that a typo names the flag.
constexpr std::int64_t kMinLife_s = 60;
constexpr std::int64_t kMaxLife_s = std::int64_t{732} * 86400;
constexpr std::int64_t kDefaultLife_s = std::int64_t{90} * 86400;
constexpr std::int64_t kMaxOverlap_s = std::int64_t{30} * 86400;

constexpr const char* kUseIt =
    "Use it with: hecsctl login --api-key-stdin, or HECS_API_KEY in the environment.\n";

int keys_create(const ApiKeyOptions& options, CommandEnv& env) {
  NewApiKey request{.name = options.name,
                    .role = options.role,
                    .expires_in_s = options.expires_in.empty()
                                        ? kDefaultLife_s
                                        : parse_duration_s(options.expires_in).value_or(0)};
  auto key = ApiKeysApi(env.http).create(request);
  if (!key) {
    return report(env.err, key.error(), kExitFailure);
  }
  if (!print_if_document(env, *key)) {
    env.out << format_new_api_key(*key, env.context.clock.now_ms()) << '\n' << kUseIt;
  }
  return kExitOk;
}

int keys_list(CommandEnv& env) {
  auto keys = ApiKeysApi(env.http).list();
  if (!keys) {
    return report(env.err, keys.error(), kExitFailure);
  }
  const json::array& items = *get_array(*keys, "items");  // list() checked it
  if (print_if_document(env, *keys)) {
    return kExitOk;
  }
  if (items.empty()) {
    env.err << "no API keys; make one with hecsctl keys create\n";
  } else {
    env.out << format_api_key_table(items, env.context.clock.now_ms());
  }
  return kExitOk;
}

int keys_show(const ApiKeyOptions& options, CommandEnv& env) {
  auto key = ApiKeysApi(env.http).show(options.id);
  if (!key) {
    return report(env.err, key.error(), kExitFailure);
  }
  if (!print_if_document(env, *key)) {
    env.out << format_api_key_details(*key, env.context.clock.now_ms());
  }
  return kExitOk;
}

int keys_revoke(const ApiKeyOptions& options, CommandEnv& env) {
  auto key = ApiKeysApi(env.http).revoke(options.id);
  if (!key) {
    return report(env.err, key.error(), kExitFailure);
  }
  if (!print_if_document(env, *key)) {
    env.out << fmt::format("API key {} ({}, {}) revoked: hecs-control refuses it from now on\n",
                           text_or_dash(*key, "id"), text_or_dash(*key, "name"),
                           text_or_dash(*key, "prefix"));
  }
  return kExitOk;
}

int keys_rotate(const ApiKeyOptions& options, CommandEnv& env) {
  std::optional<std::int64_t> expires_in;
  if (!options.expires_in.empty()) {
    expires_in = parse_duration_s(options.expires_in);
  }
  auto key = ApiKeysApi(env.http).rotate(options.id, parse_duration_s(options.overlap).value_or(0),
                                         expires_in);
  if (!key) {
    return report(env.err, key.error(), kExitFailure);
  }
  if (!print_if_document(env, *key)) {
    env.out << format_new_api_key(*key, env.context.clock.now_ms()) << '\n'
            << kUseIt << "Replace the old key wherever it is used before it stops working.\n";
  }
  return kExitOk;
}

CLI::App* add_id_verb(CLI::App& keys, Invocation& inv, const std::string& name,
                      const std::string& description, const std::string& footer) {
  CLI::App* verb = keys.add_subcommand(name, description);
  verb->add_option("id", inv.keys.id, "key id, as in the ID column of keys list")->required();
  verb->footer(footer);
  add_global_options(*verb, inv.global);
  return verb;
}

}  // namespace

void add_key_commands(CLI::App& root, Invocation& inv, std::vector<Verb>& verbs) {
  CLI::App* keys =
      root.add_subcommand("keys", "Make, list, rotate and revoke API keys (role admin)");
  keys->footer(
      "An API key acts with its role in its tenant, for scripts and CI. hecs-control keeps\n"
      "only its hash: the key is printed once, by keys create and keys rotate. The keys that\n"
      "sign commands to devices are hecsctl signing-keys.\n\n"
      "Example:\n  hecsctl keys create --name ci --role operator --expires-in 30d\n"
      "  hecsctl keys list\n  hecsctl keys rotate <id> --overlap 1h");
  keys->fallthrough(false);
  add_global_options(*keys, inv.global);
  ApiKeyOptions& options = inv.keys;

  CLI::App* create = keys->add_subcommand("create", "Make an API key and print it once");
  create->add_option("--name", options.name, "what the key is for, 1 to 64 characters")
      ->required()
      ->type_name("NAME");
  create->add_option("--role", options.role, "viewer, operator, admin, owner or superadmin")
      ->required()
      ->check(role_check())
      ->type_name("ROLE");
  create->add_option("--expires-in", options.expires_in, "how long it works (default 90d)")
      ->check(duration_check(kMinLife_s, kMaxLife_s, "1m to 732d"))
      ->type_name("DURATION");
  create->footer(
      "A key's role is at most your own. The key is shown only now.\n\n"
      "Examples:\n  hecsctl keys create --name grafana --role viewer --expires-in 365d\n"
      "  hecsctl keys create --name ci --role operator -o json | jq -r .key");
  add_global_options(*create, inv.global);
  verbs.push_back({create, [&options](CommandEnv& env) { return keys_create(options, env); }});

  CLI::App* list = keys->add_subcommand("list", "List the tenant's API keys (never the keys)");
  list->footer(
      "STATE is active, rotating (replaced, still working during its overlap), expired or\n"
      "revoked.\n\n"
      "Example:\n  hecsctl keys list\n"
      "  hecsctl keys list -o json | jq -r '.items[] | select(.state == \"active\") | .id'");
  add_global_options(*list, inv.global);
  verbs.push_back({list, [](CommandEnv& env) { return keys_list(env); }});

  CLI::App* show =
      add_id_verb(*keys, inv, "show", "Show one API key",
                  "Example:\n  hecsctl keys show 1f0c7a52-9d3e-4b8a-a6f1-2e5d7c9b0a14");
  verbs.push_back({show, [&options](CommandEnv& env) { return keys_show(options, env); }});

  CLI::App* revoke = add_id_verb(
      *keys, inv, "revoke", "Revoke an API key: refused from the next request on",
      "There is no prompt: the id names exactly one key. Revoking the key you are using\n"
      "locks you out of the calls that need it.\n\n"
      "Example:\n  hecsctl keys revoke 1f0c7a52-9d3e-4b8a-a6f1-2e5d7c9b0a14");
  verbs.push_back({revoke, [&options](CommandEnv& env) { return keys_revoke(options, env); }});

  CLI::App* rotate = add_id_verb(
      *keys, inv, "rotate", "Replace an API key: a new key, the old one works for --overlap",
      "The new key has the old one's name and role and is printed once. The old key keeps\n"
      "working for --overlap (0s ends it now), time to deploy the new one.\n\n"
      "Example:\n  hecsctl keys rotate 1f0c7a52-9d3e-4b8a-a6f1-2e5d7c9b0a14 --overlap 1h");
  rotate->add_option("--overlap", options.overlap, "how long the old key still works (default 24h)")
      ->check(duration_check(0, kMaxOverlap_s, "0s to 30d"))
      ->type_name("DURATION");
  rotate->add_option("--expires-in", options.expires_in, "how long the new key works (default 90d)")
      ->check(duration_check(kMinLife_s, kMaxLife_s, "1m to 732d"))
      ->type_name("DURATION");
  verbs.push_back({rotate, [&options](CommandEnv& env) { return keys_rotate(options, env); }});
}

}  // namespace hecs::cli
