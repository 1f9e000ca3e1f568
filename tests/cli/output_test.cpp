#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "cli/api.h"
#include "cli/device_format.h"
#include "cli/json_view.h"

namespace hecs::cli {
namespace {

namespace json = boost::json;

constexpr std::int64_t kNow = 1795633200000;  // 2026-11-25T19:00:00Z

constexpr const char* kPi01 = R"({
  "id": "0d9f4c2e-5b7a-4c1e-8f3d-2a6b9c8e7f10",
  "tenant_id": "5e0b7c1a-3f2d-4a8e-9b6c-1d2e3f4a5b6c",
  "hostname": "pi-01", "state": "accepted", "tags": ["site=berlin", "rack=2"],
  "online": true, "session": 3,
  "first_seen": "2026-11-23T18:57:30.123Z", "last_seen": "2026-11-25T18:59:48.000Z",
  "inventory": {
    "hostname": "pi-01", "os": "Debian GNU/Linux 12", "kernel": "6.1.0-rpi7", "arch": "aarch64",
    "cpu_model": "Cortex-A72", "cpu_count": 4, "memory_bytes": 4294967296,
    "boot_time": "2026-11-22T15:00:00Z",
    "disks": [{"mount": "/", "device": "/dev/mmcblk0p2", "fs_type": "ext4",
               "total_bytes": 31268536320}],
    "interfaces": [{"name": "eth0", "mac": "dc:a6:32:01:02:03",
                    "addresses": ["192.168.1.10/24", "fe80::1/64"]}],
    "agent_version": "0.1.0", "capabilities": ["tasks", "netmon"]},
  "telemetry": {
    "cpu_percent": 12.5, "load1": 0.1, "load5": 0.2, "load15": 0.3,
    "memory_total_bytes": 4294967296, "memory_available_bytes": 3221225472,
    "disks": [{"mount": "/", "total_bytes": 31268536320, "used_bytes": 12884901888}],
    "temperature_c": 48.3,
    "interfaces": [{"name": "eth0", "rx_bytes": 1288490188, "tx_bytes": 314572800}],
    "uptime_s": 273600},
  "telemetry_at": "2026-11-25T18:59:50.000Z"})";

constexpr const char* kGateway = R"({
  "id": "7a1e2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b",
  "tenant_id": "5e0b7c1a-3f2d-4a8e-9b6c-1d2e3f4a5b6c",
  "hostname": "gateway-berlin", "state": "pending", "tags": [], "online": false, "session": 1,
  "first_seen": "2026-11-20T08:00:00.000Z", "last_seen": "2026-11-25T13:00:00.000Z",
  "inventory": null, "telemetry": null, "telemetry_at": null})";

json::array items(std::initializer_list<const char*> devices) {
  json::array out;
  for (const char* device : devices) {
    out.push_back(json::parse(device));
  }
  return out;
}

TEST(DeviceTable, AlignsColumnsForASampleDeviceList) {
  EXPECT_EQ(format_device_table(items({kPi01, kGateway}), kNow),
            "ID                                     HOSTNAME         STATE      ONLINE   LAST SEEN"
            "   OS                    CPU%   MEM%\n"
            "0d9f4c2e-5b7a-4c1e-8f3d-2a6b9c8e7f10   pi-01            accepted   yes      12s ago  "
            "   Debian GNU/Linux 12   12.5   25.0\n"
            "7a1e2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b   gateway-berlin   pending    no       6h ago   "
            "   -                     -      -\n");
}

TEST(DeviceTable, EscapesControlCharactersInAHostileHostname) {
  auto devices = items({kGateway});
  devices[0].as_object()["hostname"] = "evil\x1b]0;pwned\x07\n";
  std::string table = format_device_table(devices, kNow);
  EXPECT_NE(table.find("evil\\x1b]0;pwned\\x07\\n"), std::string::npos) << table;
  EXPECT_EQ(table.find('\x1b'), std::string::npos);
}

TEST(DeviceTable, ShowsDashesForFieldsOfTheWrongType) {
  auto devices = items({R"({"id": 7, "hostname": null, "online": "yes", "last_seen": "soon"})"});
  EXPECT_EQ(format_device_table(devices, kNow),
            "ID   HOSTNAME   STATE   ONLINE   LAST SEEN   OS   CPU%   MEM%\n"
            "-    -          -       -        -           -    -      -\n");
}

TEST(DeviceDetails, ShowInventoryDisksInterfacesAndTelemetry) {
  EXPECT_EQ(format_device_details(json::parse(kPi01), kNow),
            "ID:             0d9f4c2e-5b7a-4c1e-8f3d-2a6b9c8e7f10\n"
            "Hostname:       pi-01\n"
            "Tenant:         5e0b7c1a-3f2d-4a8e-9b6c-1d2e3f4a5b6c\n"
            "State:          accepted\n"
            "Tags:           site=berlin, rack=2\n"
            "Online:         yes (session 3)\n"
            "First seen:     2026-11-23T18:57:30.123Z (2d ago)\n"
            "Last seen:      2026-11-25T18:59:48.000Z (12s ago)\n"
            "OS:             Debian GNU/Linux 12\n"
            "Kernel:         6.1.0-rpi7\n"
            "Arch:           aarch64\n"
            "CPU:            Cortex-A72 (4 cores)\n"
            "Memory:         4.0 GiB\n"
            "Booted:         2026-11-22T15:00:00Z (3d ago)\n"
            "Agent version:  0.1.0\n"
            "Capabilities:   tasks, netmon\n"
            "Disks:\n"
            "  /   /dev/mmcblk0p2   ext4   29.1 GiB\n"
            "Interfaces:\n"
            "  eth0   dc:a6:32:01:02:03   192.168.1.10/24, fe80::1/64\n"
            "Telemetry:      2026-11-25T18:59:50.000Z (10s ago)\n"
            "  CPU:          12.5% (load 0.10 0.20 0.30)\n"
            "  Memory:       1.0 GiB of 4.0 GiB used (25.0%)\n"
            "  Temperature:  48.3 °C\n"
            "  Uptime:       3d 4h\n"
            "  Disks:\n"
            "    /   12.0 GiB of 29.1 GiB used (41.2%)\n"
            "  Network:\n"
            "    eth0   rx 1.2 GiB   tx 300.0 MiB\n");
}

