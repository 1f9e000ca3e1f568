// Fuzz target for the up-message parsers (CONVENTIONS §9; S34/S35): whatever bytes a device
// sends, parse_up_topic, parse_envelope and the body parser named by `type` return a Result and
// never crash, and what they accept survives a re-encode unchanged.
//
// Built twice by CMakeLists.txt: by clang with libFuzzer (envelope_fuzz) and by g++ with
// replay_main.cpp (fuzz_replay_envelope, which runs the stored corpus in every unit test run).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>

#include "proto/proto.h"

namespace {

// A broken invariant, not an input problem: make libFuzzer keep the input and stop.
[[noreturn]] void invariant_broken() { std::abort(); }

// What parses must parse again, equal, after to_json: the path every sender relies on.
template <class Parse>
void check_body(const boost::json::object& body, Parse parse) {
  auto parsed = parse(body);
  if (!parsed) {
    return;
  }
  auto again = parse(hecs::proto::to_json(*parsed));
  if (!again || !(*again == *parsed)) {
    invariant_broken();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  if (auto topic = hecs::proto::parse_up_topic(input); topic) {
    // An accepted topic is exactly the one up_topic builds from its parts.
    if (hecs::proto::up_topic(topic->device_id, topic->kind) != input) {
      invariant_broken();
    }
  }

  auto envelope = hecs::proto::parse_envelope(input);
  if (!envelope) {
    return 0;
  }
  // Our own serialization of an accepted envelope must be accepted too (no size limit here:
  // re-encoding may change the length, e.g. "\u00e9" becomes two bytes).
  auto reparsed = hecs::proto::parse_envelope(hecs::proto::serialize(*envelope),
                                              std::numeric_limits<std::size_t>::max());
  if (!reparsed || reparsed->id != envelope->id || reparsed->type != envelope->type ||
      reparsed->ts != envelope->ts) {
    invariant_broken();
  }

  if (envelope->type == "hello") {
    check_body(envelope->body, hecs::proto::parse_hello);
  } else if (envelope->type == "status") {
    check_body(envelope->body, hecs::proto::parse_status);
  } else if (envelope->type == "telemetry") {
    check_body(envelope->body, hecs::proto::parse_telemetry);
  } else if (envelope->type == "result" && envelope->body.contains("artifact")) {
    // Artifact pieces (collect-logs) carry base64: what is accepted re-encodes to the same bytes.
    check_body(envelope->body, hecs::proto::parse_task_result);
  }
  return 0;
}
