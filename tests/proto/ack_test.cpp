#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "common/clock.h"
#include "proto/proto.h"

namespace hecs::proto {
namespace {

boost::json::object object(const char* text) { return boost::json::parse(text).as_object(); }

TEST(Ack, SurvivesARoundTripThroughAnEnvelope) {
  Ack ack{{random_uuid(), random_uuid()}};
  auto envelope = parse_envelope(serialize(make_envelope("ack", 1, to_json(ack))));
  ASSERT_TRUE(envelope) << envelope.error().message;
  auto parsed = parse_ack(envelope->body);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, ack);
}

TEST(ParseAck, RejectsAMissingOrMistypedIdList) {
  struct Case {
    const char* body;
    const char* reason;
  } cases[] = {
      {R"({})", "body.ids: missing"},
      {R"({"ids":"x"})", "body.ids: expected an array"},
      {R"({"ids":[]})", "body.ids: expected 1 to 1000 ids"},
      {R"({"ids":[42]})", "body.ids[0]: expected a UUID"},
      {R"({"ids":["not-a-uuid"]})", "body.ids[0]: expected a UUID"},
  };
  for (const auto& c : cases) {
    auto parsed = parse_ack(object(c.body));
    ASSERT_FALSE(parsed) << c.body;
    EXPECT_EQ(parsed.error().code, Errc::invalid_input);
    EXPECT_EQ(parsed.error().message, c.reason) << c.body;
  }
}

TEST(ParseAck, RefusesMoreThanTheLimitOfIds) {
  Ack ack;
  for (std::size_t i = 0; i <= kMaxAckIds; ++i) {
    ack.ids.push_back(random_uuid());
  }
  EXPECT_FALSE(parse_ack(to_json(ack)));
  ack.ids.pop_back();
  EXPECT_TRUE(parse_ack(to_json(ack)));
}

}  // namespace
}  // namespace hecs::proto