TEST(DeviceDetails, SayWhenNoInventoryOrTelemetryWasReported) {
  std::string text = format_device_details(json::parse(kGateway), kNow);
  EXPECT_NE(text.find("Online:         no\n"), std::string::npos) << text;
  EXPECT_NE(text.find("State:          pending\nTags:           -\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Inventory:      none reported yet\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Telemetry:      none reported yet\n"), std::string::npos) << text;
}

TEST(DeviceDetails, LeaveOutTemperatureWhenTheDeviceHasNoSensor) {
  auto device = json::parse(kPi01);
  device.as_object()["telemetry"].as_object().erase("temperature_c");
  EXPECT_EQ(format_device_details(device, kNow).find("Temperature"), std::string::npos);
}

TEST(YamlOutput, ConvertsJsonKeepingKeyOrderAndTypes) {
  auto document = json::parse(R"({"hostname": "pi-01", "online": true, "session": 3,
      "load": 0.5, "version": "1.10", "flag": "yes", "seen": "2026-11-25T18:57:30.123Z",
      "inventory": null, "tags": [], "disks": [{"mount": "/", "total_bytes": 100}]})");
  EXPECT_EQ(to_yaml(document),
            "hostname: pi-01\n"
            "online: true\n"
            "session: 3\n"
            "load: 0.5\n"
            "version: \"1.10\"\n"
            "flag: \"yes\"\n"
            "seen: \"2026-11-25T18:57:30.123Z\"\n"
            "inventory: null\n"
            "tags: []\n"
            "disks:\n"
            "  - mount: /\n"
            "    total_bytes: 100");
}

TEST(YamlOutput, ReadsBackAsTheSameStrings) {
  auto document = json::parse(R"({"a": "true", "b": "007", "c": "~", "d": "- x", "e": "k: v"})");
  YAML::Node node = YAML::Load(to_yaml(document));
  for (const auto& [key, value] : document.as_object()) {
    EXPECT_EQ(node[std::string(key)].as<std::string>(), value.as_string().c_str()) << key;
  }
}

TEST(YamlOutput, EscapesControlCharactersFromTheServer) {
  auto document = json::parse(R"({"hostname": "evil\u001b[2J\u0007"})");
  std::string yaml = to_yaml(document);
  EXPECT_EQ(yaml.find('\x1b'), std::string::npos) << yaml;
  EXPECT_EQ(YAML::Load(yaml)["hostname"].as<std::string>(), "evil\x1b[2J\x07");
}

TEST(JsonOutput, IndentsAndEscapesControlCharactersYetStaysTheSameJson) {
  auto document =
      json::parse(R"({"hostname": "evil\u001b\u009b\u202e", "n": [1, 2.5, 3.0, null]})");
  std::string text = to_pretty_json(document);
  EXPECT_EQ(text,
            "{\n"
            "  \"hostname\": \"evil\\u001b\\u009b\\u202e\",\n"
            "  \"n\": [\n"
            "    1,\n"
            "    2.5,\n"
            "    3.0,\n"
            "    null\n"
            "  ]\n"
            "}");
  EXPECT_EQ(json::parse(text), document);
}

TEST(ProblemDetails, BecomeOneLineWithTitleDetailAndStatus) {
  EXPECT_EQ(describe_http_error(404, R"({"type": "about:blank", "title": "Not Found",
      "status": 404, "detail": "no device 42", "code": "not_found"})"),
            "Not Found: no device 42 (HTTP 404)");
}

TEST(ProblemDetails, FallBackToTheReasonWhenTheBodyIsNotAProblem) {
  EXPECT_EQ(describe_http_error(502, "<html>bad gateway</html>"), "Bad Gateway (HTTP 502)");
  EXPECT_EQ(describe_http_error(401, R"({"title": 7})"), "Unauthorized (HTTP 401)");
}

TEST(ProblemDetails, EscapeAndClipHostileText) {
  std::string line = describe_http_error(
      400, R"({"title": "Bad\nRequest", "detail": ")" + std::string(1000, 'x') + R"("})");
  EXPECT_EQ(line.rfind("Bad\\nRequest: xxx", 0), 0u) << line;
  EXPECT_LT(line.size(), 400u);
}

TEST(DeviceQuery, PercentEncodesEveryValue) {
  EXPECT_EQ(devices_target({.online = false, .text = "pi 01&x=y", .limit = 5, .cursor = "a+b/c="}),
            "/api/v1/devices?limit=5&cursor=a%2Bb%2Fc%3D&online=false&q=pi%2001%26x%3Dy");
  EXPECT_EQ(devices_target({}), "/api/v1/devices");
}

}  // namespace
}  // namespace hecs::cli
