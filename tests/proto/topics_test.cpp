#include <ostream>

#include <gtest/gtest.h>

#include "proto/proto.h"

namespace hecs::proto {
namespace {

constexpr std::string_view kDevice = "0b6f3c1e-8d2a-4f5b-9c7e-1a2b3c4d5e6f";

TEST(UpTopic, IsBuiltFromTheDeviceAndKind) {
  EXPECT_EQ(up_topic(kDevice, UpKind::telemetry),
            "hecs/v1/dev/0b6f3c1e-8d2a-4f5b-9c7e-1a2b3c4d5e6f/up/telemetry");
}

TEST(DownCmdTopic, IsBuiltFromTheDevice) {
  EXPECT_EQ(down_cmd_topic(kDevice), "hecs/v1/dev/0b6f3c1e-8d2a-4f5b-9c7e-1a2b3c4d5e6f/down/cmd");
}

TEST(ParseUpTopic, ReadsBackEveryKindItBuilds) {
  for (UpKind kind :
       {UpKind::hello, UpKind::status, UpKind::telemetry, UpKind::result, UpKind::event}) {
    auto topic = parse_up_topic(up_topic(kDevice, kind));
    ASSERT_TRUE(topic) << up_kind_name(kind) << ": " << topic.error().message;
    EXPECT_EQ(topic->device_id, kDevice);
    EXPECT_EQ(topic->kind, kind);
  }
}

struct BadTopic {
  const char* name;
  const char* topic;
};

// Names the row in ctest output instead of dumping its bytes.
void PrintTo(const BadTopic& row, std::ostream* out) { *out << row.name; }

class ParseUpTopicRejects : public testing::TestWithParam<BadTopic> {};

TEST_P(ParseUpTopicRejects, TheTopic) {
  auto topic = parse_up_topic(GetParam().topic);
  ASSERT_FALSE(topic) << GetParam().topic;
  EXPECT_EQ(topic.error().code, Errc::invalid_input);
  EXPECT_TRUE(topic.error().message.starts_with("topic: ")) << topic.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    BadTopics, ParseUpTopicRejects,
    testing::Values(
        BadTopic{"Empty", ""},
        BadTopic{"WrongPrefix", "hecs/v2/dev/0b6f3c1e-8d2a-4f5b-9c7e-1a2b3c4d5e6f/up/hello"},
        BadTopic{"LeadingSlash", "/hecs/v1/dev/0b6f3c1e-8d2a-4f5b-9c7e-1a2b3c4d5e6f/up/hello"},
        BadTopic{"NonUuidDevice", "hecs/v1/dev/my-device/up/hello"},
        BadTopic{"UppercaseUuid", "hecs/v1/dev/0B6F3C1E-8D2A-4F5B-9C7E-1A2B3C4D5E6F/up/hello"},
        BadTopic{"UuidWithoutDashes", "hecs/v1/dev/0b6f3c1e8d2a4f5b9c7e1a2b3c4d5e6f/up/hello"},
        BadTopic{"NoKind", "hecs/v1/dev/0b6f3c1e-8d2a-4f5b-9c7e-1a2b3c4d5e6f/up/"},
        BadTopic{"NoUpLevel", "hecs/v1/dev/0b6f3c1e-8d2a-4f5b-9c7e-1a2b3c4d5e6f"},
        BadTopic{"ExtraLevel", "hecs/v1/dev/0b6f3c1e-8d2a-4f5b-9c7e-1a2b3c4d5e6f/up/hello/x"},
        BadTopic{"TrailingSlash", "hecs/v1/dev/0b6f3c1e-8d2a-4f5b-9c7e-1a2b3c4d5e6f/up/hello/"},
        BadTopic{"ExtraLevelBeforeUp",
                 "hecs/v1/dev/0b6f3c1e-8d2a-4f5b-9c7e-1a2b3c4d5e6f/x/up/hello"},
        BadTopic{"PlusWildcardDevice", "hecs/v1/dev/+/up/hello"},
        BadTopic{"PlusWildcardKind", "hecs/v1/dev/0b6f3c1e-8d2a-4f5b-9c7e-1a2b3c4d5e6f/up/+"},
        BadTopic{"HashWildcard", "hecs/v1/dev/#"},
        BadTopic{"HashWildcardKind", "hecs/v1/dev/0b6f3c1e-8d2a-4f5b-9c7e-1a2b3c4d5e6f/up/#"},
        BadTopic{"SubscriptionFilter", "hecs/v1/dev/+/up/#"},
        BadTopic{"UnknownKind", "hecs/v1/dev/0b6f3c1e-8d2a-4f5b-9c7e-1a2b3c4d5e6f/up/secrets"},
        BadTopic{"UppercaseKind", "hecs/v1/dev/0b6f3c1e-8d2a-4f5b-9c7e-1a2b3c4d5e6f/up/HELLO"},
        BadTopic{"DownTopic", "hecs/v1/dev/0b6f3c1e-8d2a-4f5b-9c7e-1a2b3c4d5e6f/down/cmd"}),
    [](const testing::TestParamInfo<BadTopic>& param) { return std::string(param.param.name); });

TEST(ParseUpTopic, RejectsAKindFollowedByANulByte) {
  using std::string_view_literals::operator""sv;
  auto topic = parse_up_topic("hecs/v1/dev/0b6f3c1e-8d2a-4f5b-9c7e-1a2b3c4d5e6f/up/hello\0"sv);
  EXPECT_FALSE(topic);
}

}  // namespace
}  // namespace hecs::proto
