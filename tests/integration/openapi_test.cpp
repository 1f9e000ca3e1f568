// The OpenAPI document a real hecs-control serves (issue 5, point 6): an independent linter
// from npm (@redocly/cli, pinned in tests/openapi/package-lock.json) finds no problem in it,
// and every operation it describes is a route the server answers, so the document and the
// routes cannot drift apart. That every registered route is in the document is checked in
// process by tests/control/api (the document is made from the route table).
#include <fstream>
#include <set>
#include <string>

#include <boost/json.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/hecs.h"
#include "support/process.h"
#include "support/tempdir.h"

namespace hecs::test {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

class OpenApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { control_ = Control::start_secure().release(); }
  static void TearDownTestSuite() {
    delete control_;
    control_ = nullptr;
  }
  static Control* control_;
};
Control* OpenApi::control_ = nullptr;

TEST_F(OpenApi, TheServedDocumentPassesTheIndependentLinter) {
  auto r = http_get(control_->url() + "/api/v1/openapi.json", {}, control_->ca_file());
  ASSERT_EQ(r.status, 200);  // open: a client generator needs no key
  auto doc = r.json();
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc.at("openapi"), "3.1.0");
  TempDir dir("openapi");
  const auto file = dir.path() / "openapi.json";
  std::ofstream(file) << r.body;
  const auto redocly =
      std::filesystem::path(HECS_OPENAPI_DIR) / "node_modules" / ".bin" / "redocly";
  ASSERT_TRUE(std::filesystem::exists(redocly))
      << redocly << " (tests/openapi/npm_ci.sh installs it)";
  std::string out;
  int rc = run_command("'" + redocly.string() + "' lint --format stylish --config '" +
                           (source_dir() / "tests" / "openapi" / "redocly.yaml").string() + "' '" +
                           file.string() + "' 2>&1",
                       &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_THAT(out, HasSubstr("valid"));
}

TEST_F(OpenApi, EveryDocumentedOperationIsARouteTheServerAnswers) {
  auto doc = http_get(control_->url() + "/api/v1/openapi.json", {}, control_->ca_file()).json();
  ASSERT_TRUE(doc.is_object());
  int operations = 0;
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    for (const auto& [method, op] : item.as_object()) {
      std::string target(path);
      const bool has_id = target.find("{id}") != std::string::npos;
      if (has_id) {
        target.replace(target.find("{id}"), 4, "00000000-0000-4000-8000-000000000000");
      }
      // A stream that exists (no {id} to miss) never ends: its own tests read it
      // (device_events_test.cpp, integration/device_events_test.cpp).
      if (const auto* ok = op.as_object().at("responses").as_object().if_contains("200");
          !has_id && ok != nullptr && ok->as_object().contains("content") &&
          ok->as_object().at("content").as_object().contains("text/event-stream")) {
        ++operations;
        continue;
      }
      std::string verb(method);
      for (char& c : verb) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
      auto r = control_->call(verb, target, "{}");
      EXPECT_NE(r.status, 405) << verb << " " << path;
      EXPECT_NE(r.status, 401) << verb << " " << path;  // the admin key is enough
      if (r.status == 404) {
        EXPECT_TRUE(has_id) << verb << " " << path << ": " << r.body;
        EXPECT_THAT(r.body, ::testing::Not(HasSubstr("no such route"))) << verb << " " << path;
      }
      ++operations;
    }
  }
  EXPECT_GE(operations, 40);
}

}  // namespace
}  // namespace hecs::test
