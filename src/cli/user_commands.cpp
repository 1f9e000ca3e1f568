// hecsctl users list|show|create|set-role|disable|enable|reset-password: the users of the
// caller's tenant (role admin).
#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/identity_api.h"
#include "cli/identity_format.h"
#include "cli/json_view.h"
#include "cli/prompt.h"
#include "cli/text.h"

namespace hecs::cli {

namespace json = boost::json;

namespace {

enum class Change { role, disable, enable, password };

int users_list(CommandEnv& env) {
  auto users = users_api(env.http).list();
  if (!users) {
    return report(env.err, users.error(), kExitFailure);
  }
  if (!print_if_document(env, *users)) {
    env.out << format_user_table(*get_array(*users, "items"), env.context.clock.now_ms());
  }
  return kExitOk;
}

int users_show(const UserOptions& options, CommandEnv& env) {
  auto api = users_api(env.http);
  auto id = api.resolve(options.id, "username");
  auto user = id ? api.show(*id) : tl::unexpected(id.error());
  if (!user) {
    return report(env.err, user.error(), kExitFailure);
  }
  if (!print_if_document(env, *user)) {
    env.out << format_user_details(*user, env.context.clock.now_ms());
  }
  return kExitOk;
}

int users_create(const UserOptions& options, CommandEnv& env) {
  auto password =
      ask_new_password(env.context, options.password_stdin,
                       fmt::format("password for {}", options.username), "--password-stdin");
  if (!password) {
    return report(env.err, password.error(), kExitUsage);
  }
  auto user = users_api(env.http).create(json::object{
      {"username", options.username}, {"password", *password}, {"role", options.role}});
  if (!user) {
    return report(env.err, user.error(), kExitFailure);
  }
  if (!print_if_document(env, *user)) {
    env.out << fmt::format(
        "user {} created with the role {}; they log in with hecsctl login "
        "--username {}\n\n{}",
        text_or_dash(*user, "username"), text_or_dash(*user, "role"),
        text_or_dash(*user, "username"), format_user_details(*user, env.context.clock.now_ms()));
  }
  return kExitOk;
}

int users_change(const UserOptions& options, Change change, CommandEnv& env) {
  auto api = users_api(env.http);
  auto id = api.resolve(options.id, "username");  // before asking for a password for nobody
  if (!id) {
    return report(env.err, id.error(), kExitFailure);
  }
  json::object body;
  switch (change) {
    case Change::role:
      body["role"] = options.role;
      break;
    case Change::disable:
    case Change::enable:
      body["disabled"] = change == Change::disable;
      break;
    case Change::password: {
      auto password =
          ask_new_password(env.context, options.password_stdin,
                           fmt::format("new password for {}", options.id), "--password-stdin");
      if (!password) {
        return report(env.err, password.error(), kExitUsage);
      }
      body["password"] = *password;
      break;
    }
  }
  auto user = api.update(*id, body);
  if (!user) {
    return report(env.err, user.error(), kExitFailure);
  }
  if (print_if_document(env, *user)) {
    return kExitOk;
  }
  std::string name = text_or_dash(*user, "username");
  switch (change) {
    case Change::role:
      env.out << fmt::format("user {} now has the role {}\n", name, text_or_dash(*user, "role"));
      break;
    case Change::disable:
      env.out << fmt::format("user {} is disabled: they cannot log in, their sessions ended\n",
                             name);
      break;
    case Change::enable:
      env.out << fmt::format("user {} is enabled: they can log in again\n", name);
      break;
    case Change::password:
      env.out << fmt::format("password of {} reset; their sessions ended\n", name);
      break;
  }
  return kExitOk;
}

CLI::App* add_user_verb(CLI::App& users, Invocation& inv, const std::string& name,
                        const std::string& description, const std::string& footer) {
  CLI::App* verb = users.add_subcommand(name, description);
  verb->add_option("user", inv.users.id, "user id or username, as in users list")->required();
  verb->footer(footer);
  add_global_options(*verb, inv.global);
  return verb;
}

void add_change(Invocation& inv, std::vector<Verb>& verbs, Change change, CLI::App* verb) {
  verbs.push_back({verb, [&options = inv.users, change](CommandEnv& env) {
                     return users_change(options, change, env);
                   }});
}

}  // namespace

void add_user_commands(CLI::App& root, Invocation& inv, std::vector<Verb>& verbs) {
  CLI::App* users = root.add_subcommand(
      "users", "List, create, disable and set the role of the tenant's users (role admin)");
  users->footer(
      "Roles, lowest first: viewer (reads), operator (acts on devices), admin (users, keys,\n"
      "audit), owner (the tenant itself), superadmin (every tenant). You grant at most your\n"
      "own role; the tenant's last owner cannot be demoted or disabled. A user is named by\n"
      "id or username.\n\n"
      "Example:\n  hecsctl users create --username alice --role operator\n"
      "  hecsctl users set-role alice admin\n  hecsctl users disable alice");
  users->fallthrough(false);
  add_global_options(*users, inv.global);
  UserOptions& options = inv.users;

  CLI::App* list = users->add_subcommand("list", "List the tenant's users");
  list->footer(
      "STATE is active or disabled.\n\n"
      "Example:\n  hecsctl users list\n"
      "  hecsctl users list -o json | jq -r '.items[] | select(.role == \"admin\") | .username'");
  add_global_options(*list, inv.global);
  verbs.push_back({list, [](CommandEnv& env) { return users_list(env); }});

  CLI::App* show = add_user_verb(*users, inv, "show", "Show one user",
                                 "Example:\n  hecsctl users show alice -o yaml");
  verbs.push_back({show, [&options](CommandEnv& env) { return users_show(options, env); }});

  CLI::App* create = users->add_subcommand("create", "Create a user with a password and a role");
  create->add_option("--username", options.username, "1 to 128 characters")
      ->required()
      ->type_name("NAME");
  create->add_option("--role", options.role, "viewer, operator, admin, owner or superadmin")
      ->required()
      ->check(role_check())
      ->type_name("ROLE");
  create->add_flag("--password-stdin", options.password_stdin,
                   "read the password from the first line of stdin instead of asking twice");
  create->footer(
      "The password is asked for twice (or read from stdin) and must meet the server's\n"
      "policy. Tell the user to change it with hecsctl passwd after the first login.\n\n"
      "Examples:\n  hecsctl users create --username alice --role operator\n"
      "  pwgen -s 24 1 | tee /dev/stderr | hecsctl users create --username bob --role viewer "
      "--password-stdin");
  add_global_options(*create, inv.global);
  verbs.push_back({create, [&options](CommandEnv& env) { return users_create(options, env); }});

  CLI::App* set_role =
      add_user_verb(*users, inv, "set-role", "Give a user another role",
                    "Their sessions get the new role at once. Not for yourself.\n\n"
                    "Example:\n  hecsctl users set-role alice admin");
  set_role->add_option("role", options.role, "viewer, operator, admin, owner or superadmin")
      ->required()
      ->check(role_check());
  add_change(inv, verbs, Change::role, set_role);

  add_change(inv, verbs, Change::disable,
             add_user_verb(*users, inv, "disable", "Disable a user: no login, sessions end",
                           "The user stays, with their role; hecsctl users enable undoes it. Not\n"
                           "for yourself.\n\n"
                           "Example:\n  hecsctl users disable alice"));
  add_change(inv, verbs, Change::enable,
             add_user_verb(*users, inv, "enable", "Let a disabled user log in again",
                           "Example:\n  hecsctl users enable alice"));

  CLI::App* reset = add_user_verb(
      *users, inv, "reset-password", "Set a new password for a user; their sessions end",
      "For your own password, use hecsctl passwd, which also checks the current one.\n\n"
      "Example:\n  hecsctl users reset-password alice");
  reset->add_flag("--password-stdin", options.password_stdin,
                  "read the new password from the first line of stdin instead of asking twice");
  add_change(inv, verbs, Change::password, reset);
}

}  // namespace hecs::cli
