#include <cstdint>
#include <limits>
#include <ostream>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "proto/proto.h"

namespace hecs::proto {
namespace {

Hello sample_hello() {
  Hello hello;
  hello.session = 7;
  hello.agent_version = "0.1.0";
  hello.hostname = "pi-kitchen";
  hello.os = "Debian GNU/Linux 12 (bookworm)";
  hello.kernel = "6.1.0-rpi7-rpi-v8";
  hello.arch = "aarch64";
  hello.cpu_model = "Cortex-A72";
  hello.cpu_count = 4;
  hello.memory_bytes = 8'000'000'000;
  hello.boot_time = 1'700'000'000'000;
  hello.disks = {{"/", "/dev/mmcblk0p2", "ext4", 31'000'000'000},
                 {"/boot/firmware", "/dev/mmcblk0p1", "vfat", 536'000'000}};
  hello.interfaces = {{"eth0", "dc:a6:32:01:02:03", {"192.168.1.10/24", "fe80::1/64"}},
                      {"wg0", "", {}}};
  hello.capabilities = {"telemetry"};
  return hello;
}

// The body as it would arrive: serialized and parsed again, so numbers come back as the
// parser types them (int64 for small unsigned values), not as to_json made them.
boost::json::object wire_body(const Hello& hello) {
  boost::json::error_code ec;
  boost::json::value value = boost::json::parse(boost::json::serialize(to_json(hello)), ec);
  EXPECT_FALSE(ec);
  return value.get_object();
}

TEST(Hello, SurvivesARoundTripThroughAnEnvelope) {
  const Hello hello = sample_hello();
  auto envelope = parse_envelope(serialize(make_envelope("hello", 1, to_json(hello))));
  ASSERT_TRUE(envelope) << envelope.error().message;
  EXPECT_EQ(envelope->type, "hello");
  auto parsed = parse_hello(envelope->body);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, hello);
}

TEST(Hello, SurvivesARoundTripWithEmptyListsAndTheLargestValues) {
  Hello hello = sample_hello();
  hello.disks.clear();
  hello.interfaces.clear();
  hello.capabilities.clear();
  hello.session = std::numeric_limits<std::uint64_t>::max();
  hello.memory_bytes = std::numeric_limits<std::uint64_t>::max();
  hello.cpu_count = std::numeric_limits<std::uint32_t>::max();
  hello.boot_time = std::numeric_limits<std::int64_t>::min();
  auto parsed = parse_hello(wire_body(hello));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, hello);
}

TEST(Hello, CarriesTheAgentsCommandKeyIdsWhenItHasSome) {
  Hello hello = sample_hello();
  EXPECT_FALSE(wire_body(hello).contains("command_kids"));  // older control planes see no change
  hello.command_kids = {"kA", "kB"};
  auto parsed = parse_hello(wire_body(hello));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->command_kids, (std::vector<std::string>{"kA", "kB"}));
}

TEST(ParseHello, RefusesCommandKeyIdsThatAreNotAListOfStrings) {
  boost::json::object body = wire_body(sample_hello());
  body["command_kids"] = boost::json::array{1, 2};
  auto parsed = parse_hello(body);
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("body.command_kids"), std::string::npos)
      << parsed.error().message;
}

TEST(ParseHello, RefusesANulInTheHostnameOrVersion) {
  for (const char* field : {"hostname", "agent_version"}) {
    boost::json::object body = wire_body(sample_hello());
    body[field] = std::string("pi\0x", 4);
    auto parsed = parse_hello(body);
    ASSERT_FALSE(parsed) << field;
    EXPECT_EQ(parsed.error().message, std::string("body.") + field + ": contains NUL");
  }
  boost::json::object body = wire_body(sample_hello());
  body["os"] = std::string("Debian\0", 7);  // kept in the inventory JSON, where it is escaped
  EXPECT_TRUE(parse_hello(body));
}

TEST(ParseHello, IgnoresUnknownFieldsForForwardCompatibility) {
  boost::json::object body = wire_body(sample_hello());
  body["gpu"] = "VideoCore VI";
  body["disks"].get_array()[0].get_object()["smart"] = boost::json::object{{"ok", true}};
  body["interfaces"].get_array()[0].get_object()["mtu"] = 1500;
  auto parsed = parse_hello(body);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, sample_hello());
}

TEST(ParseHello, RejectsACpuCountAboveUint32) {
  boost::json::object body = wire_body(sample_hello());
  body["cpu_count"] = std::uint64_t{1} << 32;
  auto parsed = parse_hello(body);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message, "body.cpu_count: out of range");
}

TEST(ParseHello, RejectsANumberTooLargeForUint64) {
  auto parsed =
      parse_hello(boost::json::parse(R"({"session":18446744073709551616})").get_object());  // 2^64
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message, "body.session: expected an unsigned integer");
}

TEST(ParseHello, RejectsAStringLongerThanTheLimit) {
  boost::json::object body = wire_body(sample_hello());
  body["hostname"] = std::string(1025, 'h');
  auto parsed = parse_hello(body);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message, "body.hostname: longer than 1024 bytes");
  body["hostname"] = std::string(1024, 'h');
  EXPECT_TRUE(parse_hello(body));
}

