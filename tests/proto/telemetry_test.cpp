#include <ostream>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "proto/proto.h"

namespace hecs::proto {
namespace {

Telemetry sample_telemetry() {
  Telemetry telemetry;
  telemetry.cpu_percent = 12.3;
  telemetry.load1 = 0.42;
  telemetry.load5 = 0.5;
  telemetry.load15 = 1.0 / 3.0;
  telemetry.memory_total_bytes = 8'000'000'000;
  telemetry.memory_available_bytes = 5'123'456'789;
  telemetry.disks = {{"/", 31'000'000'000, 12'345'678'901}, {"/data", 1'000'000, 0}};
  telemetry.temperature_c = 48.7;
  telemetry.interfaces = {{"eth0", 1, 2, 3, 4, 5, 6}, {"wlan0", 0, 0, 0, 0, 0, 0}};
  telemetry.uptime_s = 86'400;
  return telemetry;
}

Result<Telemetry> through_an_envelope(const Telemetry& telemetry) {
  auto envelope = parse_envelope(serialize(make_envelope("telemetry", 1, to_json(telemetry))));
  if (!envelope) {
    return tl::unexpected(envelope.error());
  }
  return parse_telemetry(envelope->body);
}

boost::json::object wire_body(const Telemetry& telemetry) {
  return boost::json::parse(boost::json::serialize(to_json(telemetry))).get_object();
}

TEST(Telemetry, SurvivesARoundTripThroughAnEnvelope) {
  const Telemetry telemetry = sample_telemetry();
  auto parsed = through_an_envelope(telemetry);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, telemetry);
}

TEST(Telemetry, SurvivesARoundTripWithoutATemperature) {
  Telemetry telemetry = sample_telemetry();
  telemetry.temperature_c.reset();
  auto parsed = through_an_envelope(telemetry);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, telemetry);
  EXPECT_FALSE(to_json(telemetry).contains("temperature_c"));
}

TEST(ParseTelemetry, TakesANullTemperatureAsNoSensor) {
  boost::json::object body = wire_body(sample_telemetry());
  body["temperature_c"] = nullptr;
  auto parsed = parse_telemetry(body);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_FALSE(parsed->temperature_c);
}

TEST(ParseTelemetry, RejectsATemperatureOfTheWrongType) {
  boost::json::object body = wire_body(sample_telemetry());
  body["temperature_c"] = "hot";
  auto parsed = parse_telemetry(body);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message, "body.temperature_c: expected a number");
}

TEST(ParseTelemetry, AcceptsIntegersWhereItExpectsDoubles) {
  boost::json::object body = wire_body(sample_telemetry());
  body["cpu_percent"] = 50;
  body["temperature_c"] = -5;
  auto parsed = parse_telemetry(body);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->cpu_percent, 50.0);
  EXPECT_EQ(parsed->temperature_c, -5.0);
}

TEST(ParseTelemetry, RejectsANumberThatOverflowsToInfinity) {
  boost::json::error_code ec;
  boost::json::value body = boost::json::parse(R"({"cpu_percent":1e999})", ec);
  if (ec) {
    GTEST_SKIP() << "this Boost.JSON rejects the number itself: " << ec.message();
  }
  auto parsed = parse_telemetry(body.get_object());
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message, "body.cpu_percent: expected a finite number");
}

TEST(ParseTelemetry, IgnoresUnknownFieldsForForwardCompatibility) {
  boost::json::object body = wire_body(sample_telemetry());
  body["gpu_percent"] = 3.5;
  body["disks"].get_array()[0].get_object()["inodes_used"] = 10;
  auto parsed = parse_telemetry(body);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, sample_telemetry());
}

TEST(ParseTelemetry, RejectsMoreInterfacesThanTheLimit) {
  boost::json::object body = wire_body(sample_telemetry());
  body["interfaces"] = boost::json::array(257, body["interfaces"].get_array()[0]);
  auto parsed = parse_telemetry(body);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message, "body.interfaces: more than 256 items");
}

TEST(ParseTelemetry, RejectsAnInterfaceThatIsNotAnObject) {
  boost::json::object body = wire_body(sample_telemetry());
  body["interfaces"].get_array()[1] = nullptr;
  auto parsed = parse_telemetry(body);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message, "body.interfaces[1]: expected an object");
}

