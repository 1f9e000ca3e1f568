// Builtin arguments (proto/builtins.h): the checks the control plane makes before storing a
// task and the agent makes again before running it.
#include "proto/builtins.h"

#include <string>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "proto/proto.h"

namespace hecs::proto {
namespace {

boost::json::object object(const std::string& text) { return boost::json::parse(text).as_object(); }

TEST(CollectArgs, RefusesUnknownArgsBadUnitsBadSinceAndUnconfinablePaths) {  // S26
  for (const char* args :
       {R"({"unit":["a"]})", R"({"units":["--file=/etc/shadow"]})", R"({"units":["a b"]})",
        R"({"units":"ssh"})", R"({"since":"yesterday"})", R"({"since":"-0h"})", R"({"since":-5})",
        R"({"paths":[42]})", R"({"paths":["/var/log/./x"]})", R"({"paths":["/var//log"]})",
        R"({"paths":["/var/log/../../etc/shadow"]})", R"({"paths":["var/log"]})",
        "{\"paths\":[\"/var/log/a\\u0000b\"]}"}) {
    EXPECT_FALSE(parse_collect_args(object(args))) << args;
  }
  auto ok = parse_collect_args(
      object(R"({"units":["ssh.service","getty@tty1.service"],"since":1700000000123})"));
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->since, "@1700000000");
  EXPECT_EQ(ok->units.size(), 2u);
  auto defaults = parse_collect_args({});
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->since, "-24h");
}

TEST(BuiltinArgs, RebootNeedsConfirmAndTheOthersTakeNone) {
  EXPECT_TRUE(check_builtin_args("reboot", object(R"({"confirm":true})")));
  for (const char* args :
       {"{}", R"({"confirm":false})", R"({"confirm":"yes"})", R"({"confirm":true,"delay":5})"}) {
    auto r = check_builtin_args("reboot", object(args));
    ASSERT_FALSE(r) << args;
    EXPECT_NE(r.error().message.find("confirm"), std::string::npos) << r.error().message;
  }
  EXPECT_TRUE(check_builtin_args("inventory-refresh", {}));
  EXPECT_FALSE(check_builtin_args("restart-agent", object(R"({"now":true})")));
  EXPECT_TRUE(check_builtin_args("collect-logs", object(R"({"since":"-2h"})")));
}

// validate_task, which the control plane runs on every POST, refuses bad builtin args.
TEST(BuiltinArgs, AreCheckedByValidateTask) {
  TaskSpec spec;
  spec.task = "0b0f7c1e-9a38-4c1c-8d35-3f2b5a1c9e77";
  spec.kind = TaskKind::builtin;
  spec.builtin = "collect-logs";
  spec.args = object(R"({"paths":["/var/log/../../etc"]})");
  auto r = validate_task(spec);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_input);
  EXPECT_NE(r.error().message.find("command.args.paths[0]"), std::string::npos)
      << r.error().message;
  spec.args = object(R"({"paths":["/var/log/syslog"]})");
  EXPECT_TRUE(validate_task(spec));
}

}  // namespace
}  // namespace hecs::proto
