#include "common/mqtt/codec.h"

#include <fmt/format.h>

namespace hecs::mqtt {
namespace {

constexpr std::size_t kMaxString = 65535;  // §1.5.3: a two-byte length

std::uint8_t first_byte(PacketType type, unsigned flags) {
  return static_cast<std::uint8_t>((static_cast<unsigned>(type) << 4) | flags);
}

void append_u8(std::string& out, unsigned value) { out.push_back(static_cast<char>(value)); }

void append_u16(std::string& out, std::uint16_t value) {
  append_u8(out, value >> 8);
  append_u8(out, value & 0xff);
}

// Callers check the size first.
void append_string(std::string& out, std::string_view text) {
  append_u16(out, static_cast<std::uint16_t>(text.size()));
  out.append(text);
}

Result<void> check_string(std::string_view what, std::string_view text) {
  if (text.size() > kMaxString) {
    return fail(Errc::invalid_input,
                fmt::format("{} of {} bytes, at most {}", what, text.size(), kMaxString));
  }
  return {};
}

Result<void> check_qos(int qos, int max) {
  if (qos < 0 || qos > max) {
    return fail(Errc::invalid_input, fmt::format("qos {} out of 0..{}", qos, max));
  }
  return {};
}

std::uint16_t read_u16(std::string_view data) {
  return static_cast<std::uint16_t>((static_cast<unsigned char>(data[0]) << 8) |
                                    static_cast<unsigned char>(data[1]));
}

// §1.5.3: well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF) without U+0000.
bool valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c == 0) {
      return false;
    }
    if (c < 0x80) {
      ++i;
      continue;
    }
    if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= text.size()) {  // a sequence cut short
      return false;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xc0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

tl::unexpected<Error> malformed(std::string message) {
  return fail(Errc::invalid_input, std::move(message));
}

Result<void> expect_length(std::string_view packet, std::size_t got, std::size_t want) {
  if (got != want) {
    return malformed(fmt::format("{}: remaining length {}, expected {}", packet, got, want));
  }
  return {};
}

Result<void> expect_flags(std::string_view packet, unsigned flags, unsigned want) {
  if (flags != want) {
    return malformed(fmt::format("{}: flags {:#x}, expected {:#x}", packet, flags, want));
  }
  return {};
}

Result<Packet> decode_publish(unsigned flags, std::string_view body) {
  Publish p;
  p.dup = (flags & 0x8) != 0;
  p.qos = static_cast<int>((flags >> 1) & 0x3);
  p.retain = (flags & 0x1) != 0;
  if (p.qos == 3) {
    return malformed("publish: qos 3");
  }
  if (p.qos == 2) {
    return malformed("publish: qos 2, never subscribed to");
  }
  if (p.qos == 0 && p.dup) {
    return malformed("publish: dup set on qos 0");  // §3.3.1.1
  }
  if (body.size() < 2) {
    return malformed("publish: truncated topic length");
  }
  std::size_t topic_len = read_u16(body);
  if (body.size() < 2 + topic_len) {
    return malformed(
        fmt::format("publish: topic of {} bytes, {} left", topic_len, body.size() - 2));
  }
  p.topic = body.substr(2, topic_len);
  if (p.topic.empty()) {
    return malformed("publish: empty topic");
  }
  if (p.topic.find_first_of("+#") != std::string_view::npos) {
    return malformed("publish: wildcard in topic");
  }
  if (!valid_utf8(p.topic)) {
    return malformed("publish: topic is not valid utf-8");
  }
  std::size_t at = 2 + topic_len;
  if (p.qos > 0) {
    if (body.size() < at + 2) {
      return malformed("publish: truncated packet id");
    }
    p.packet_id = read_u16(body.substr(at));
    if (p.packet_id == 0) {
      return malformed("publish: packet id 0");
    }
    at += 2;
  }
  p.payload = body.substr(at);
  return p;
}

Result<Packet> decode_body(unsigned type, unsigned flags, std::string_view body) {
  switch (type) {
    case static_cast<unsigned>(PacketType::connack): {
      if (auto r = expect_flags("connack", flags, 0); !r) {
        return tl::unexpected(r.error());
      }
      if (auto r = expect_length("connack", body.size(), 2); !r) {
        return tl::unexpected(r.error());
      }
      auto ack_flags = static_cast<unsigned char>(body[0]);
      if ((ack_flags & 0xfe) != 0) {
        return malformed(fmt::format("connack: reserved acknowledge flags {:#x}", ack_flags));
      }
      return Connack{(ack_flags & 1) != 0, static_cast<std::uint8_t>(body[1])};
    }
    case static_cast<unsigned>(PacketType::publish):
      return decode_publish(flags, body);
    case static_cast<unsigned>(PacketType::puback): {
      if (auto r = expect_flags("puback", flags, 0); !r) {
        return tl::unexpected(r.error());
      }
      if (auto r = expect_length("puback", body.size(), 2); !r) {
        return tl::unexpected(r.error());
      }
      return Puback{read_u16(body)};
    }
    case static_cast<unsigned>(PacketType::suback): {
      if (auto r = expect_flags("suback", flags, 0); !r) {
        return tl::unexpected(r.error());
      }
      if (body.size() < 3) {
        return malformed(fmt::format("suback: remaining length {}, at least 3", body.size()));
      }
      Suback s{read_u16(body), {}};
      for (char c : body.substr(2)) {
        auto code = static_cast<std::uint8_t>(c);
        if (code > 2 && code != 0x80) {
          return malformed(fmt::format("suback: return code {:#x}", code));
        }
        s.return_codes.push_back(code);
      }
      return s;
    }
    case static_cast<unsigned>(PacketType::pingresp): {
      if (auto r = expect_flags("pingresp", flags, 0); !r) {
        return tl::unexpected(r.error());
      }
      if (auto r = expect_length("pingresp", body.size(), 0); !r) {
        return tl::unexpected(r.error());
      }
      return Pingresp{};
    }
    default:
      return malformed(fmt::format("unexpected packet type {}", type));
  }
}

}  // namespace