// One row per required field, as in hello_test.cpp.
struct Field {
  const char* pointer;
  const char* path;
  const char* wrong_json;
  const char* wrong_reason;
};

// Names the row in ctest output instead of dumping its bytes.
void PrintTo(const Field& row, std::ostream* out) { *out << row.pointer; }

class TelemetryField : public testing::TestWithParam<Field> {};

TEST_P(TelemetryField, IsRejectedWhenMissing) {
  const Field& field = GetParam();
  boost::json::value body = wire_body(sample_telemetry());
  std::string_view pointer = field.pointer;
  const std::size_t last = pointer.rfind('/');
  boost::json::error_code ec;
  boost::json::value* parent = body.find_pointer(pointer.substr(0, last), ec);
  ASSERT_TRUE(parent != nullptr && parent->is_object()) << field.pointer;
  ASSERT_EQ(parent->get_object().erase(pointer.substr(last + 1)), 1u) << field.pointer;

  auto parsed = parse_telemetry(body.get_object());
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, Errc::invalid_input);
  EXPECT_EQ(parsed.error().message, std::string(field.path) + ": missing");
}

TEST_P(TelemetryField, IsRejectedWhenOfTheWrongType) {
  const Field& field = GetParam();
  boost::json::value body = wire_body(sample_telemetry());
  boost::json::error_code ec;
  boost::json::value* target = body.find_pointer(field.pointer, ec);
  ASSERT_NE(target, nullptr) << field.pointer;
  *target = boost::json::parse(field.wrong_json);

  auto parsed = parse_telemetry(body.get_object());
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, Errc::invalid_input);
  EXPECT_EQ(parsed.error().message, std::string(field.path) + ": " + field.wrong_reason);
}

std::string field_test_name(const testing::TestParamInfo<Field>& info) {
  std::string name(info.param.pointer + 1);
  for (char& c : name) {
    c = c == '/' ? '_' : c;
  }
  return name;
}

constexpr const char* kUnsigned = "expected an unsigned integer";
constexpr const char* kNumber = "expected a number";

INSTANTIATE_TEST_SUITE_P(
    RequiredFields, TelemetryField,
    testing::Values(
        Field{"/cpu_percent", "body.cpu_percent", "\"12\"", kNumber},
        Field{"/load1", "body.load1", "null", kNumber},
        Field{"/load5", "body.load5", "[]", kNumber},
        Field{"/load15", "body.load15", "true", kNumber},
        Field{"/memory_total_bytes", "body.memory_total_bytes", "8e9", kUnsigned},
        Field{"/memory_available_bytes", "body.memory_available_bytes", "-1", kUnsigned},
        Field{"/disks", "body.disks", "{}", "expected an array"},
        Field{"/disks/1/mount", "body.disks[1].mount", "1", "expected a string"},
        Field{"/disks/1/total_bytes", "body.disks[1].total_bytes", "\"1\"", kUnsigned},
        Field{"/disks/1/used_bytes", "body.disks[1].used_bytes", "0.5", kUnsigned},
        Field{"/interfaces", "body.interfaces", "null", "expected an array"},
        Field{"/interfaces/1/name", "body.interfaces[1].name", "{}", "expected a string"},
        Field{"/interfaces/1/rx_bytes", "body.interfaces[1].rx_bytes", "-1", kUnsigned},
        Field{"/interfaces/1/tx_bytes", "body.interfaces[1].tx_bytes", "1.5", kUnsigned},
        Field{"/interfaces/1/rx_packets", "body.interfaces[1].rx_packets", "null", kUnsigned},
        Field{"/interfaces/1/tx_packets", "body.interfaces[1].tx_packets", "[1]", kUnsigned},
        Field{"/interfaces/1/rx_errors", "body.interfaces[1].rx_errors", "false", kUnsigned},
        Field{"/interfaces/1/tx_errors", "body.interfaces[1].tx_errors", "\"0\"", kUnsigned},
        Field{"/uptime_s", "body.uptime_s", "-86400", kUnsigned}),
    field_test_name);

}  // namespace
}  // namespace hecs::proto
