// hecsctl's identity and audit commands against a real hecs-control over HTTPS: login with the
// first-start credentials, API keys that really stop working when revoked, tenants and users,
// and an audit log that verifies until a row is changed behind the server's back.
#include <fstream>
#include <iterator>
#include <sstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include "cli/cli.h"
#include "cli/cli_harness.h"
#include "common/clock.h"
#include "support/hecs.h"
#include "support/process.h"
#include "support/tempdir.h"

namespace hecs::cli {
namespace {

namespace json = boost::json;

constexpr const char* kPassword = "a long enough pass phrase";

// The "username: " and "password: " lines of DATA_DIR/admin-credentials.
std::string credential(const hecs::test::Control& control, const std::string& name) {
  std::ifstream in(control.data_dir() / "admin-credentials");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + ": ", 0) == 0) {
      return line.substr(name.size() + 2);
    }
  }
  return {};
}

std::string unique(const std::string& prefix) { return prefix + random_uuid().substr(0, 8); }

// hecsctl with a HOME of its own, so each test starts logged out.
class Hecsctl {
 public:
  explicit Hecsctl(const hecs::test::Control& control) : control_(control) {}

  // With the url and CA given as flags, and no credential unless the config file has one.
  test::Outcome run(std::vector<std::string> args, const std::string& stdin_text = "") {
    args.insert(args.end(), {"--url", control_.url(), "--ca-file", control_.ca_file()});
    return bare(args, stdin_text);
  }
  // With the bootstrap API key (superadmin of tenant default).
  test::Outcome admin(std::vector<std::string> args, const std::string& stdin_text = "") {
    args.insert(args.end(), {"--api-key", control_.api_key()});
    return run(std::move(args), stdin_text);
  }
  // Exactly the arguments given.
  test::Outcome bare(const std::vector<std::string>& args, const std::string& stdin_text = "") {
    test::ScopedEnv env({{"HOME", home_.path().string()},
                         {"XDG_CONFIG_HOME", std::nullopt},
                         {"HECS_URL", std::nullopt},
                         {"HECS_API_KEY", std::nullopt},
                         {"HECS_CA_FILE", std::nullopt},
                         {"no_proxy", "127.0.0.1,localhost"}});
    std::istringstream in(stdin_text);
    return test::run_cli(args, {.clock = clock_, .in = &in});
  }
  std::filesystem::path config_path() const {
    return home_.path() / ".config" / "hecs" / "config.yaml";
  }

 private:
  const hecs::test::Control& control_;
  hecs::test::TempDir home_{"cli-home"};
  SystemClock clock_;
};

class HecsctlIdentityOverHttps : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { control_ = hecs::test::Control::start_secure().release(); }
  static void TearDownTestSuite() {
    delete control_;
    control_ = nullptr;
  }

  // One server for the suite, made in SetUpTestSuite.
  // NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables)
  static inline hecs::test::Control* control_ = nullptr;
  Hecsctl cli_{*control_};
};

