#include <ostream>
#include <string>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "proto/proto.h"

namespace hecs::proto {
namespace {

Result<Status> through_an_envelope(const Status& status) {
  auto envelope = parse_envelope(serialize(make_envelope("status", 1, to_json(status))));
  if (!envelope) {
    return tl::unexpected(envelope.error());
  }
  return parse_status(envelope->body);
}

TEST(Status, SurvivesARoundTripThroughAnEnvelopeOnline) {
  const Status status{State::online, 12};
  auto parsed = through_an_envelope(status);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, status);
}

TEST(Status, SurvivesARoundTripThroughAnEnvelopeOffline) {
  const Status status{State::offline, 18'446'744'073'709'551'615u};
  auto parsed = through_an_envelope(status);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, status);
}

TEST(Status, IsWrittenWithTheDocumentedFieldNames) {
  EXPECT_EQ(to_json(Status{State::offline, 3}),
            boost::json::parse(R"({"state":"offline","session":3})"));
}

TEST(ParseStatus, IgnoresUnknownFieldsForForwardCompatibility) {
  auto parsed = parse_status(
      boost::json::parse(R"({"state":"online","session":1,"reason":"x"})").get_object());
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, (Status{State::online, 1}));
}

TEST(ParseStatus, RejectsAStateOtherThanOnlineOrOffline) {
  for (const char* body : {R"({"state":"away","session":1})", R"({"state":"Online","session":1})",
                           R"({"state":"","session":1})"}) {
    auto parsed = parse_status(boost::json::parse(body).get_object());
    ASSERT_FALSE(parsed) << body;
    EXPECT_EQ(parsed.error().message, R"(body.state: expected "online" or "offline")");
  }
}

struct Case {
  const char* name;
  const char* body;
  const char* reason;
};

// Names the row in ctest output instead of dumping its bytes.
void PrintTo(const Case& row, std::ostream* out) { *out << row.name; }

class ParseStatusRejects : public testing::TestWithParam<Case> {};

TEST_P(ParseStatusRejects, TheBody) {
  auto parsed = parse_status(boost::json::parse(GetParam().body).get_object());
  ASSERT_FALSE(parsed) << GetParam().body;
  EXPECT_EQ(parsed.error().code, Errc::invalid_input);
  EXPECT_EQ(parsed.error().message, GetParam().reason);
}

INSTANTIATE_TEST_SUITE_P(
    RequiredFields, ParseStatusRejects,
    testing::Values(Case{"MissingState", R"({"session":1})", "body.state: missing"},
                    Case{"StateOfTheWrongType", R"({"state":1,"session":1})",
                         "body.state: expected a string"},
                    Case{"MissingSession", R"({"state":"online"})", "body.session: missing"},
                    Case{"SessionOfTheWrongType", R"({"state":"online","session":"1"})",
                         "body.session: expected an unsigned integer"},
                    Case{"NegativeSession", R"({"state":"online","session":-1})",
                         "body.session: expected an unsigned integer"},
                    Case{"FractionalSession", R"({"state":"online","session":1.5})",
                         "body.session: expected an unsigned integer"}),
    [](const testing::TestParamInfo<Case>& param) { return std::string(param.param.name); });

}  // namespace
}  // namespace hecs::proto
