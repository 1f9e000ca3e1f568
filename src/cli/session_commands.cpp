// hecsctl sessions list|revoke: login sessions, the caller's own or (admin) the tenant's.
#include <map>

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

// Sessions name their user by id only: put usernames in their place for the table when the
// caller may list users (an admin may; the table falls back to ids otherwise).
json::array with_usernames(const json::array& sessions, HttpClient& http) {
  auto users = users_api(http).list();
  if (!users) {
    return sessions;
  }
  std::map<std::string, std::string, std::less<>> names;
  for (const json::value& user : *get_array(*users, "items")) {
    auto id = get_string(user, "id");
    auto name = get_string(user, "username");
    if (id && name) {
      names.emplace(*id, *name);
    }
  }
  json::array renamed = sessions;
  for (json::value& session : renamed) {
    auto id = get_string(session, "user_id");
    auto found = id ? names.find(*id) : names.end();
    if (found != names.end() && session.is_object()) {
      session.as_object()["user_id"] = found->second;
    }
  }
  return renamed;
}

int sessions_list(const SessionOptions& options, CommandEnv& env) {
  auto sessions = AuthApi(env.http).list_sessions(options.all);
  if (!sessions) {
    return report(env.err, sessions.error(), kExitFailure);
  }
  if (print_if_document(env, *sessions)) {
    return kExitOk;
  }
  const json::array& items = *get_array(*sessions, "items");  // list_sessions checked it
  if (items.empty()) {
    env.err << "no live sessions\n";
    return kExitOk;
  }
  env.out << format_session_table(with_usernames(items, env.http), env.context.clock.now_ms());
  return kExitOk;
}

int sessions_revoke(const SessionOptions& options, CommandEnv& env) {
  auto session = AuthApi(env.http).revoke_session(options.id);
  if (!session) {
    return report(env.err, session.error(), kExitFailure);
  }
  if (print_if_document(env, *session)) {
    return kExitOk;
  }
  auto current = get_bool(*session, "current");
  env.out << fmt::format("session {} ended{}\n", text_or_dash(*session, "id"),
                         current && *current ? ": it was this one, log in again" : "");
  return kExitOk;
}

}  // namespace

void add_session_commands(CLI::App& root, Invocation& inv, std::vector<Verb>& verbs) {
  CLI::App* sessions =
      root.add_subcommand("sessions", "List and end login sessions: yours, or the tenant's");
  sessions->footer(
      "A session is what hecsctl login --username (or the admin panel) makes; it lasts at\n"
      "most 12 hours. API keys are not sessions: see hecsctl keys.\n\n"
      "Example:\n  hecsctl sessions list\n  hecsctl sessions list --all\n"
      "  hecsctl sessions revoke <id>");
  sessions->fallthrough(false);
  add_global_options(*sessions, inv.global);
  SessionOptions& options = inv.sessions;

  CLI::App* list = sessions->add_subcommand("list", "List your live sessions, or --all");
  list->add_flag("--all", options.all, "every live session of the tenant (role admin)");
  list->footer(
      "CURRENT marks the session hecsctl is using. Without --all this needs a login session\n"
      "(an API key has none of its own).\n\n"
      "Example:\n  hecsctl sessions list --all");
  add_global_options(*list, inv.global);
  verbs.push_back({list, [&options](CommandEnv& env) { return sessions_list(options, env); }});

  CLI::App* revoke = sessions->add_subcommand("revoke", "End a session at once");
  revoke->add_option("id", options.id, "session id, as in the ID column of sessions list")
      ->required();
  revoke->footer(
      "Your own sessions, or (role admin) any of the tenant's. To end the one hecsctl uses\n"
      "and forget its token, use hecsctl logout.\n\n"
      "Example:\n  hecsctl sessions revoke 2c9e4b1a-7f3d-4e8a-b5c6-0d1e2f3a4b5c");
  add_global_options(*revoke, inv.global);
  verbs.push_back({revoke, [&options](CommandEnv& env) { return sessions_revoke(options, env); }});
}

}  // namespace hecs::cli
