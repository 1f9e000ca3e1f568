#include "agent/tasks/utf8.h"

namespace hecs::agent::tasks {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view kNulSymbol = "\xE2\x90\x80";    // U+2400 SYMBOL FOR NULL

// Length of the sequence a lead byte starts, 0 when it cannot start one.
std::size_t sequence_length(unsigned char lead) {
  if (lead < 0x80) {
    return 1;
  }
  if (lead >= 0xC2 && lead <= 0xDF) {
    return 2;
  }
  if (lead >= 0xE0 && lead <= 0xEF) {
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    return 4;
  }
  return 0;
}

// Whether byte `i` (1-based within the sequence) may follow `lead` (RFC 3629 table: no
// overlong forms, no surrogates, nothing above U+10FFFF).
bool valid_continuation(unsigned char lead, std::size_t i, unsigned char byte) {
  if ((byte & 0xC0) != 0x80) {
    return false;
  }
  if (i == 1) {
    if (lead == 0xE0) {
      return byte >= 0xA0;
    }
    if (lead == 0xED) {
      return byte <= 0x9F;
    }
    if (lead == 0xF0) {
      return byte >= 0x90;
    }
    if (lead == 0xF4) {
      return byte <= 0x8F;
    }
  }
  return true;
}

}  // namespace

std::string take_utf8(std::string& carry, std::string_view in, bool final) {
  std::string text = std::move(carry);
  carry.clear();
  text.append(in);
  std::string out;
  out.reserve(text.size());
  std::size_t at = 0;
  while (at < text.size()) {
    const auto lead = static_cast<unsigned char>(text[at]);
    if (lead == 0) {
      out += kNulSymbol;
      ++at;
      continue;
    }
    const std::size_t length = sequence_length(lead);
    if (length == 0) {
      out += kReplacement;
      ++at;
      continue;
    }
    std::size_t i = 1;
    while (i < length && at + i < text.size() &&
           valid_continuation(lead, i, static_cast<unsigned char>(text[at + i]))) {
      ++i;
    }
    if (i == length) {
      out.append(text, at, length);
      at += length;
    } else if (at + i == text.size() && !final) {
      carry = text.substr(at);  // may complete with the next read
      break;
    } else {
      out += kReplacement;
      at += i;
    }
  }
  return out;
}

std::size_t utf8_prefix(std::string_view text, std::size_t max) {
  if (text.size() <= max) {
    return text.size();
  }
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;
  }
  return end;
}

}  // namespace hecs::agent::tasks
