// The admin panel end to end (issue 7): a real Mosquitto, hecs-control serving the built panel
// over plain HTTP with SQLite, and a real hecs-agent, started here; then admin_panel.mjs drives
// Debian's Chromium through sign-in, the Fleet page (the agent stopped by the script turning
// offline live), axe-core, a viewer and sign-out; and over
// HTTPS (the secured set-up, no device yet) the empty Fleet page and the __Host- cookie.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/hecs.h"
#include "support/mosquitto.h"

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

// Runs admin_panel.mjs (a `flow` of it, "" for the default) with `args`, at most 90 s; its exit
// code, and its output in `output` (also printed).
int run_script(const std::string& flow, const std::vector<std::string>& args, std::string& output) {
  const auto script = source_dir() / "tests" / "e2e" / "admin_panel.mjs";
  std::string command = "HECS_WEB_NODE_MODULES=" + shell_quoted(HECS_WEB_NODE_MODULES) +
                        " HECS_E2E_SCREENSHOTS=" + shell_quoted(HECS_E2E_SCREENSHOTS) +
                        " HECS_CHROMIUM=" + shell_quoted(kChromium) +
                        (flow.empty() ? "" : " HECS_E2E_FLOW=" + shell_quoted(flow)) +
                        " timeout -k 5 90 node " + shell_quoted(script.string());
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

TEST(AdminPanel, SignsInSeesTheFleetOnlineAndSignsOutInChromium) {
  ASSERT_TRUE(std::filesystem::exists(kChromium))
      << "Debian's chromium is missing: run scripts/install-deps.sh";
  ASSERT_TRUE(std::filesystem::exists(std::filesystem::path(HECS_WEB_ADMIN_DIR) / "index.html"))
      << "the panel is not built: ninja hecs_web_admin";

  auto broker = Mosquitto::start();
  auto control = Control::start(broker->url(), {}, {"--web-root", HECS_WEB_ADMIN_DIR});
  auto agent = Agent::start(*control, /*interval_s=*/1);
  ASSERT_TRUE(wait_until([&] { return online(*control, agent->device_id()); }, seconds(20)))
      << control->process().log_text();

  // The panel's HTML comes with its security headers, and an app route falls back to it.
  auto page = http_request("GET", control->url() + "/fleet", {"Accept: text/html"});
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.header("content-security-policy").find("default-src 'self'"), std::string::npos);
  EXPECT_EQ(page.header("cache-control"), "no-cache");

  const std::string password = admin_password(*control);
  ASSERT_FALSE(password.empty());
  const std::string viewer = "e2e-viewer";
  const std::string viewer_password = "a viewer's password 42";
  auto made =
      control->call("POST", "/api/v1/users",
                    boost::json::serialize(boost::json::object{
                        {"username", viewer}, {"password", viewer_password}, {"role", "viewer"}}));
  ASSERT_EQ(made.status, 201) << made.body;

  std::string output;
  // The script stops the agent itself (SIGTERM to this pid) to see its row turn offline live.
  const int code = run_script({},
                              {control->url(), "admin", password, viewer, viewer_password,
                               std::to_string(agent->process().pid())},
                              output);
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
