// hecsctl tenants list|show|create|rename|disable|enable: the platform's tenants (superadmin).
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

enum class Change { rename, disable, enable };

int tenants_list(CommandEnv& env) {
  auto tenants = tenants_api(env.http).list();
  if (!tenants) {
    return report(env.err, tenants.error(), kExitFailure);
  }
  if (!print_if_document(env, *tenants)) {
    env.out << format_tenant_table(*get_array(*tenants, "items"), env.context.clock.now_ms());
  }
  return kExitOk;
}

int tenants_show(const TenantOptions& options, CommandEnv& env) {
  auto api = tenants_api(env.http);
  auto id = api.resolve(options.id, "name");
  auto tenant = id ? api.show(*id) : tl::unexpected(id.error());
  if (!tenant) {
    return report(env.err, tenant.error(), kExitFailure);
  }
  if (!print_if_document(env, *tenant)) {
    env.out << format_tenant_details(*tenant, env.context.clock.now_ms());
  }
  return kExitOk;
}

int tenants_create(const TenantOptions& options, CommandEnv& env) {
  json::object body{{"name", options.name}};
  if (!options.owner.empty()) {
    auto password =
        ask_new_password(env.context, options.owner_password_stdin,
                         fmt::format("password for {}", options.owner), "--owner-password-stdin");
    if (!password) {
      return report(env.err, password.error(), kExitUsage);
    }
    body["owner"] = json::object{{"username", options.owner}, {"password", *password}};
  }
  auto tenant = tenants_api(env.http).create(body);
  if (!tenant) {
    return report(env.err, tenant.error(), kExitFailure);
  }
  if (print_if_document(env, *tenant)) {
    return kExitOk;
  }
  env.out << fmt::format("tenant {} created\n\n{}", text_or_dash(*tenant, "name"),
                         format_tenant_details(*tenant, env.context.clock.now_ms()));
  if (options.owner.empty()) {
    env.out << "It has no user: the API cannot add one to another tenant later, so make tenants "
               "with --owner.\n";
  } else {
    env.out << fmt::format("Its owner logs in with hecsctl login --username {}.\n",
                           escape_for_terminal(options.owner));
  }
  return kExitOk;
}

int tenants_change(const TenantOptions& options, Change change, CommandEnv& env) {
  auto api = tenants_api(env.http);
  auto id = api.resolve(options.id, "name");
  json::object body;
  if (change == Change::rename) {
    body["name"] = options.name;
  } else {
    body["disabled"] = change == Change::disable;
  }
  auto tenant = id ? api.update(*id, body) : tl::unexpected(id.error());
  if (!tenant) {
    return report(env.err, tenant.error(), kExitFailure);
  }
  if (print_if_document(env, *tenant)) {
    return kExitOk;
  }
  std::string name = text_or_dash(*tenant, "name");
  std::string tenant_id = text_or_dash(*tenant, "id");
  switch (change) {
    case Change::rename:
      env.out << fmt::format("tenant {} is now named {}\n", tenant_id, name);
      break;
    case Change::disable:
      env.out << fmt::format(
          "tenant {} ({}) is disabled: its users cannot log in and its API keys are refused; "
          "its devices and data stay\n",
          name, tenant_id);
      break;
    case Change::enable:
      env.out << fmt::format("tenant {} ({}) is enabled again\n", name, tenant_id);
      break;
  }
  return kExitOk;
}

CLI::App* add_tenant_verb(CLI::App& tenants, Invocation& inv, std::vector<Verb>& verbs,
                          const std::string& name, const std::string& description,
                          const std::string& footer, std::optional<Change> change) {
  CLI::App* verb = tenants.add_subcommand(name, description);
  verb->add_option("tenant", inv.tenants.id, "tenant id or name, as in tenants list")->required();
  verb->footer(footer);
  add_global_options(*verb, inv.global);
  if (change) {
    verbs.push_back({verb, [&options = inv.tenants, change = *change](CommandEnv& env) {
                       return tenants_change(options, change, env);
                     }});
  } else {
    verbs.push_back(
        {verb, [&options = inv.tenants](CommandEnv& env) { return tenants_show(options, env); }});
  }
  return verb;
}

}  // namespace

void add_tenant_commands(CLI::App& root, Invocation& inv, std::vector<Verb>& verbs) {
  CLI::App* tenants = root.add_subcommand(
      "tenants", "List, create, rename, disable and enable tenants (superadmin)");
  tenants->footer(
      "A tenant is a customer: its devices, users, keys and audit log are seen only by its\n"
      "own users and keys. Only a superadmin (the default tenant's admin) manages tenants. A\n"
      "tenant is named by id or name.\n\n"
      "Example:\n  hecsctl tenants create --name acme --owner alice\n"
      "  hecsctl tenants list\n  hecsctl tenants disable acme");
  tenants->fallthrough(false);
  add_global_options(*tenants, inv.global);
  TenantOptions& options = inv.tenants;

  CLI::App* list = tenants->add_subcommand("list", "List every tenant");
  list->footer("STATE is active or disabled.\n\nExample:\n  hecsctl tenants list");
  add_global_options(*list, inv.global);
  verbs.push_back({list, [](CommandEnv& env) { return tenants_list(env); }});

  add_tenant_verb(*tenants, inv, verbs, "show", "Show one tenant",
                  "Example:\n  hecsctl tenants show acme -o json", std::nullopt);

  CLI::App* create = tenants->add_subcommand("create", "Create a tenant, with its first owner");
  create->add_option("--name", options.name, "the tenant's name, 1 to 64 characters, unique")
      ->required()
      ->type_name("NAME");
  auto* owner = create
                    ->add_option("--owner", options.owner,
                                 "also create this user as the tenant's owner; the password "
                                 "is asked for twice")
                    ->type_name("USERNAME");
  create
      ->add_flag("--owner-password-stdin", options.owner_password_stdin,
                 "read the owner's password from the first line of stdin instead")
      ->needs(owner);
  create->footer(
      "Pass --owner: users are created inside the caller's own tenant, so a tenant made\n"
      "without an owner has nobody who can log in to it. Usernames are unique across\n"
      "tenants.\n\n"
      "Examples:\n  hecsctl tenants create --name acme --owner alice\n"
      "  hecsctl tenants create --name lab --owner bob --owner-password-stdin < pw.txt");
  add_global_options(*create, inv.global);
  verbs.push_back({create, [&options](CommandEnv& env) { return tenants_create(options, env); }});

  CLI::App* rename =
      add_tenant_verb(*tenants, inv, verbs, "rename", "Give a tenant a new name",
                      "Example:\n  hecsctl tenants rename acme acme-gmbh", Change::rename);
  rename->add_option("name", options.name, "the new name, 1 to 64 characters, unique")->required();
  add_tenant_verb(*tenants, inv, verbs, "disable",
                  "Disable a tenant: its users and keys are refused at once",
                  "Its data, devices and users stay; hecsctl tenants enable undoes it. Your own\n"
                  "tenant cannot be disabled.\n\n"
                  "Example:\n  hecsctl tenants disable acme",
                  Change::disable);
  add_tenant_verb(*tenants, inv, verbs, "enable", "Enable a disabled tenant again",
                  "Example:\n  hecsctl tenants enable acme", Change::enable);
}

}  // namespace hecs::cli