TEST_F(HecsctlIdentityOverHttps, LoginWithTheFirstStartPasswordSavesASessionThatLaterCallsUse) {
  ASSERT_EQ(credential(*control_, "username"), "admin");
  auto login = cli_.run({"login", "--username", "admin", "--password-stdin"},
                        credential(*control_, "password") + "\n");
  ASSERT_EQ(login.exit_code, kExitOk) << login.err;
  EXPECT_EQ(login.out.rfind("logged in as admin (superadmin) in tenant default\n", 0), 0u)
      << login.out;
  struct stat info {};
  ASSERT_EQ(::stat(cli_.config_path().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  YAML::Node config = YAML::LoadFile(cli_.config_path().string());
  EXPECT_EQ(config["url"].as<std::string>(), control_->url());
  EXPECT_EQ(config["ca_file"].as<std::string>(), control_->ca_file());
  std::string token = config["token"].as<std::string>();
  EXPECT_EQ(token.rfind("hecss_", 0), 0u);

  auto whoami = cli_.bare({"whoami"});  // url, CA and token from the config file
  ASSERT_EQ(whoami.exit_code, kExitOk) << whoami.err;
  EXPECT_EQ(whoami.out.rfind("User:     admin (", 0), 0u) << whoami.out;
  EXPECT_NE(whoami.out.find("Role:     superadmin\nTenant:   default ("), std::string::npos);

  auto logout = cli_.bare({"logout"});
  ASSERT_EQ(logout.exit_code, kExitOk) << logout.err;
  EXPECT_EQ(cli_.bare({"whoami"}).exit_code, kExitUsage);  // not logged in any more
  auto old = cli_.run({"whoami", "--api-key", token});
  EXPECT_EQ(old.exit_code, kExitFailure);  // the server ended the session too
  EXPECT_NE(old.err.find("(HTTP 401)"), std::string::npos) << old.err;
}

TEST_F(HecsctlIdentityOverHttps, AWrongPasswordIsRefusedWithExitOne) {
  auto login = cli_.run({"login", "--username", "admin", "--password-stdin"}, "not the password\n");
  EXPECT_EQ(login.exit_code, kExitFailure);
  EXPECT_NE(login.err.find("invalid username or password (HTTP 401)"), std::string::npos)
      << login.err;
  EXPECT_FALSE(std::filesystem::exists(cli_.config_path()));
}

TEST_F(HecsctlIdentityOverHttps, LoginWithTheAdminCredentialsFileSavesTheFirstStartKey) {
  auto login =
      cli_.run({"login", "--api-key-file", (control_->data_dir() / "admin-credentials").string()});
  ASSERT_EQ(login.exit_code, kExitOk) << login.err;
  YAML::Node config = YAML::LoadFile(cli_.config_path().string());
  EXPECT_EQ(config["api_key"].as<std::string>(), control_->api_key());
  auto whoami = cli_.bare({"whoami", "-o", "json"});
  ASSERT_EQ(whoami.exit_code, kExitOk) << whoami.err;
  EXPECT_EQ(json::parse(whoami.out).at("kind"), "api_key");
}

TEST_F(HecsctlIdentityOverHttps, AnApiKeyWorksUntilItIsRotatedAwayOrRevoked) {
  auto made = cli_.admin({"keys", "create", "--name", "ci", "--role", "operator", "-o", "json"});
  ASSERT_EQ(made.exit_code, kExitOk) << made.err;
  json::value key = json::parse(made.out);
  std::string id(key.at("id").as_string());
  std::string secret(key.at("key").as_string());

  auto listed = cli_.admin({"keys", "list"});
  ASSERT_EQ(listed.exit_code, kExitOk) << listed.err;
  auto row = listed.out.find(id);
  ASSERT_NE(row, std::string::npos) << listed.out;
  std::istringstream columns(listed.out.substr(row, listed.out.find('\n', row) - row));
  std::vector<std::string> cells{std::istream_iterator<std::string>(columns), {}};
  ASSERT_GE(cells.size(), 5u) << listed.out;
  EXPECT_EQ(cells[1], "ci");
  EXPECT_EQ(cells[3], "operator");
  EXPECT_EQ(cells[4], "active");
  EXPECT_EQ(listed.out.find(secret), std::string::npos);

  auto as_ci = cli_.run({"whoami", "--api-key", secret});
  ASSERT_EQ(as_ci.exit_code, kExitOk) << as_ci.err;
  EXPECT_NE(as_ci.out.find("Role:     operator"), std::string::npos) << as_ci.out;

  auto rotated = cli_.admin({"keys", "rotate", id, "--overlap", "0s", "-o", "json"});
  ASSERT_EQ(rotated.exit_code, kExitOk) << rotated.err;
  json::value next = json::parse(rotated.out);
  EXPECT_EQ(next.at("replaces"), id.c_str());
  std::string next_id(next.at("id").as_string());
  std::string next_secret(next.at("key").as_string());
  EXPECT_EQ(cli_.run({"whoami", "--api-key", secret}).exit_code, kExitFailure);
  ASSERT_EQ(cli_.run({"whoami", "--api-key", next_secret}).exit_code, kExitOk);

  auto revoked = cli_.admin({"keys", "revoke", next_id});
  ASSERT_EQ(revoked.exit_code, kExitOk) << revoked.err;
  auto refused = cli_.run({"devices", "list", "--api-key", next_secret});
  EXPECT_EQ(refused.exit_code, kExitFailure);
  EXPECT_NE(refused.err.find("(HTTP 401)"), std::string::npos) << refused.err;
  auto shown = cli_.admin({"keys", "show", next_id, "-o", "json"});
  ASSERT_EQ(shown.exit_code, kExitOk) << shown.err;
  EXPECT_EQ(json::parse(shown.out).at("state"), "revoked");
}

TEST_F(HecsctlIdentityOverHttps, ADisabledTenantLocksItsOwnerOut) {
  std::string name = unique("acme-");
  std::string owner = unique("owner-");
  auto made =
      cli_.admin({"tenants", "create", "--name", name, "--owner", owner, "--owner-password-stdin"},
                 std::string(kPassword) + "\n");
  ASSERT_EQ(made.exit_code, kExitOk) << made.err;
  EXPECT_NE(made.out.find("Owner:"), std::string::npos) << made.out;

  Hecsctl owner_cli(*control_);
  auto login = owner_cli.run({"login", "--username", owner, "--password-stdin"},
                             std::string(kPassword) + "\n");
  ASSERT_EQ(login.exit_code, kExitOk) << login.err;
  EXPECT_NE(login.out.find("(owner) in tenant " + name), std::string::npos) << login.out;
  EXPECT_EQ(owner_cli.bare({"tenants", "list"}).exit_code, kExitFailure);  // not a superadmin

  auto disabled = cli_.admin({"tenants", "disable", name});
  ASSERT_EQ(disabled.exit_code, kExitOk) << disabled.err;
  auto listed = cli_.admin({"tenants", "list"});
  ASSERT_EQ(listed.exit_code, kExitOk) << listed.err;
  auto row = listed.out.find(name);
  ASSERT_NE(row, std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("disabled", row), std::string::npos) << listed.out;
  auto locked = owner_cli.bare({"whoami"});
  EXPECT_EQ(locked.exit_code, kExitFailure);
  EXPECT_NE(locked.err.find("(HTTP 401)"), std::string::npos) << locked.err;

  ASSERT_EQ(cli_.admin({"tenants", "enable", name}).exit_code, kExitOk);
  EXPECT_EQ(
      owner_cli
          .run({"login", "--username", owner, "--password-stdin"}, std::string(kPassword) + "\n")
          .exit_code,
      kExitOk);
}

TEST_F(HecsctlIdentityOverHttps, AUserIsCreatedWithARoleThatSetRoleChanges) {
  std::string name = unique("viewer-");
  auto made =
      cli_.admin({"users", "create", "--username", name, "--role", "viewer", "--password-stdin"},
                 std::string(kPassword) + "\n");
  ASSERT_EQ(made.exit_code, kExitOk) << made.err;

  Hecsctl user_cli(*control_);
  ASSERT_EQ(
      user_cli.run({"login", "--username", name, "--password-stdin"}, std::string(kPassword) + "\n")
          .exit_code,
      kExitOk);
  EXPECT_EQ(user_cli.bare({"users", "list"}).exit_code, kExitFailure);  // admin only

  auto promoted = cli_.admin({"users", "set-role", name, "admin"});
  ASSERT_EQ(promoted.exit_code, kExitOk) << promoted.err;
  EXPECT_EQ(promoted.out, "user " + name + " now has the role admin\n");
  auto listed = user_cli.bare({"users", "list"});  // the running session has the new role
  ASSERT_EQ(listed.exit_code, kExitOk) << listed.err;
  EXPECT_NE(listed.out.find(name), std::string::npos);

  auto shown = cli_.admin({"users", "show", name, "-o", "json"});
  ASSERT_EQ(shown.exit_code, kExitOk) << shown.err;
  EXPECT_EQ(json::parse(shown.out).at("role"), "admin");
}

TEST_F(HecsctlIdentityOverHttps, AuditListShowsTheKeysThatWereCreated) {
  std::string name = unique("audited-");
  ASSERT_EQ(cli_.admin({"keys", "create", "--name", name, "--role", "viewer"}).exit_code, kExitOk);
  auto listed = cli_.admin({"audit", "list", "--action", "keys.create", "--all", "-o", "json"});
  ASSERT_EQ(listed.exit_code, kExitOk) << listed.err;
  bool found = false;
  json::value page = json::parse(listed.out);
  for (const json::value& record : page.at("items").as_array()) {
    EXPECT_EQ(record.at("action"), "keys.create");
    found = found || record.at("detail").as_string().find(name) != json::string::npos;
  }
  EXPECT_TRUE(found) << listed.out;
  auto table = cli_.admin({"audit", "list", "--action", "keys.create", "--since", "1h"});
  ASSERT_EQ(table.exit_code, kExitOk) << table.err;
  EXPECT_EQ(table.out.rfind("SEQ   TIME (UTC)", 0), 0u) << table.out;
}

// A control plane of its own: the test changes its database.
TEST(HecsctlAuditOverHttps, VerifyPassesOnAFreshLogAndNamesARowChangedInTheDatabase) {
  auto control = hecs::test::Control::start_secure();
  Hecsctl cli(*control);
  ASSERT_EQ(cli.run({"login", "--username", "admin", "--password-stdin"},
                    credential(*control, "password") + "\n")
                .exit_code,
            kExitOk);  // record 1: auth.login
  for (const char* name : {"one", "two"}) {
    ASSERT_EQ(cli.bare({"keys", "create", "--name", name, "--role", "viewer"}).exit_code, kExitOk);
  }
  auto me = cli.bare({"whoami", "-o", "json"});
  ASSERT_EQ(me.exit_code, kExitOk) << me.err;
  std::string tenant(json::parse(me.out).at("tenant_id").as_string());

  hecs::test::TempDir saved("cli-checkpoints");
  auto checkpoint = cli.bare({"audit", "checkpoint", "--save", saved.path().string()});
  ASSERT_EQ(checkpoint.exit_code, kExitOk) << checkpoint.err;
  auto fresh = cli.bare({"audit", "verify", "--checkpoints", saved.path().string()});
  ASSERT_EQ(fresh.exit_code, kExitOk) << fresh.err;
  EXPECT_EQ(fresh.out.rfind("audit log of tenant " + tenant + ": ", 0), 0u) << fresh.out;
  EXPECT_NE(fresh.out.find(" checkpoint: OK\n"), std::string::npos) << fresh.out;

  std::string db = (control->data_dir() / "hecs.db").string();
  std::string out;
  ASSERT_EQ(hecs::test::run_command("sqlite3 -cmd '.timeout 5000' '" + db +
                                        "' \"UPDATE audit_log SET action='x' WHERE seq=2\" 2>&1",
                                    &out),
            0)
      << out;
  auto tampered = cli.bare({"audit", "verify", "--checkpoints", saved.path().string()});
  EXPECT_EQ(tampered.exit_code, kExitFailure);
  EXPECT_EQ(tampered.out, "");
  EXPECT_EQ(tampered.err.rfind("hecsctl: audit log of tenant " + tenant + " does not verify: ", 0),
            0u)
      << tampered.err;
  EXPECT_NE(tampered.err.find("(first bad record: seq 2)\n"), std::string::npos) << tampered.err;

  std::string bundle = (saved.path() / "bundle.json").string();
  ASSERT_EQ(cli.bare({"audit", "export", "--out", bundle}).exit_code, kExitOk);
  auto offline = cli.bare({"audit", "verify", "--bundle", bundle});
  EXPECT_EQ(offline.exit_code, kExitFailure);
  EXPECT_NE(offline.err.find("(first bad record: seq 2)"), std::string::npos) << offline.err;
}

}  // namespace
}  // namespace hecs::cli
