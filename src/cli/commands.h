// The verbs of hecsctl, a file per noun (devices, tokens, signing-keys, keys, users, tenants,
// sessions, audit, tasks; login, logout, whoami and passwd in auth_commands.cpp, run in
// task_commands.cpp), and what they share. Internal to src/cli: run() in cli.cpp parses, resolves
// the settings, then calls the parsed verb.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/json/value.hpp>

#include "cli/cli.h"
#include "cli/http_client.h"
#include "cli/settings.h"
#include "common/result.h"

namespace hecs::cli {

// What a verb gets once its arguments parsed and the settings resolved; all borrowed from run().
struct CommandEnv {
  std::ostream& out;
  std::ostream& err;
  const RunContext& context;
  const GlobalFlags& global;
  const Settings& settings;
  HttpClient& http;
};

// A verb's parser node and what runs it; the handler returns the exit code.
struct Verb {
  CLI::App* app = nullptr;
  std::function<int(CommandEnv&)> run;
  // Asked once the arguments are parsed; empty means true. A verb that answers false runs
  // without a credential (login, logout, audit verify --bundle).
  std::function<bool()> needs_credential{};
};

// Options of the verbs, filled by the parser. One Invocation lives in run() for the whole call.
struct DeviceOptions {
  std::string online;  // "", "true" or "false"
  std::string query;
  int limit = 0;
  bool all = false;
  std::string id;
  std::vector<std::string> tags;  // devices tag: "key=value" or "key"
  bool clear_tags = false;
};

// hecsctl run: a task's target, command and limits (docs/tasks.md); 0 and "" for the server's
// default.
struct RunOptions {
  std::vector<std::string> devices;
  std::string group;
  std::string selector;
  std::string timeout;  // seconds, or a duration such as 5m
  std::string user;
  std::string cwd;
  std::vector<std::string> env;  // K=V
  std::int64_t output_cap = 0;
  int max_in_flight = 0;
  int per_minute = 0;
  int abort_percent = -1;  // -1: no abort criterion
  int abort_min = 0;
  std::string deadline;  // seconds, or a duration such as 2h
  std::string script;    // a file, "-" for stdin
  std::string interpreter;
  std::string builtin;
  bool confirm_reboot = false;
  std::vector<std::string> units;  // collect-logs: journal units
  std::vector<std::string> paths;  // collect-logs: files or directories
  std::string since;               // collect-logs: "-2h", or unix milliseconds
  bool yes = false;
  bool detach = false;
  std::vector<std::string> argv;
};

struct TaskOptions {
  std::string id;
  std::string state;
  std::string origin;  // tasks list --origin
  int limit = 0;
  std::string device;
  std::string stream;  // "", "stdout" or "stderr"
  bool follow = false;
  bool raw = false;
  std::string out_file;  // tasks artifact --out
};

struct TokenOptions {
  std::string expires_in = "24h";
  int max_uses = 1;
  std::vector<std::string> tags;
  bool auto_approve = false;
  std::string description;
  std::string id;
};

struct LoginOptions {
  std::string username;
  bool password_stdin = false;
  std::string api_key_file;
  bool api_key_stdin = false;
};

struct PasswdOptions {
  bool from_stdin = false;  // current password, then the new one, a line each
};

struct ApiKeyOptions {
  std::string id;
  std::string name;
  std::string role;
  std::string expires_in;  // "" for the server's default (create: 90d)
  std::string overlap = "24h";
};

struct UserOptions {
  std::string id;  // id or username
  std::string username;
  std::string role;
  bool password_stdin = false;
};

struct TenantOptions {
  std::string id;  // id or name
  std::string name;
  std::string owner;
  bool owner_password_stdin = false;
};

struct SessionOptions {
  bool all = false;
  std::string id;
};

struct AuditOptions {
  std::string action;
  std::string actor;
  std::string outcome;
  std::string since;  // RFC 3339 or a duration ago ("24h")
  std::string until;
  int limit = 0;
  bool all = false;
  std::string save_dir;
  std::string out;
  std::string checkpoints_dir;
  std::string bundle;
  std::vector<std::string> trust;
};

struct Invocation {
  GlobalFlags global;
  DeviceOptions devices;
  TokenOptions tokens;
  LoginOptions login;
  PasswdOptions passwd;
  ApiKeyOptions keys;
  UserOptions users;
  TenantOptions tenants;
  SessionOptions sessions;
  AuditOptions audit;
  RunOptions run;
  TaskOptions tasks;
};

// The global options, on the root and on every noun and verb, so that they work before or
// after the verb and each verb's --help lists them.
void add_global_options(CLI::App& app, GlobalFlags& flags);

// Each adds its noun under root and appends its verbs; handlers read options from inv, which
// must outlive them.
void add_device_commands(CLI::App& root, Invocation& inv, std::vector<Verb>& verbs);
void add_token_commands(CLI::App& root, Invocation& inv, std::vector<Verb>& verbs);
void add_signing_key_commands(CLI::App& root, Invocation& inv, std::vector<Verb>& verbs);
void add_auth_commands(CLI::App& root, Invocation& inv, std::vector<Verb>& verbs);
void add_key_commands(CLI::App& root, Invocation& inv, std::vector<Verb>& verbs);
void add_user_commands(CLI::App& root, Invocation& inv, std::vector<Verb>& verbs);
void add_tenant_commands(CLI::App& root, Invocation& inv, std::vector<Verb>& verbs);
void add_session_commands(CLI::App& root, Invocation& inv, std::vector<Verb>& verbs);
void add_audit_commands(CLI::App& root, Invocation& inv, std::vector<Verb>& verbs);
void add_run_command(CLI::App& root, Invocation& inv, std::vector<Verb>& verbs);
void add_task_commands(CLI::App& root, Invocation& inv, std::vector<Verb>& verbs);

// "hecsctl: <message>" on err; returns exit_code.
int report(std::ostream& err, const Error& error, int exit_code);

// The server's document as -o json or -o yaml asked.
void print_document(const boost::json::value& document, const std::string& format,
                    std::ostream& out);

// With -o json or yaml: prints the document and returns true; with table output: false, and
// the caller prints for a person.
bool print_if_document(const CommandEnv& env, const boost::json::value& document);

// A parser check for a duration such as 90s, 30m, 24h or 7d between min_s and max_s; the
// message names the range as `range` ("1m to 365d").
CLI::Validator duration_check(std::int64_t min_s, std::int64_t max_s, const std::string& range);

// A parser check for a role name: viewer, operator, admin, owner or superadmin.
CLI::Validator role_check();

}  // namespace hecs::cli
