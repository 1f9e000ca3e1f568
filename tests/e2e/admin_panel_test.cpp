// The admin panel end to end (issue 7): the secured set-up (hecs-control over HTTPS with SQLite
// serving the built panel, a real Mosquitto with mTLS) and three real hecs-agents enrolled with a
// token, started here; then admin_panel.mjs drives Debian's Chromium through the issue's day of
// an operator (see its header); and, with no device yet, the empty Fleet page and the __Host-
// cookie.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/hecs.h"
#include "support/tempdir.h"

namespace hecs::test {
namespace {

using std::chrono::seconds;

std::string admin_password(const Control& control) {
  std::ifstream creds(control.data_dir() / "admin-credentials");
  for (std::string line; std::getline(creds, line);) {
    if (line.rfind("password: ", 0) == 0) {
      return line.substr(10);
    }
  }
  return {};
}

// `text` as one shell word.
std::string shell_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return out + "'";
}

constexpr char kChromium[] = "/usr/bin/chromium";

// Runs admin_panel.mjs (a `flow` of it, "" for the default) with `args` and the environment
// `env` added, at most 150 s; its exit code, and its output in `output` (also printed).
int run_script(const std::string& flow, const std::vector<std::string>& args, std::string& output,
               const std::vector<std::pair<std::string, std::string>>& env = {}) {
  const auto script = source_dir() / "tests" / "e2e" / "admin_panel.mjs";
  std::string command = "HECS_WEB_NODE_MODULES=" + shell_quoted(HECS_WEB_NODE_MODULES) +
                        " HECS_E2E_SCREENSHOTS=" + shell_quoted(HECS_E2E_SCREENSHOTS) +
                        " HECS_CHROMIUM=" + shell_quoted(kChromium) +
                        (flow.empty() ? "" : " HECS_E2E_FLOW=" + shell_quoted(flow)) +
                        " timeout -k 5 150 node " + shell_quoted(script.string());
  for (const auto& [name, value] : env) {
    command = name + "=" + shell_quoted(value) + " " + command;
  }
  for (const auto& arg : args) {
    command += " " + shell_quoted(arg);
  }
  const int code = run_command(command + " 2>&1", &output);
  std::cout << output;
  return code;
}

bool online(const Control& control, const std::string& id) {
  auto d = control.device(id);
  return d.is_object() && d.at("online").is_bool() && d.at("online").as_bool();
}

TEST(AdminPanel, RunsTheOperatorsDayInChromium) {
  ASSERT_TRUE(std::filesystem::exists(kChromium))
      << "Debian's chromium is missing: run scripts/install-deps.sh";
  ASSERT_TRUE(std::filesystem::exists(std::filesystem::path(HECS_WEB_ADMIN_DIR) / "index.html"))
      << "the panel is not built: ninja hecs_web_admin";

  // The secured set-up (HTTPS, mTLS broker, enrolment), three agents enrolled with one token.
  auto control = Control::start_secure({"--web-root", HECS_WEB_ADMIN_DIR});
  auto made = control->call("POST", "/api/v1/enrollment-tokens",
                            R"({"expires_in_s":3600,"max_uses":3,"auto_approve":true})");
  ASSERT_EQ(made.status, 201) << made.body;
  const auto token = made.json();
  const std::string ca_sha256(token.at("ca_sha256").as_string());
  std::vector<std::unique_ptr<Agent>> agents;
  for (int i = 0; i < 3; ++i) {
    agents.push_back(Agent::enrol(*control, std::string(token.at("token").as_string()), ca_sha256));
  }
  for (auto& agent : agents) {
    ASSERT_TRUE(wait_until([&] { return online(*control, agent->device_id()); }, seconds(30)))
        << control->process().log_text() << agent->process().log_text();
  }

  // The panel's HTML comes with its security headers, and an app route falls back to it.
  auto page =
      http_request("GET", control->url() + "/fleet", {"Accept: text/html"}, {}, control->ca_file());
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.header("content-security-policy").find("default-src 'self'"), std::string::npos);
  EXPECT_EQ(page.header("cache-control"), "no-cache");

  const std::string password = admin_password(*control);
  ASSERT_FALSE(password.empty());
  const std::string viewer = "e2e-viewer";
  const std::string viewer_password = "a viewer's password 42";
  auto user =
      control->call("POST", "/api/v1/users",
                    boost::json::serialize(boost::json::object{
                        {"username", viewer}, {"password", viewer_password}, {"role", "viewer"}}));
  ASSERT_EQ(user.status, 201) << user.body;

  // The script stops the last agent itself (SIGTERM to its pid) to see its row turn offline
  // live, and enrols a fourth agent (this hecs-agent, its own state dir) with a token it makes
  // in the panel.
  const TempDir fourth("e2e-agent4");
  std::string output;
  const int code = run_script({},
                              {control->url(), "admin", password, viewer, viewer_password,
                               std::to_string(agents.back()->process().pid())},
                              output,
                              {{"HECS_E2E_AGENT", (bin_dir() / "hecs-agent").string()},
                               {"HECS_E2E_AGENT_DIR", fourth.path().string()}});
  EXPECT_EQ(code, 0) << output << "\nhecs-control log:\n" << control->process().log_text();
}

TEST(AdminPanel, ShowsTheEmptyFleetOverHttpsWithTheHostPrefixedCookie) {
  ASSERT_TRUE(std::filesystem::exists(kChromium))
      << "Debian's chromium is missing: run scripts/install-deps.sh";
  auto control = Control::start_secure({"--web-root", HECS_WEB_ADMIN_DIR});
  const std::string password = admin_password(*control);
  ASSERT_FALSE(password.empty());
  std::string output;
  const int code = run_script("https-empty", {control->url(), "admin", password}, output);
  EXPECT_EQ(code, 0) << output << "\nhecs-control log:\n" << control->process().log_text();
}

}  // namespace
}  // namespace hecs::test