Result<void> append_remaining_length(std::string& out, std::size_t length) {
  if (length > kMaxRemainingLength) {
    return fail(Errc::invalid_input, fmt::format("remaining length {} over the maximum {}", length,
                                                 kMaxRemainingLength));
  }
  do {
    unsigned digit = length % 128;
    length /= 128;
    append_u8(out, length > 0 ? digit | 0x80 : digit);
  } while (length > 0);
  return {};
}

Result<void> append_connect(std::string& out, const Connect& c) {
  if (auto r = check_string("client id", c.client_id); !r) {
    return r;
  }
  std::size_t length = 10 + 2 + c.client_id.size();
  unsigned flags = c.clean_session ? 0x02 : 0x00;
  if (c.will != nullptr) {
    if (auto r = check_string("will topic", c.will->topic); !r) {
      return r;
    }
    if (auto r = check_string("will payload", c.will->payload); !r) {
      return r;
    }
    if (auto r = check_qos(c.will->qos, 2); !r) {
      return r;
    }
    length += 2 + c.will->topic.size() + 2 + c.will->payload.size();
    flags |= 0x04 | (static_cast<unsigned>(c.will->qos) << 3) | (c.will->retain ? 0x20 : 0);
  }
  append_u8(out, first_byte(PacketType::connect, 0));
  (void)append_remaining_length(out, length);  // at most 5 strings of 64 KiB: always fits
  append_string(out, "MQTT");
  append_u8(out, 4);  // protocol level 3.1.1
  append_u8(out, flags);
  append_u16(out, c.keepalive_s);
  append_string(out, c.client_id);
  if (c.will != nullptr) {
    append_string(out, c.will->topic);
    append_string(out, c.will->payload);
  }
  return {};
}

