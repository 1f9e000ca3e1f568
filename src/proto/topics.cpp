#include <array>

#include "common/clock.h"
#include "proto/proto.h"

namespace hecs::proto {
namespace {

constexpr std::string_view kDevicePrefix = "hecs/v1/dev/";
constexpr std::array kUpKinds = {UpKind::hello, UpKind::status, UpKind::telemetry, UpKind::result,
                                 UpKind::event};

}  // namespace

std::string_view up_kind_name(UpKind kind) {
  switch (kind) {
    case UpKind::hello:
      return "hello";
    case UpKind::status:
      return "status";
    case UpKind::telemetry:
      return "telemetry";
    case UpKind::result:
      return "result";
    case UpKind::event:
      return "event";
  }
  return "unknown";
}

std::string up_topic(std::string_view device_id, UpKind kind) {
  std::string topic(kDevicePrefix);
  topic += device_id;
  topic += "/up/";
  topic += up_kind_name(kind);
  return topic;
}

std::string down_cmd_topic(std::string_view device_id) {
  std::string topic(kDevicePrefix);
  topic += device_id;
  topic += "/down/cmd";
  return topic;
}

Result<UpTopic> parse_up_topic(std::string_view topic) {
  // The topic is attacker-controlled text that ends up in logs: the reasons never echo it.
  if (!topic.starts_with(kDevicePrefix)) {
    return fail(Errc::invalid_input, "topic: expected prefix hecs/v1/dev/");
  }
  std::string_view rest = topic.substr(kDevicePrefix.size());
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) {
    return fail(Errc::invalid_input, "topic: expected /up/<kind> after the device id");
  }
  // is_uuid accepts only the canonical lower-case form, so each device has exactly one topic.
  const std::string_view device_id = rest.substr(0, slash);
  if (!is_uuid(device_id)) {
    return fail(Errc::invalid_input, "topic: device id is not a lower-case uuid");
  }
  rest.remove_prefix(slash);
  constexpr std::string_view kUp = "/up/";
  if (!rest.starts_with(kUp)) {
    return fail(Errc::invalid_input, "topic: expected /up/<kind> after the device id");
  }
  rest.remove_prefix(kUp.size());
  for (UpKind kind : kUpKinds) {
    if (rest == up_kind_name(kind)) {
      return UpTopic{std::string(device_id), kind};
    }
  }
  return fail(Errc::invalid_input, "topic: unknown up kind");
}

}  // namespace hecs::proto
