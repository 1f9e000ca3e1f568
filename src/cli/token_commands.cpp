// hecsctl tokens create|list|revoke: enrollment tokens, with which nodes enrol.
#include <algorithm>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/enrol_api.h"
#include "cli/enrol_format.h"
#include "cli/json_view.h"
#include "cli/text.h"

namespace hecs::cli {

namespace json = boost::json;

namespace {

// The server's limits (docs/api.md), checked here too so that a typo is a usage error that
// names the flag.
constexpr std::int64_t kMinLife = 60;
constexpr std::int64_t kMaxLife = std::int64_t{365} * 86400;
constexpr int kMaxUses = 100000;
constexpr std::size_t kMaxTags = 32;
constexpr std::size_t kMaxTagLength = 64;
constexpr std::size_t kMaxDescription = 200;

const CLI::Validator kDuration(
    [](std::string& text) -> std::string {
      auto seconds = parse_duration_s(text);
      return seconds && *seconds >= kMinLife && *seconds <= kMaxLife
                 ? ""
                 : "want a duration from 1m to 365d, such as 30m, 24h or 7d";
    },
    "");

const CLI::Validator kTag(
    [](std::string& tag) -> std::string {
      bool ok = !tag.empty() && tag.size() <= kMaxTagLength &&
                std::all_of(tag.begin(), tag.end(), [](char c) {
                  return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
                         std::string_view("_.:=/-").find(c) != std::string_view::npos;
                });
      return ok ? "" : "want 1 to 64 of A-Z a-z 0-9 _ . : = / -, such as site=berlin";
    },
    "");

const CLI::Validator kDescription(
    [](std::string& text) -> std::string {
      return text.size() <= kMaxDescription ? "" : "at most 200 bytes";
    },
    "");

int tokens_create(const TokenOptions& options, CommandEnv& env) {
  if (options.tags.size() > kMaxTags) {
    env.err << fmt::format("hecsctl: at most {} --tag options\n", kMaxTags);
    return kExitUsage;
  }
  TokenRequest request{.expires_in_s = parse_duration_s(options.expires_in).value_or(0),
                       .max_uses = options.max_uses,
                       .tags = options.tags,
                       .auto_approve = options.auto_approve,
                       .description = options.description};
  auto token = EnrolmentApi(env.http).create_token(request);
  if (!token) {
    return report(env.err, token.error(), kExitFailure);
  }
  if (env.global.output != "table") {
    print_document(*token, env.global.output, env.out);
    return kExitOk;
  }
  env.out << format_new_token(*token, env.settings.url, env.context.clock.now_ms());
  if (is_loopback_url(env.settings.url)) {
    env.err << fmt::format(
        "hecsctl: note: control_url is {}, which a node cannot reach; create the token with "
        "--url set to the address nodes use\n",
        escape_for_terminal(env.settings.url));
  }
  return kExitOk;
}

int tokens_list(CommandEnv& env) {
  auto tokens = EnrolmentApi(env.http).list_tokens();
  if (!tokens) {
    return report(env.err, tokens.error(), kExitFailure);
  }
  const json::array& items = *get_array(*tokens, "items");  // list_tokens checked it
  if (env.global.output != "table") {
    print_document(*tokens, env.global.output, env.out);
  } else if (items.empty()) {
    env.err << "no enrollment tokens; make one with hecsctl tokens create\n";
  } else {
    env.out << format_token_table(items, env.context.clock.now_ms());
  }
  return kExitOk;
}

int tokens_revoke(const TokenOptions& options, CommandEnv& env) {
  auto token = EnrolmentApi(env.http).revoke_token(options.id);
  if (!token) {
    return report(env.err, token.error(), kExitFailure);
  }
  if (env.global.output != "table") {
    print_document(*token, env.global.output, env.out);
    return kExitOk;
  }
  env.out << fmt::format(
      "enrollment token {} ({}) revoked: no device can enrol with it any more; devices that "
      "already enrolled with it keep their state\n",
      text_or_dash(*token, "id"), text_or_dash(*token, "prefix"));
  return kExitOk;
}

}  // namespace

void add_token_commands(CLI::App& root, Invocation& inv, std::vector<Verb>& verbs) {
  CLI::App* tokens = root.add_subcommand("tokens", "Make, list and revoke enrollment tokens");
  tokens->footer(
      "A node enrols with a token from its hecs-enroll.yaml; it then waits as pending in\n"
      "devices list until accepted, unless the token was made with --auto-approve.\n\n"
      "Example:\n  hecsctl tokens create --expires-in 7d --max-uses 20 --tag site=berlin\n"
      "  hecsctl tokens list");
  tokens->fallthrough(false);
  add_global_options(*tokens, inv.global);
  TokenOptions& options = inv.tokens;

  CLI::App* create = tokens->add_subcommand(
      "create", "Make an enrollment token and print it once, with the node's hecs-enroll.yaml");
  create->add_option("--expires-in", options.expires_in, "how long it is valid (default 24h)")
      ->check(kDuration)
      ->type_name("DURATION");
  create->add_option("--max-uses", options.max_uses, "how many nodes may enrol with it (default 1)")
      ->check(CLI::Range(1, kMaxUses))
      ->type_name("N");
  create
      ->add_option("--tag", options.tags,
                   "tag for each device that enrols with it; repeat for more (up to 32)")
      ->check(kTag)
      ->allow_extra_args(false)
      ->type_name("K=V");
  create->add_flag("--auto-approve", options.auto_approve,
                   "accept devices when they enrol, without devices accept");
  create
      ->add_option("--description", options.description,
                   "a note kept with the token, up to 200 bytes")
      ->check(kDescription)
      ->type_name("TEXT");
  create->footer(
      "The token is shown only now. control_url in the printed hecs-enroll.yaml is the --url\n"
      "in use, so run this with the address the nodes reach hecs-control at. ca_sha256 lets\n"
      "the node check that it talks to this control plane.\n\n"
      "Examples:\n"
      "  hecsctl --url https://control.lan:8080 tokens create --expires-in 7d --max-uses 20 \\\n"
      "      --tag site=berlin --tag rack=2 --description \"berlin rack 2\"\n"
      "  hecsctl tokens create --auto-approve -o json | jq -r .token");
  add_global_options(*create, inv.global);
  verbs.push_back({create, [&options](CommandEnv& env) { return tokens_create(options, env); }});

  CLI::App* list = tokens->add_subcommand("list", "List enrollment tokens (never their secrets)");
  list->footer(
      "STATE is active, expired, revoked or used up (USES reached its maximum).\n\n"
      "Example:\n  hecsctl tokens list\n"
      "  hecsctl tokens list -o json | jq -r '.items[] | select(.revoked_at == null) | .id'");
  add_global_options(*list, inv.global);
  verbs.push_back({list, [](CommandEnv& env) { return tokens_list(env); }});

  CLI::App* revoke = tokens->add_subcommand("revoke", "Revoke an enrollment token");
  revoke->add_option("id", options.id, "token id, as in the ID column of tokens list")->required();
  revoke->footer(
      "No device can enrol with a revoked token; devices that already did keep their state.\n\n"
      "Example:\n  hecsctl tokens revoke 0b6e2f7a-3c1d-4e5f-8a9b-1c2d3e4f5a6b");
  add_global_options(*revoke, inv.global);
  verbs.push_back({revoke, [&options](CommandEnv& env) { return tokens_revoke(options, env); }});
}

}  // namespace hecs::cli
