// The broker's generated config and ACL files, without a broker (the integration test
// broker_security_test runs them in the real Mosquitto).
#include "control/broker/broker.h"

#include <fstream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/tempdir.h"

namespace hecs::control::broker {
namespace {
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kDeviceA = "11111111-1111-4111-8111-111111111111";
constexpr const char* kDeviceB = "22222222-2222-4222-8222-222222222222";

BrokerConfig sample_config() {
  BrokerConfig c;
  c.listen_host = "127.0.0.1";
  c.port = 8883;
  c.ca_file = "/etc/hecs/ca.pem";
  c.cert_file = "/etc/hecs/broker.pem";
  c.key_file = "/etc/hecs/broker.key";
  c.crl_file = "/var/lib/hecs/crl.pem";
  c.acl_file = "/var/lib/hecs/acl";
  c.persistence_dir = "/var/lib/mosquitto";
  c.pid_file = "/run/hecs/mosquitto.pid";
  c.max_packet_size = 65536;
  return c;
}

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

TEST(BrokerConfig, HasOneMutualTlsListenerAndDeniesByDefault) {
  auto text = render_config(sample_config());
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_EQ(count(*text, "\nlistener "), 1) << *text;
  for (const char* line : {"per_listener_settings false\n",
                           "allow_anonymous false\n",
                           "listener 8883 127.0.0.1\n",
                           "require_certificate true\n",
                           "use_identity_as_username true\n",
                           "use_username_as_clientid true\n",
                           "tls_version tlsv1.2\n",
                           "cafile /etc/hecs/ca.pem\n",
                           "certfile /etc/hecs/broker.pem\n",
                           "keyfile /etc/hecs/broker.key\n",
                           "crlfile /var/lib/hecs/crl.pem\n",
                           "acl_file /var/lib/hecs/acl\n",
                           "check_retain_source true\n",
                           "max_packet_size 65536\n",
                           "max_inflight_messages 20\n",
                           "max_queued_messages 100000\n",
                           "persistence true\n",
                           "persistence_location /var/lib/mosquitto/\n",
                           "pid_file /run/hecs/mosquitto.pid\n",
                           "log_type information\n"}) {
    EXPECT_THAT(*text, HasSubstr(line));
  }
  EXPECT_THAT(*text, Not(HasSubstr("allow_anonymous true")));
  EXPECT_THAT(*text, Not(HasSubstr("password_file")));
}

TEST(BrokerConfig, RefusesAPathThatWouldInjectADirective) {
  auto c = sample_config();
  c.crl_file = "/tmp/crl.pem\nallow_anonymous true";
  auto text = render_config(c);
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().code, Errc::invalid_input);
  EXPECT_THAT(text.error().message, HasSubstr("crl_file"));
}

TEST(BrokerConfig, RefusesRelativePathsBadLogDestAndBounds) {
  auto relative = sample_config();
  relative.acl_file = "acl";
  EXPECT_FALSE(render_config(relative));
  auto log = sample_config();
  log.log_dest = "topic";
  EXPECT_FALSE(render_config(log));
  auto big = sample_config();
  big.max_packet_size = 300'000'000;
  EXPECT_FALSE(render_config(big));
  auto user = sample_config();
  user.control_username = "hecs control";
  EXPECT_FALSE(render_config(user));
  auto quiet = sample_config();
  quiet.log_types = {"error"};  // without "information" nobody could tell a reload happened
  EXPECT_FALSE(render_config(quiet));
}

TEST(BrokerAcl, GrantsEachDeviceItsOwnSubtreesAndTheControlUserTheRest) {
  auto text = render_acl("hecs-control", {});
  ASSERT_TRUE(text) << text.error().message;
  for (const char* line :
       {"pattern write hecs/v1/dev/%u/up/#\n", "pattern read hecs/v1/dev/%u/down/#\n",
        "user hecs-control\ntopic read hecs/v1/dev/+/up/#\ntopic write hecs/v1/dev/+/down/#\n"
        "topic write hecs/v1/dev/+/up/hello\ntopic write hecs/v1/dev/+/up/status\n"}) {
    EXPECT_THAT(*text, HasSubstr(line));
  }
  EXPECT_THAT(*text, Not(HasSubstr("topic deny")));
  EXPECT_TRUE(check_acl(*text));
}

TEST(BrokerAcl, DeniesEveryTopicToEachRevokedDeviceOnce) {
  auto text = render_acl("hecs-control", {kDeviceB, kDeviceA, kDeviceB});
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_EQ(count(*text, "topic deny #\n"), 2);
  auto a = text->find(std::string("user ") + kDeviceA + "\ntopic deny #\n");
  auto b = text->find(std::string("user ") + kDeviceB + "\ntopic deny #\n");
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  EXPECT_LT(a, b);  // sorted: the same set always gives the same file
}

TEST(BrokerAcl, RefusesIdsThatAreNotCanonicalLowerCaseUuids) {
  for (const char* bad :
       {"11111111-1111-4111-8111-11111111111A", "#", "+", "11111111111141118111111111111111",
        "11111111-1111-4111-8111-111111111111 ", "11111111-1111-4111-8111-111111111111\nuser x", "",
        "a/b"}) {
    auto text = render_acl("hecs-control", {kDeviceA, bad});
    ASSERT_FALSE(text) << bad;
    EXPECT_EQ(text.error().code, Errc::invalid_input);
  }
}

TEST(BrokerAcl, RefusesAControlUsernameWithWildcardsOrWhitespace) {
  for (const char* bad : {"", "hecs control", "hecs#", "hecs+", "%u", "a/b", "x\ny", "tab\t"}) {
    auto text = render_acl(bad, {});
    ASSERT_FALSE(text) << bad;
    EXPECT_EQ(text.error().code, Errc::invalid_input);
  }
}

TEST(BrokerAcl, CheckRefusesEmptyTruncatedAndForeignFiles) {
  EXPECT_EQ(check_acl("").error().code, Errc::corrupt);
  EXPECT_EQ(check_acl("# only a comment\n").error().code, Errc::corrupt);
  EXPECT_FALSE(check_acl("user hecs-control\ntopic rea"));
  EXPECT_FALSE(check_acl("pattern write hecs/v1/dev/%u/up/#\nbogus line\n"));
  EXPECT_FALSE(check_acl("topic\n"));
  auto full = render_acl("hecs-control", {kDeviceA});
  ASSERT_TRUE(full);
  EXPECT_TRUE(check_acl(*full));
}

TEST(BrokerAclFile, IsReplacedAtomicallyWithMode0640) {
  test::TempDir dir("broker-acl");
  auto path = dir.path() / "acl";
  ASSERT_TRUE(write_acl(path, "hecs-control", {}));
  // A reader that opened the old file keeps reading the old, whole content: the new file is
  // renamed over the path, never written into it.
  std::ifstream old_reader(path);
  ASSERT_TRUE(write_acl(path, "hecs-control", {kDeviceA}));
  std::stringstream old_text;
  old_text << old_reader.rdbuf();
  EXPECT_THAT(old_text.str(), Not(HasSubstr(kDeviceA)));
  EXPECT_TRUE(check_acl(old_text.str()));
  EXPECT_THAT(read(path), HasSubstr(std::string("user ") + kDeviceA));

  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640);
  int files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    ++files;
  }
  EXPECT_EQ(files, 1);  // no temp file left behind
}

