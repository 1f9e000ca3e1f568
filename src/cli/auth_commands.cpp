// hecsctl login|logout|whoami|passwd: the caller's own credential and password.
#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/identity_api.h"
#include "cli/identity_format.h"
#include "cli/json_view.h"
#include "cli/prompt.h"
#include "cli/text.h"
#include "common/files.h"

namespace hecs::cli {

namespace json = boost::json;

namespace {

constexpr std::string_view kKeyPrefix = "hecs_";
constexpr std::string_view kSessionPrefix = "hecss_";
constexpr std::size_t kMaxKeyFileBytes = std::size_t{64} * 1024;

// The first line that starts with "hecs_", trimmed: the key of a file such as hecs-control's
// DATA_DIR/admin-credentials, which has comments and the bootstrap password around it.
Result<std::string> key_from_text(std::string_view text, std::string_view where) {
  while (!text.empty()) {
    std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    if (line.starts_with(kKeyPrefix) && !line.starts_with(kSessionPrefix)) {
      if (!is_header_safe(line)) {
        return fail(Errc::invalid_input,
                    fmt::format("the API key in {} contains spaces or control characters", where));
      }
      return std::string(line);
    }
  }
  return fail(Errc::invalid_input, fmt::format("no line starting with hecs_ in {}", where));
}

Result<std::string> read_api_key(const LoginOptions& options, const RunContext& context) {
  if (options.api_key_stdin) {
    std::string text;
    for (std::string line; std::getline(input_of(context), line);) {
      text += line + "\n";
    }
    return key_from_text(text, "stdin");
  }
  auto text = files::read_small(options.api_key_file, kMaxKeyFileBytes);
  if (!text) {
    return fail(Errc::invalid_input,
                fmt::format("cannot read {}: {}", escape_for_terminal(options.api_key_file),
                            text.error().message));
  }
  return key_from_text(*text, escape_for_terminal(options.api_key_file));
}

Result<HttpClient> client_with(const Settings& settings, const std::string& credential) {
  return HttpClient::create({.base_url = settings.url,
                             .api_key = credential,
                             .ca_file = settings.ca_file,
                             .timeout = settings.timeout});
}

// GET /auth/me with `credential` instead of the one run() resolved.
Result<json::value> me_with(const Settings& settings, const std::string& credential) {
  auto http = client_with(settings, credential);
  if (!http) {
    return tl::unexpected(std::move(http.error()));
  }
  return AuthApi(*http).me();
}

// What /auth/me would say, from the login answer: the fallback when that call fails.
json::value me_from_login(const json::value& login) {
  const json::value& user = *get_object(login, "user");  // AuthApi::login checked it
  json::object me{{"kind", "session"}};
  for (const auto& [from, to] : {std::pair{"id", "user_id"}, std::pair{"username", "username"},
                                 std::pair{"role", "role"}, std::pair{"tenant_id", "tenant_id"}}) {
    if (auto value = get_string(user, from)) {
      me[to] = *value;
    }
  }
  return me;
}

// What a login that worked gives: the credential to save and who it belongs to.
struct LoggedIn {
  json::value me;
  std::string token;    // a session token, or
  std::string api_key;  // an API key
  std::string expires;  // when the session ends; "" for a key
};

// Each reports its own errors and returns the exit code; `done` is filled on kExitOk.
int log_in_with_password(const LoginOptions& options, CommandEnv& env, LoggedIn& done) {
  auto password = options.password_stdin
                      ? read_line(input_of(env.context), "password on stdin")
                      : ask_secret(env.context, fmt::format("Password for {}: ", options.username),
                                   "--password-stdin");
  if (!password) {
    return report(env.err, password.error(), kExitUsage);
  }
  // No credential at all: a 401 here is a wrong password, not an ended session.
  auto anonymous = client_with(env.settings, "");
  auto session = anonymous ? AuthApi(*anonymous).login(options.username, *password)
                           : tl::unexpected(anonymous.error());
  if (!session) {
    return report(env.err, session.error(), kExitFailure);
  }
  done.token = std::string(*get_string(*session, "token"));  // login() checked it
  if (!is_header_safe(done.token)) {
    return report(env.err, Error{Errc::corrupt, "the server sent a malformed session token"},
                  kExitFailure);
  }
  auto who = me_with(env.settings, done.token);
  done.me = who ? std::move(*who) : me_from_login(*session);
  if (const json::value* about = get_object(*session, "session")) {
    done.expires = time_and_relative(*about, "expires_at", env.context.clock.now_ms());
  }
  return kExitOk;
}

int log_in_with_key(const LoginOptions& options, CommandEnv& env, LoggedIn& done) {
  auto key = read_api_key(options, env.context);
  if (!key) {
    return report(env.err, key.error(), kExitUsage);
  }
  auto who = me_with(env.settings, *key);
  if (!who) {
    return report(env.err, who.error(), kExitFailure);
  }
  done.me = std::move(*who);
  done.api_key = std::move(*key);
  return kExitOk;
}

// The credential belongs to the server it was checked with: keep that server and its CA next
// to it when they came from a flag or the environment; else the file's stay as written.
void remember_server(const Settings& settings, FileConfig& file) {
  if (settings.url_source == Source::flag || settings.url_source == Source::environment) {
    file.url = settings.url;
  }
  if (settings.ca_source == Source::flag || settings.ca_source == Source::environment) {
    std::error_code ec;
    auto absolute = std::filesystem::absolute(settings.ca_file, ec);
    file.ca_file = ec ? settings.ca_file : absolute.string();
  }
}

int login(const LoginOptions& options, CommandEnv& env) {
  const Settings& settings = env.settings;
  if (settings.config_path.empty()) {
    env.err << "hecsctl: no config file to save the credential in: set HOME or pass --config\n";
    return kExitUsage;
  }
  auto file = load_config_file(settings.config_path, false, Paths::as_written);
  if (!file) {
    return report(env.err, file.error(), kExitUsage);
  }
  LoggedIn done;
  int code = options.username.empty() ? log_in_with_key(options, env, done)
                                      : log_in_with_password(options, env, done);
  if (code != kExitOk) {
    return code;
  }
  const std::optional<std::string> old_token = file->token;
  // One credential in the file: a saved api_key would win over a new token.
  file->token = done.token.empty() ? std::nullopt : std::optional(done.token);
  file->api_key = done.api_key.empty() ? std::nullopt : std::optional(done.api_key);
  remember_server(settings, *file);
  if (auto saved = save_config_file(settings.config_path, *file); !saved) {
    return report(env.err, saved.error(), kExitFailure);
  }
  if (old_token && !old_token->empty() && *old_token != done.token && is_header_safe(*old_token)) {
    // The session this login replaces would otherwise live on, forgotten, until it expires.
    if (auto old = client_with(settings, *old_token)) {
      (void)AuthApi(*old).logout();
    }
  }
  if (print_if_document(env, done.me)) {
    return kExitOk;
  }
  env.out << fmt::format("logged in as {}\nsaved {} to {} (mode 0600){}\n",
                         describe_principal(done.me),
                         done.token.empty() ? "the API key" : "the session token",
                         escape_for_terminal(settings.config_path.string()),
                         done.expires.empty() ? "" : "; the session ends " + done.expires);
  return kExitOk;
}

int logout(CommandEnv& env) {
  const Settings& settings = env.settings;
  if (settings.config_path.empty()) {
    env.err << "hecsctl: no config file to log out of: set HOME or pass --config\n";
    return kExitUsage;
  }
  std::string where = escape_for_terminal(settings.config_path.string());
  auto file = load_config_file(settings.config_path, false, Paths::as_written);
  if (!file) {
    return report(env.err, file.error(), kExitUsage);
  }
  if (!file->token && !file->api_key) {
    env.err << fmt::format("not logged in: {} holds no token or api_key\n", where);
    return kExitOk;
  }
  int code = kExitOk;
  std::string ended;
  if (file->token && !file->token->empty()) {
    auto http = client_with(settings, *file->token);
    Result<void> done = http ? AuthApi(*http).logout() : tl::unexpected(http.error());
    if (done) {
      ended = "ended the session and ";
    } else if (done.error().code == Errc::unauthorized) {
      ended = "the session had already ended; ";
    } else {
      env.err << fmt::format(
          "hecsctl: could not end the session on the server ({}); it stays valid until it "
          "expires\n",
          done.error().message);
      code = kExitFailure;
    }
  }
  bool had_key = file->api_key.has_value();
  file->token.reset();
  file->api_key.reset();
  if (auto saved = save_config_file(settings.config_path, *file); !saved) {
    return report(env.err, saved.error(), kExitFailure);
  }
  env.out << fmt::format("logged out: {}removed the credential from {}\n", ended, where);
  if (had_key) {
    env.out << "the API key itself still works until it expires or is revoked (hecsctl keys "
               "revoke ID)\n";
  }
  return code;
}

int whoami(CommandEnv& env) {
  auto me = AuthApi(env.http).me();
  if (!me) {
    return report(env.err, me.error(), kExitFailure);
  }
  if (!print_if_document(env, *me)) {
    env.out << format_whoami(*me);
  }
  return kExitOk;
}

int passwd(const PasswdOptions& options, CommandEnv& env) {
  if (!env.settings.credential().starts_with(kSessionPrefix)) {
    env.err << "hecsctl: passwd changes the password of the user logged in with hecsctl login "
               "--username; an API key has no password\n";
    return kExitUsage;
  }
  Result<std::string> current = options.from_stdin
                                    ? read_line(input_of(env.context), "current password on stdin")
                                    : ask_secret(env.context, "Current password: ", "--stdin");
  if (!current) {
    return report(env.err, current.error(), kExitUsage);
  }
  auto next = ask_new_password(env.context, options.from_stdin, "new password", "--stdin");
  if (!next) {
    return report(env.err, next.error(), kExitUsage);
  }
  if (auto changed = AuthApi(env.http).change_password(*current, *next); !changed) {
    return report(env.err, changed.error(), kExitFailure);
  }
  if (!print_if_document(env, json::object{{"password_changed", true}})) {
    env.out << "password changed; your other sessions have ended, this one goes on\n";
  }
  return kExitOk;
}

}  // namespace

void add_auth_commands(CLI::App& root, Invocation& inv, std::vector<Verb>& verbs) {
  LoginOptions& options = inv.login;
  CLI::App* login_app = root.add_subcommand(
      "login", "Log in with a username and password, or an API key, and save the credential");
  auto* username = login_app
                       ->add_option("--username", options.username,
                                    "log in as this user; the password is asked for")
                       ->type_name("NAME");
  login_app
      ->add_flag("--password-stdin", options.password_stdin,
                 "read the password from the first line of stdin instead")
      ->needs(username);
  auto* key_file =
      login_app
          ->add_option("--api-key-file", options.api_key_file,
                       "use the API key in this file: its first line starting with hecs_")
          ->type_name("PATH");
  auto* key_stdin = login_app->add_flag("--api-key-stdin", options.api_key_stdin,
                                        "read the API key from stdin (a line hecs_...)");
  username->excludes(key_file)->excludes(key_stdin);
  key_file->excludes(key_stdin);
  login_app->footer(
      "With --username, hecs-control makes a session (12 hours) and hecsctl saves its token\n"
      "as token: in the config file; with an API key, the key is checked (GET /auth/me) and\n"
      "saved as api_key:. The file gets mode 0600; its url: and ca_file: are kept, or set to\n"
      "--url and --ca-file when those are given. Logging in again replaces the credential.\n"
      "A first start of hecs-control writes DATA_DIR/admin-credentials: the user admin, its\n"
      "password, and a superadmin API key. -o json prints GET /auth/me, never the secret.\n\n"
      "Examples:\n"
      "  hecsctl --url https://control.lan:8080 --ca-file ~/hecs-ca.pem login --username admin\n"
      "  sudo cat /var/lib/hecs-control/admin-credentials | hecsctl login --api-key-stdin\n"
      "  pass show hecs/ci | hecsctl login --username ci --password-stdin");
  add_global_options(*login_app, inv.global);
  verbs.push_back({login_app,
                   [&options](CommandEnv& env) {
                     if (options.username.empty() && options.api_key_file.empty() &&
                         !options.api_key_stdin) {
                       env.err << "hecsctl: login needs --username, --api-key-file or "
                                  "--api-key-stdin (see hecsctl login --help)\n";
                       return kExitUsage;
                     }
                     return login(options, env);
                   },
                   [] { return false; }});

  CLI::App* logout_app =
      root.add_subcommand("logout", "End the saved session and remove the credential");
  logout_app->footer(
      "Ends the session of the saved token: on the server (POST /auth/logout), and\n"
      "removes token: and api_key: from the config file; url: and ca_file: stay. A saved API\n"
      "key is only removed from the file: revoke it with hecsctl keys revoke ID.\n\n"
      "Example:\n  hecsctl logout");
  add_global_options(*logout_app, inv.global);
  verbs.push_back({logout_app, [](CommandEnv& env) { return logout(env); }, [] { return false; }});

  CLI::App* whoami_app = root.add_subcommand("whoami", "Show who the credential in use is");
  whoami_app->footer(
      "The user or API key, its role and its tenant, as hecs-control sees them.\n\n"
      "Example:\n  hecsctl whoami\n  hecsctl whoami -o json | jq -r .tenant_id");
  add_global_options(*whoami_app, inv.global);
  verbs.push_back({whoami_app, [](CommandEnv& env) { return whoami(env); }});

  CLI::App* passwd_app = root.add_subcommand("passwd", "Change your own password");
  passwd_app->add_flag(
      "--stdin", inv.passwd.from_stdin,
      "read the current password, then the new one, from the first two lines of stdin");
  passwd_app->footer(
      "Needs a session from hecsctl login --username. Asks for the current password and the\n"
      "new one twice. Your other sessions end; this one goes on. An admin resets another\n"
      "user's password with hecsctl users reset-password.\n\n"
      "Examples:\n  hecsctl passwd\n  printf '%s\\n%s\\n' \"$OLD\" \"$NEW\" | hecsctl passwd "
      "--stdin");
  add_global_options(*passwd_app, inv.global);
  verbs.push_back(
      {passwd_app, [&options = inv.passwd](CommandEnv& env) { return passwd(options, env); }});
}

}  // namespace hecs::cli
