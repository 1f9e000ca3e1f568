#include <charconv>
#include <optional>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "agent/uplink/uplink.h"
#include "common/files.h"
#include "common/log.h"

namespace hecs::agent::uplink {
namespace {

constexpr std::string_view kKeysFile = "command-keys.json";
constexpr std::string_view kSeqFile = "command-seq";
constexpr std::string_view kKeysType = "keys";
constexpr std::string_view kAckType = "ack";
// Far above 8 keys in JSON: a bigger file is not ours.
constexpr std::size_t kMaxStateFileBytes = std::size_t{16} * 1024;
constexpr std::size_t kRefusalCount = static_cast<std::size_t>(proto::Refusal::misaddressed) + 1;

// The file's content, or nullopt when it does not exist.
Result<std::optional<std::string>> read_state_file(const std::filesystem::path& path) {
  auto text = files::read_small(path, kMaxStateFileBytes);
  if (text) {
    return std::optional<std::string>(std::move(*text));
  }
  switch (text.error().code) {
    case Errc::not_found:
      return std::optional<std::string>();
    case Errc::invalid_input:  // larger than any file we write
      return fail(Errc::corrupt,
                  fmt::format("{}: larger than {} bytes", path.string(), kMaxStateFileBytes));
    default:
      return tl::unexpected(std::move(text.error()));
  }
}

// "<decimal>\n", exactly as store_seq writes it; anything else is damage.
Result<std::uint64_t> parse_seq(const std::filesystem::path& path, std::string_view text) {
  if (text.size() < 2 || text.back() != '\n') {
    return fail(Errc::corrupt, fmt::format("{}: not a sequence number", path.string()));
  }
  text.remove_suffix(1);
  std::uint64_t value = 0;
  const auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (err != std::errc() || end != text.data() + text.size()) {
    return fail(Errc::corrupt, fmt::format("{}: not a sequence number", path.string()));
  }
  return value;
}

Result<proto::Keys> parse_keys_file(const std::filesystem::path& path, std::string_view text) {
  boost::system::error_code ec;
  const boost::json::value value = boost::json::parse(text, ec);
  if (ec || !value.is_object()) {
    return fail(Errc::corrupt, fmt::format("{}: not a json object", path.string()));
  }
  auto keys = proto::parse_keys(value.get_object());
  if (!keys) {
    return fail(Errc::corrupt, fmt::format("{}: {}", path.string(), keys.error().message));
  }
  return keys;
}

const log::Logger& logger() {
  static const log::Logger instance = log::get("agent.uplink");
  return instance;
}

Result<void> store_seq(const std::filesystem::path& path, std::uint64_t seq, bool durable) {
  return files::write_atomic(path, fmt::format("{}\n", seq), 0600, durable);
}

}  // namespace

Result<std::unique_ptr<CommandGate>> CommandGate::open(const std::filesystem::path& state_dir,
                                                       std::string device_id,
                                                       std::size_t max_bytes) {
  CommandGate gate;
  gate.keys_path_ = state_dir / kKeysFile;
  gate.seq_path_ = state_dir / kSeqFile;
  gate.device_id_ = std::move(device_id);
  gate.max_bytes_ = max_bytes;
  gate.refused_.assign(kRefusalCount, 0);

  auto seq_text = read_state_file(gate.seq_path_);
  if (!seq_text) {
    return tl::unexpected(std::move(seq_text.error()));
  }
  auto keys_text = read_state_file(gate.keys_path_);
  if (!keys_text) {
    return tl::unexpected(std::move(keys_text.error()));
  }
  if (*seq_text) {
    auto seq = parse_seq(gate.seq_path_, **seq_text);
    if (!seq) {
      return tl::unexpected(std::move(seq.error()));
    }
    gate.last_seq_ = *seq;
  }
  if (*keys_text) {
    if (!*seq_text) {
      return fail(Errc::corrupt, fmt::format("{}: missing next to {}", gate.seq_path_.string(),
                                             gate.keys_path_.string()));
    }
    auto keys = parse_keys_file(gate.keys_path_, **keys_text);
    if (!keys) {
      return tl::unexpected(std::move(keys.error()));
    }
    gate.keys_ = std::move(keys->keys);
  }
  return std::make_unique<CommandGate>(std::move(gate));
}

Result<void> CommandGate::set_keys(const proto::Keys& keys) {
  // The same rules as a key set that arrives signed: through parse_keys.
  auto checked = proto::parse_keys(proto::to_json(keys));
  if (!checked) {
    return fail(std::move(checked.error()), "set keys");
  }
  std::error_code ec;
  if (!std::filesystem::exists(seq_path_, ec)) {
    // The seq file goes first: keys without it read as damage at the next open (see open()).
    if (auto stored = store_seq(seq_path_, last_seq_, true); !stored) {
      return stored;
    }
  }
  return store_keys(*checked);
}

Result<void> CommandGate::store_keys(const proto::Keys& keys) {
  if (auto stored =
          files::write_atomic(keys_path_, boost::json::serialize(proto::to_json(keys)) + "\n");
      !stored) {
    return stored;
  }
  keys_ = keys.keys;
  return {};
}

tl::expected<proto::Command, proto::Refused> CommandGate::accept(std::string_view payload,
                                                                 std::int64_t now_s) {
  auto command = proto::verify_command(payload, keys_, {device_id_, now_s, last_seq_, max_bytes_});
  if (!command) {
    refuse(command.error());
    return command;
  }

  // Keys are rotated here rather than by the caller, so no caller can accept a "keys" command
  // and forget to apply it. They are stored before the seq: a crash in between leaves the
  // command acceptable again, and its redelivery sets the same keys; the other order could
  // lose the new keys for good behind a seq that refuses their redelivery.
  if (command->type == kKeysType) {
    auto keys = proto::parse_keys(command->body);
    if (!keys) {
      const proto::Refused refused{proto::Refusal::malformed, keys.error().message};
      refuse(refused);
      return tl::unexpected(refused);
    }
    if (auto stored = store_keys(*keys); !stored) {
      // Used for this run anyway: the command is authentic, and refusing it would not make
      // the disk work. The next keys command or restart tells which copy holds.
      logger()->error("command.store_failed file={} error={}", log::quoted(keys_path_.string()),
                      log::quoted(stored.error().message));
      keys_ = keys->keys;
    }
    logger()->info("command.keys_replaced seq={} keys={}", command->seq, keys_.size());
  }

  // The seq is raised in memory whatever the disk says, so this process never hands on the
  // same command twice. If it cannot be stored (a full or failing SD card), the command still
  // goes through: refusing would also refuse the acks that let the outbox shrink, and a
  // replay needs a restart while the disk is still failing, within the command's exp.
  //
  // Acks are not fsynced: they come with every telemetry batch, and a journal commit per ack
  // would wear an SD card for nothing, since a replayed ack only removes outbox entries that
  // are already gone. Without fsync, a power cut may bring back an older seq; ext4 (with its
  // default auto_da_alloc) flushes a file renamed over another, so it is old or new, not
  // empty, and a torn file elsewhere stops open() with Errc::corrupt rather than passing.
  last_seq_ = command->seq;
  const bool durable = command->type != kAckType;
  if (auto stored = store_seq(seq_path_, last_seq_, durable); !stored) {
    logger()->error("command.store_failed file={} error={}", log::quoted(seq_path_.string()),
                    log::quoted(stored.error().message));
  }
  logger()->debug("command.accepted type={} seq={}", command->type, command->seq);
  return command;
}

std::uint64_t CommandGate::refused(proto::Refusal reason) const {
  return refused_[static_cast<std::size_t>(reason)];
}

void CommandGate::refuse(const proto::Refused& refused) {
  const auto total = ++refused_[static_cast<std::size_t>(refused.reason)];
  logger()->warn("command.refused reason={} total={} detail={}",
                 proto::refusal_name(refused.reason), total, log::quoted(refused.message));
}

Result<proto::Keys> read_command_keys_file(const std::filesystem::path& path) {
  auto text = files::read_small(path, kMaxStateFileBytes);
  if (!text) {
    if (text.error().code == Errc::not_found) {
      return fail(Errc::not_found, fmt::format("{}: no such file", path.string()));
    }
    return fail(Errc::invalid_input, text.error().message);
  }
  auto invalid = [&](std::string_view what) {
    return fail(Errc::invalid_input, fmt::format("{}: {}", path.string(), what));
  };
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(*text, ec);
  const auto* list = !ec && doc.is_object() ? doc.as_object().if_contains("keys") : nullptr;
  if (list == nullptr || !list->is_array()) {
    return invalid("expected a json object with a \"keys\" array");
  }
  // The control plane's file carries state and times per key: only kid and public_key matter
  // here, and parse_keys checks them exactly as it checks a signed "keys" command.
  boost::json::array keys;
  for (const auto& item : list->as_array()) {
    const auto* entry = item.if_object();
    if (entry == nullptr || !entry->contains("kid") || !entry->contains("public_key")) {
      return invalid("each key needs kid and public_key");
    }
    keys.push_back(
        boost::json::object{{"kid", entry->at("kid")}, {"public_key", entry->at("public_key")}});
  }
  auto parsed = proto::parse_keys(boost::json::object{{"keys", std::move(keys)}});
  if (!parsed) {
    return invalid(parsed.error().message);
  }
  return parsed;
}

}  // namespace hecs::agent::uplink
