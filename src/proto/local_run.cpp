// Local schedule runs (proto.h, "tasks"; docs/tasks.md "Local schedules"): the deterministic
// task id of a fire, and the `local` object that tells the control plane about a run it never
// sent.
#include <algorithm>

#include <fmt/format.h>

#include "common/crypto/crypto.h"
#include "proto/json_read.h"
#include "proto/proto.h"

namespace hecs::proto {
namespace {

// Fixed namespace of the name-based ids (RFC 9562 §5.8, as its SHA-256 example in §B.2):
// changing it would give every fire a new id.
constexpr std::string_view kLocalNamespace = "hecs/v1/local-schedule";

tl::unexpected<Error> invalid(std::string message) {
  return fail(Errc::invalid_input, std::move(message));
}

// The longest prefix of `text` of at most `max` bytes that does not cut a UTF-8 sequence.
std::string_view utf8_cut(std::string_view text, std::size_t max) {
  if (text.size() <= max) {
    return text;
  }
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) {
    --n;
  }
  return text.substr(0, n);
}

}  // namespace

bool valid_schedule_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxScheduleNameBytes) {
    return false;
  }
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  return alnum(name[0]) && std::all_of(name.begin(), name.end(), [&](char c) {
           return alnum(c) || c == '.' || c == '_' || c == '-';
         });
}

std::string local_task_id(std::string_view device_id, std::string_view schedule,
                          std::int64_t fire_at_ms) {
  // NUL separators: no name can contain one, so distinct triples never hash the same input.
  std::string input(kLocalNamespace);
  input += '\0';
  input += device_id;
  input += '\0';
  input += schedule;
  input += '\0';
  input += std::to_string(fire_at_ms);
  auto digest = crypto::sha256(input);
  digest.resize(16);
  digest[6] = static_cast<char>((static_cast<unsigned char>(digest[6]) & 0x0F) | 0x80);  // v8
  digest[8] = static_cast<char>((static_cast<unsigned char>(digest[8]) & 0x3F) | 0x80);  // RFC
  const auto hex = crypto::hex_encode(digest);
  return fmt::format("{}-{}-{}-{}-{}", hex.substr(0, 8), hex.substr(8, 4), hex.substr(12, 4),
                     hex.substr(16, 4), hex.substr(20, 12));
}

std::string summarize(const TaskSpec& spec) {
  std::string text;
  switch (spec.kind) {
    case TaskKind::argv:
      text = "argv:";
      for (const auto& arg : spec.argv) {
        text += ' ';
        text += arg;
        if (text.size() > kMaxLocalCommandBytes) {
          break;
        }
      }
      break;
    case TaskKind::script:
      text = fmt::format("script: {} ({} bytes)", spec.interpreter, spec.script.size());
      break;
    case TaskKind::builtin:
      text = "builtin: " + spec.builtin;
      break;
  }
  return std::string(utf8_cut(text, kMaxLocalCommandBytes));
}

Result<LocalRun> parse_local_run(const boost::json::object& local) {
  LocalRun run;
  detail::ObjectReader r(local, "body.local");
  r.read("schedule", run.schedule);
  r.read("fire_at", run.fire_at);
  r.read("cron", run.cron);
  r.read("timezone", run.timezone);
  r.read("command", run.command);
  if (!r.ok()) {
    return tl::unexpected(r.result().error());
  }
  if (!valid_schedule_name(run.schedule)) {
    return invalid(fmt::format("body.local.schedule: expected 1..{} of [A-Za-z0-9._-]",
                               kMaxScheduleNameBytes));
  }
  if (run.fire_at <= 0) {
    return invalid("body.local.fire_at: must be positive");
  }
  if (run.cron.size() > 256 || run.timezone.size() > 64 ||
      run.command.size() > kMaxLocalCommandBytes) {
    return invalid("body.local: cron, timezone or command too long");
  }
  return run;
}

boost::json::object to_json(const LocalRun& run) {
  return boost::json::object{{"schedule", run.schedule},
                             {"fire_at", run.fire_at},
                             {"cron", run.cron},
                             {"timezone", run.timezone},
                             {"command", run.command}};
}

}  // namespace hecs::proto
