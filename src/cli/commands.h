// The verbs of hecsctl, a file per noun (devices, tokens, keys), and what they share. Internal
// to src/cli: run() in cli.cpp parses, resolves the settings, then calls the parsed verb.
#pragma once

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
};

// Options of the verbs, filled by the parser. One Invocation lives in run() for the whole call.
struct DeviceOptions {
  std::string online;  // "", "true" or "false"
  std::string query;
  int limit = 0;
  bool all = false;
  std::string id;
};

struct TokenOptions {
  std::string expires_in = "24h";
  int max_uses = 1;
  std::vector<std::string> tags;
  bool auto_approve = false;
  std::string description;
  std::string id;
};

struct Invocation {
  GlobalFlags global;
  DeviceOptions devices;
  TokenOptions tokens;
};

// The global options, on the root and on every noun and verb, so that they work before or
// after the verb and each verb's --help lists them.
void add_global_options(CLI::App& app, GlobalFlags& flags);

// Each adds its noun under root and appends its verbs; handlers read options from inv, which
// must outlive them.
void add_device_commands(CLI::App& root, Invocation& inv, std::vector<Verb>& verbs);
void add_token_commands(CLI::App& root, Invocation& inv, std::vector<Verb>& verbs);
void add_key_commands(CLI::App& root, Invocation& inv, std::vector<Verb>& verbs);

// "hecsctl: <message>" on err; returns exit_code.
int report(std::ostream& err, const Error& error, int exit_code);

// The server's document as -o json or -o yaml asked.
void print_document(const boost::json::value& document, const std::string& format,
                    std::ostream& out);

}  // namespace hecs::cli