Result<void> append_publish(std::string& out, std::string_view topic, std::string_view payload,
                            int qos, bool retain, std::uint16_t packet_id) {
  if (auto r = check_string("topic", topic); !r) {
    return r;
  }
  if (auto r = check_qos(qos, 1); !r) {
    return r;
  }
  if (qos > 0 && packet_id == 0) {
    return fail(Errc::invalid_input, "packet id 0 for qos 1");
  }
  std::size_t length = 2 + topic.size() + (qos > 0 ? 2 : 0) + payload.size();
  if (length > kMaxRemainingLength) {
    return fail(Errc::invalid_input, fmt::format("publish of {} bytes over the maximum {}", length,
                                                 kMaxRemainingLength));
  }
  append_u8(
      out, first_byte(PacketType::publish, (static_cast<unsigned>(qos) << 1) | (retain ? 1U : 0U)));
  (void)append_remaining_length(out, length);  // checked above
  append_string(out, topic);
  if (qos > 0) {
    append_u16(out, packet_id);
  }
  out.append(payload);
  return {};
}

void append_puback(std::string& out, std::uint16_t packet_id) {
  append_u8(out, first_byte(PacketType::puback, 0));
  append_u8(out, 2);
  append_u16(out, packet_id);
}

Result<void> append_subscribe(std::string& out, std::uint16_t packet_id, std::string_view filter,
                              int qos) {
  if (auto r = check_string("topic filter", filter); !r) {
    return r;
  }
  if (auto r = check_qos(qos, 2); !r) {
    return r;
  }
  if (packet_id == 0) {
    return fail(Errc::invalid_input, "packet id 0 for subscribe");
  }
  append_u8(out, first_byte(PacketType::subscribe, 0x2));  // §3.8.1: reserved flags 0010
  (void)append_remaining_length(out, 2 + 2 + filter.size() + 1);
  append_u16(out, packet_id);
  append_string(out, filter);
  append_u8(out, static_cast<unsigned>(qos));
  return {};
}

void append_pingreq(std::string& out) {
  append_u8(out, first_byte(PacketType::pingreq, 0));
  append_u8(out, 0);
}

void append_disconnect(std::string& out) {
  append_u8(out, first_byte(PacketType::disconnect, 0));
  append_u8(out, 0);
}

Result<std::optional<RemainingLength>> decode_remaining_length(std::string_view data) {
  std::size_t value = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    if (i >= data.size()) {
      return std::optional<RemainingLength>();
    }
    auto byte = static_cast<unsigned char>(data[i]);
    value |= static_cast<std::size_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      return std::optional<RemainingLength>(RemainingLength{value, i + 1});
    }
  }
  return malformed("remaining length: more than 4 bytes");
}

Result<std::optional<Decoded>> decode_packet(std::string_view data, std::size_t max_packet_bytes) {
  if (data.empty()) {
    return std::optional<Decoded>();
  }
  auto first = static_cast<unsigned char>(data[0]);
  auto length = decode_remaining_length(data.substr(1));
  if (!length) {
    return tl::unexpected(length.error());
  }
  if (!*length) {
    return std::optional<Decoded>();
  }
  std::size_t size = 1 + (*length)->bytes + (*length)->value;
  if (size > max_packet_bytes) {
    return malformed(
        fmt::format("packet of {} bytes over the limit of {}", size, max_packet_bytes));
  }
  if (data.size() < size) {
    return std::optional<Decoded>();
  }
  auto packet =
      decode_body(first >> 4, first & 0x0fU, data.substr(1 + (*length)->bytes, (*length)->value));
  if (!packet) {
    return tl::unexpected(packet.error());
  }
  return std::optional<Decoded>(Decoded{std::move(*packet), size});
}

std::string_view connack_reason(std::uint8_t return_code) {
  switch (return_code) {
    case 0:
      return "accepted";
    case 1:
      return "unacceptable protocol version";
    case 2:
      return "identifier rejected";
    case 3:
      return "server unavailable";
    case 4:
      return "bad user name or password";
    case 5:
      return "not authorized";
    default:
      return "unknown";
  }
}

}  // namespace hecs::mqtt
