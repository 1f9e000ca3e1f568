#include <cstdint>
#include <limits>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "common/clock.h"
#include "proto/proto.h"

namespace hecs::proto {
namespace {

constexpr std::string_view kId = "5f0c6a52-3b1d-4e8f-a7c9-0d1e2f3a4b5c";

// A valid envelope as a JSON object, for tests to spoil one field at a time.
boost::json::object valid_message() {
  boost::json::object message;
  message.emplace("v", 1);
  message.emplace("id", kId);
  message.emplace("type", "status");
  message.emplace("ts", 1'700'000'000'123);
  boost::json::object body;
  body.emplace("state", "online");
  body.emplace("session", 3);
  message.emplace("body", std::move(body));
  return message;
}

Result<Envelope> parse(const boost::json::object& message) {
  return parse_envelope(boost::json::serialize(message));
}

// Asserts that `envelope` was rejected as invalid input with exactly `reason`.
void expect_rejected(const Result<Envelope>& envelope, std::string_view reason) {
  ASSERT_FALSE(envelope);
  EXPECT_EQ(envelope.error().code, Errc::invalid_input);
  EXPECT_EQ(envelope.error().message, reason);
}

TEST(ParseEnvelope, ReadsEveryFieldOfAValidMessage) {
  auto envelope =
      parse_envelope(R"({"v":1,"id":"5f0c6a52-3b1d-4e8f-a7c9-0d1e2f3a4b5c","type":"status",)"
                     R"("ts":1700000000123,"body":{"state":"online","session":3}})");
  ASSERT_TRUE(envelope) << envelope.error().message;
  EXPECT_EQ(envelope->v, 1);
  EXPECT_EQ(envelope->id, kId);
  EXPECT_EQ(envelope->type, "status");
  EXPECT_EQ(envelope->ts, 1'700'000'000'123);
  EXPECT_EQ(boost::json::serialize(envelope->body), R"({"state":"online","session":3})");
}

TEST(Envelope, SurvivesARoundTripThroughSerialize) {
  Envelope original = make_envelope("telemetry", 42, boost::json::object{{"x", 1}});
  auto parsed = parse_envelope(serialize(original));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->v, original.v);
  EXPECT_EQ(parsed->id, original.id);
  EXPECT_EQ(parsed->type, original.type);
  EXPECT_EQ(parsed->ts, original.ts);
  EXPECT_EQ(parsed->body, original.body);
}

TEST(MakeEnvelope, GivesEachMessageAFreshUuid) {
  Envelope first = make_envelope("hello", 1, {});
  Envelope second = make_envelope("hello", 1, {});
  EXPECT_TRUE(is_uuid(first.id)) << first.id;
  EXPECT_NE(first.id, second.id);
  EXPECT_EQ(first.v, kVersion);
}

TEST(ParseEnvelope, RejectsAPayloadLargerThanTheLimitBeforeParsingIt) {
  // Not even JSON: the size check must come first.
  std::string payload(101, 'x');
  expect_rejected(parse_envelope(payload, 100), "payload: 101 bytes, more than the limit of 100");
}

TEST(ParseEnvelope, AcceptsAPayloadExactlyAtTheLimit) {
  std::string payload = boost::json::serialize(valid_message());
  EXPECT_TRUE(parse_envelope(payload, payload.size()));
  EXPECT_FALSE(parse_envelope(payload, payload.size() - 1));
}

TEST(ParseEnvelope, RejectsAPayloadOverTheDefaultLimit) {
  boost::json::object message = valid_message();
  message["body"].get_object()["padding"] = std::string(kDefaultMaxMessageBytes, 'a');
  auto envelope = parse(message);
  ASSERT_FALSE(envelope);
  EXPECT_TRUE(envelope.error().message.starts_with("payload: ")) << envelope.error().message;
}

TEST(ParseEnvelope, RejectsTextThatIsNotJson) {
  for (std::string_view payload : {"", "{", "{\"v\":1,}", "{} trailing", "\xff", "nul"}) {
    auto envelope = parse_envelope(payload);
    ASSERT_FALSE(envelope) << payload;
    EXPECT_TRUE(envelope.error().message.starts_with("payload: not valid json"))
        << envelope.error().message;
  }
}

TEST(ParseEnvelope, RejectsJsonThatIsNotAnObject) {
  for (std::string_view payload : {"[]", "1", "\"text\"", "null", "true"}) {
    expect_rejected(parse_envelope(payload), "payload: expected an object");
  }
}

TEST(ParseEnvelope, RejectsNestingDeeperThanTheParserLimit) {
  std::string payload = std::string(1000, '[') + std::string(1000, ']');
  EXPECT_FALSE(parse_envelope(payload));
}

TEST(ParseEnvelope, RejectsAMessageWithoutAVersion) {
  boost::json::object message = valid_message();
  message.erase("v");
  expect_rejected(parse(message), "v: missing");
}

TEST(ParseEnvelope, RejectsAnUnsupportedVersion) {
  boost::json::object message = valid_message();
  message["v"] = 2;
  expect_rejected(parse(message), "v: unsupported version 2");
  message["v"] = 0;
  expect_rejected(parse(message), "v: unsupported version 0");
}

TEST(ParseEnvelope, RejectsAVersionThatIsNotAnInteger) {
  boost::json::object message = valid_message();
  for (boost::json::value bad :
       {boost::json::value("1"), boost::json::value(1.0), boost::json::value(nullptr)}) {
    message["v"] = bad;
    expect_rejected(parse(message), "v: expected an integer");
  }
}

TEST(ParseEnvelope, ReportsTheVersionBeforeUnknownFields) {
  boost::json::object message = valid_message();
  message["v"] = 2;
  message["sig"] = "new in v2";
  expect_rejected(parse(message), "v: unsupported version 2");
}

TEST(ParseEnvelope, RejectsAnUnknownTopLevelField) {
  boost::json::object message = valid_message();
  message["extra"] = 1;
  expect_rejected(parse(message), "\"extra\": unknown field");
}

TEST(ParseEnvelope, DoesNotEchoControlCharactersOrLongKeysOfAnUnknownField) {
  boost::json::object message = valid_message();
  message[std::string("a\nb\"") + std::string(100, 'k')] = 1;
  auto envelope = parse(message);
  ASSERT_FALSE(envelope);
  EXPECT_EQ(envelope.error().message.find('\n'), std::string::npos);
  EXPECT_LT(envelope.error().message.size(), 100u) << envelope.error().message;
}

TEST(ParseEnvelope, RejectsAMissingId) {
  boost::json::object message = valid_message();
  message.erase("id");
  expect_rejected(parse(message), "id: missing");
}

TEST(ParseEnvelope, RejectsAnIdThatIsNotALowerCaseUuid) {
  boost::json::object message = valid_message();
  for (std::string_view bad :
       {"", "42", "5F0C6A52-3B1D-4E8F-A7C9-0D1E2F3A4B5C", "5f0c6a523b1d4e8fa7c90d1e2f3a4b5c",
        "{5f0c6a52-3b1d-4e8f-a7c9-0d1e2f3a4b5c}"}) {
    message["id"] = bad;
    expect_rejected(parse(message), "id: expected a lower-case uuid");
  }
}

TEST(ParseEnvelope, RejectsAnIdThatIsNotAString) {
  boost::json::object message = valid_message();
  message["id"] = 42;
  expect_rejected(parse(message), "id: expected a string");
}

TEST(ParseEnvelope, RejectsAMissingOrEmptyOrNonStringType) {
  boost::json::object message = valid_message();
  message["type"] = "";
  expect_rejected(parse(message), "type: expected a non-empty string");
  message["type"] = 7;
  expect_rejected(parse(message), "type: expected a string");
  message.erase("type");
  expect_rejected(parse(message), "type: missing");
}

TEST(ParseEnvelope, RejectsAnOverlongType) {
  boost::json::object message = valid_message();
  message["type"] = std::string(2000, 't');
  expect_rejected(parse(message), "type: longer than 1024 bytes");
}

TEST(ParseEnvelope, RejectsATimestampThatIsNotAnInteger) {
  boost::json::object message = valid_message();
  for (boost::json::value bad :
       {boost::json::value(1.5), boost::json::value(1.7e12), boost::json::value("1700000000000"),
        boost::json::value(std::numeric_limits<std::uint64_t>::max())}) {
    message["ts"] = bad;
    expect_rejected(parse(message), "ts: expected an integer");
  }
  message.erase("ts");
  expect_rejected(parse(message), "ts: missing");
}

TEST(ParseEnvelope, AcceptsTheLargestTimestampThatFitsInt64) {
  auto envelope =
      parse_envelope(R"({"v":1,"id":"5f0c6a52-3b1d-4e8f-a7c9-0d1e2f3a4b5c","type":"status",)"
                     R"("ts":9223372036854775807,"body":{}})");
  ASSERT_TRUE(envelope) << envelope.error().message;
  EXPECT_EQ(envelope->ts, std::numeric_limits<std::int64_t>::max());
}

TEST(ParseEnvelope, RejectsATimestampJustAboveInt64) {
  auto envelope =
      parse_envelope(R"({"v":1,"id":"5f0c6a52-3b1d-4e8f-a7c9-0d1e2f3a4b5c","type":"status",)"
                     R"("ts":9223372036854775808,"body":{}})");
  expect_rejected(envelope, "ts: expected an integer");
}

TEST(ParseEnvelope, RejectsABodyThatIsMissingOrNotAnObject) {
  boost::json::object message = valid_message();
  message["body"] = boost::json::array{1, 2};
  expect_rejected(parse(message), "body: expected an object");
  message["body"] = nullptr;
  expect_rejected(parse(message), "body: expected an object");
  message.erase("body");
  expect_rejected(parse(message), "body: missing");
}

// Found by envelope_fuzz: Boost.JSON reads 1e999 as infinity and would write it back as
// `Infinity`, which no JSON parser accepts (corpus/envelope/telemetry_malformed.json).
TEST(ParseEnvelope, RejectsANumberThatOverflowsToInfinityAnywhereInTheBody) {
  auto envelope = parse_envelope(
      R"({"v":1,"id":"5f0c6a52-3b1d-4e8f-a7c9-0d1e2f3a4b5c","type":"telemetry","ts":1,)"
      R"("body":{"cpu_percent":1,"extra":{"list":[0,-1e999]}}})");
  expect_rejected(envelope, "body.extra.list[1]: number out of range");
}

}  // namespace
}  // namespace hecs::proto