TEST(ParseHello, RejectsMoreDisksThanTheLimit) {
  boost::json::object body = wire_body(sample_hello());
  boost::json::array disks;
  for (int i = 0; i < 257; ++i) {
    disks.push_back(body["disks"].get_array()[0]);
  }
  body["disks"] = disks;
  auto parsed = parse_hello(body);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message, "body.disks: more than 256 items");
  disks.pop_back();
  body["disks"] = disks;
  EXPECT_TRUE(parse_hello(body));
}

TEST(ParseHello, RejectsMoreAddressesThanTheLimit) {
  boost::json::object body = wire_body(sample_hello());
  boost::json::array addresses(257, boost::json::value("10.0.0.1/8"));
  body["interfaces"].get_array()[1].get_object()["addresses"] = addresses;
  auto parsed = parse_hello(body);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message, "body.interfaces[1].addresses: more than 256 items");
}

TEST(ParseHello, RejectsADiskThatIsNotAnObject) {
  boost::json::object body = wire_body(sample_hello());
  body["disks"].get_array()[1] = "/dev/sda1";
  auto parsed = parse_hello(body);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message, "body.disks[1]: expected an object");
}

TEST(ParseHello, RejectsAnAddressThatIsNotAString) {
  boost::json::object body = wire_body(sample_hello());
  body["interfaces"].get_array()[0].get_object()["addresses"].get_array()[1] = 10;
  auto parsed = parse_hello(body);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message, "body.interfaces[0].addresses[1]: expected a string");
}

// One row per required field: where it is (a JSON pointer into the body), how the reason names
// it, a value of the wrong type and the reason that value gets.
struct Field {
  const char* pointer;
  const char* path;
  const char* wrong_json;
  const char* wrong_reason;
};

// Names the row in ctest output instead of dumping its bytes.
void PrintTo(const Field& row, std::ostream* out) { *out << row.pointer; }

class HelloField : public testing::TestWithParam<Field> {};

TEST_P(HelloField, IsRejectedWhenMissing) {
  const Field& field = GetParam();
  boost::json::value body = wire_body(sample_hello());
  std::string_view pointer = field.pointer;
  const std::size_t last = pointer.rfind('/');
  boost::json::error_code ec;
  boost::json::value* parent = body.find_pointer(pointer.substr(0, last), ec);
  ASSERT_TRUE(parent != nullptr && parent->is_object()) << field.pointer;
  ASSERT_EQ(parent->get_object().erase(pointer.substr(last + 1)), 1u) << field.pointer;

  auto parsed = parse_hello(body.get_object());
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, Errc::invalid_input);
  EXPECT_EQ(parsed.error().message, std::string(field.path) + ": missing");
}

TEST_P(HelloField, IsRejectedWhenOfTheWrongType) {
  const Field& field = GetParam();
  boost::json::value body = wire_body(sample_hello());
  boost::json::error_code ec;
  boost::json::value* target = body.find_pointer(field.pointer, ec);
  ASSERT_NE(target, nullptr) << field.pointer;
  *target = boost::json::parse(field.wrong_json);

  auto parsed = parse_hello(body.get_object());
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, Errc::invalid_input);
  EXPECT_EQ(parsed.error().message, std::string(field.path) + ": " + field.wrong_reason);
}

// "/disks/1/mount" -> "disks_1_mount", a valid test name.
std::string field_test_name(const testing::TestParamInfo<Field>& info) {
  std::string name(info.param.pointer + 1);
  for (char& c : name) {
    c = c == '/' ? '_' : c;
  }
  return name;
}

constexpr const char* kUnsigned = "expected an unsigned integer";
constexpr const char* kString = "expected a string";

INSTANTIATE_TEST_SUITE_P(
    RequiredFields, HelloField,
    testing::Values(Field{"/session", "body.session", "-1", kUnsigned},
                    Field{"/agent_version", "body.agent_version", "1", kString},
                    Field{"/hostname", "body.hostname", "null", kString},
                    Field{"/os", "body.os", "[]", kString},
                    Field{"/kernel", "body.kernel", "{}", kString},
                    Field{"/arch", "body.arch", "true", kString},
                    Field{"/cpu_model", "body.cpu_model", "2.5", kString},
                    Field{"/cpu_count", "body.cpu_count", "4.0", kUnsigned},
                    Field{"/memory_bytes", "body.memory_bytes", "\"8000000000\"", kUnsigned},
                    Field{"/boot_time", "body.boot_time", "1.7e12", "expected an integer"},
                    Field{"/disks", "body.disks", "{}", "expected an array"},
                    Field{"/disks/1/mount", "body.disks[1].mount", "7", kString},
                    Field{"/disks/1/device", "body.disks[1].device", "null", kString},
                    Field{"/disks/1/fs_type", "body.disks[1].fs_type", "[\"ext4\"]", kString},
                    Field{"/disks/1/total_bytes", "body.disks[1].total_bytes", "-5", kUnsigned},
                    Field{"/interfaces", "body.interfaces", "\"eth0\"", "expected an array"},
                    Field{"/interfaces/0/name", "body.interfaces[0].name", "0", kString},
                    Field{"/interfaces/0/mac", "body.interfaces[0].mac", "false", kString},
                    Field{"/interfaces/0/addresses", "body.interfaces[0].addresses",
                          "\"192.168.1.10/24\"", "expected an array"},
                    Field{"/capabilities", "body.capabilities", "{\"telemetry\":true}",
                          "expected an array"}),
    field_test_name);

}  // namespace
}  // namespace hecs::proto