TEST(BrokerAclFile, StaysUnchangedWhenTheNewContentIsRefused) {
  test::TempDir dir("broker-acl");
  auto path = dir.path() / "acl";
  ASSERT_TRUE(write_acl(path, "hecs-control", {kDeviceA}));
  auto before = read(path);
  EXPECT_FALSE(write_acl(path, "hecs-control", {kDeviceB, "not-a-uuid"}));
  EXPECT_EQ(read(path), before);
}

TEST(BrokerReload, RefusesABrokenAclWithoutSignallingAnyone) {
  test::TempDir dir("broker-reload");
  auto c = sample_config();
  c.acl_file = dir.path() / "acl";
  c.crl_file = dir.path() / "crl.pem";
  c.pid_file = dir.path() / "pid";
  std::ofstream(c.acl_file) << "user hecs-control\ntopic re";
  std::ofstream(c.crl_file) << "-----BEGIN X509 CRL-----\nAA==\n-----END X509 CRL-----\n";
  std::ofstream(c.pid_file) << ::getpid() << "\n";  // would be us: must not be signalled
  auto reloaded = reload(c);
  ASSERT_FALSE(reloaded);
  EXPECT_EQ(reloaded.error().code, Errc::corrupt);

  ASSERT_TRUE(write_acl(c.acl_file, "hecs-control", {}));
  std::ofstream(c.crl_file) << "";  // empty CRL: Mosquitto would drop revocation checks
  reloaded = reload(c);
  ASSERT_FALSE(reloaded);
  EXPECT_EQ(reloaded.error().code, Errc::corrupt);
}

TEST(BrokerReload, RefusesAPidFileThatDoesNotNameAMosquitto) {
  test::TempDir dir("broker-pid");
  auto pid_file = dir.path() / "pid";
  EXPECT_EQ(read_pid_file(pid_file).error().code, Errc::not_found);
  std::ofstream(pid_file) << "12ab\n";
  EXPECT_EQ(read_pid_file(pid_file).error().code, Errc::corrupt);
  std::ofstream(pid_file) << "1\n";
  EXPECT_EQ(read_pid_file(pid_file).error().code, Errc::corrupt);
  std::ofstream(pid_file) << ::getpid() << "\n";  // a live process, but not mosquitto
  EXPECT_EQ(read_pid_file(pid_file).error().code, Errc::unavailable);
}

}  // namespace
}  // namespace hecs::control::broker
