#include "cli/json_view.h"

#include <array>
#include <cctype>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "cli/text.h"

namespace hecs::cli {

namespace json = boost::json;

namespace {

const json::value* find(const json::value& parent, std::string_view key) {
  const json::object* object = parent.if_object();
  return object == nullptr ? nullptr : object->if_contains(key);
}

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (std::size_t i = 0; i < text.size();) {
    char c = text[i];
    std::uint32_t cp = static_cast<unsigned char>(c);
    std::size_t len = cp < 0x80 ? 1 : decode_utf8(text, i, cp);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (len == 0) {  // not UTF-8: Boost.JSON never builds such a string; keep it visible
      out += fmt::format("\\u{:04x}", 0xFFFD);
      len = 1;
    } else if (is_unsafe_code_point(cp)) {
      out += fmt::format("\\u{:04x}", cp);
    } else {
      out.append(text.substr(i, len));
    }
    i += len;
  }
  out += '"';
}

void append_pretty(std::string& out, const json::value& value, std::size_t indent) {
  std::string pad(indent + 2, ' ');
  if (const json::object* object = value.if_object()) {
    if (object->empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    bool first = true;
    for (const auto& member : *object) {
      out += first ? "" : ",\n";
      first = false;
      out += pad;
      append_json_string(out, member.key());
      out += ": ";
      append_pretty(out, member.value(), indent + 2);
    }
    out += "\n" + std::string(indent, ' ') + "}";
  } else if (const json::array* array = value.if_array()) {
    if (array->empty()) {
      out += "[]";
      return;
    }
    out += "[\n";
    for (std::size_t i = 0; i < array->size(); ++i) {
      out += i == 0 ? pad : ",\n" + pad;
      append_pretty(out, (*array)[i], indent + 2);
    }
    out += "\n" + std::string(indent, ' ') + "]";
  } else if (const json::string* text = value.if_string()) {
    append_json_string(out, *text);
  } else if (const std::int64_t* i64 = value.if_int64()) {
    out += fmt::format("{}", *i64);
  } else if (const std::uint64_t* u64 = value.if_uint64()) {
    out += fmt::format("{}", *u64);
  } else if (const double* number = value.if_double()) {
    out += shortest_double(*number);
  } else if (const bool* flag = value.if_bool()) {
    out += *flag ? "true" : "false";
  } else {
    out += "null";
  }
}

// A plain scalar that YAML 1.1 or 1.2 would resolve to a bool, null, number or timestamp.
bool reads_as_non_string(std::string_view text) {
  static constexpr std::array<std::string_view, 12> kWords{
      "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", ".inf", ".nan"};
  if (text.empty() || std::isdigit(static_cast<unsigned char>(text[0])) != 0 ||
      std::string_view("+-.").find(text[0]) != std::string_view::npos) {
    return true;
  }
  std::string lower;
  for (char c : text) {
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  for (std::string_view word : kWords) {
    if (lower == word) {
      return true;
    }
  }
  return false;
}

void emit_string(YAML::Emitter& emitter, std::string_view text) {
  if (reads_as_non_string(text)) {
    emitter << YAML::DoubleQuoted;
  }
  emitter << std::string(text);
}

void emit_yaml(YAML::Emitter& emitter, const json::value& value) {
  if (const json::object* object = value.if_object()) {
    emitter << (object->empty() ? YAML::Flow : YAML::Block) << YAML::BeginMap;
    for (const auto& member : *object) {
      emitter << YAML::Key;
      emit_string(emitter, member.key());
      emitter << YAML::Value;
      emit_yaml(emitter, member.value());
    }
    emitter << YAML::EndMap;
  } else if (const json::array* array = value.if_array()) {
    emitter << (array->empty() ? YAML::Flow : YAML::Block) << YAML::BeginSeq;
    for (const json::value& item : *array) {
      emit_yaml(emitter, item);
    }
    emitter << YAML::EndSeq;
  } else if (const json::string* text = value.if_string()) {
    emit_string(emitter, *text);
  } else if (const std::int64_t* i64 = value.if_int64()) {
    emitter << static_cast<long long>(*i64);
  } else if (const std::uint64_t* u64 = value.if_uint64()) {
    emitter << static_cast<unsigned long long>(*u64);
  } else if (const double* number = value.if_double()) {
    emitter << shortest_double(*number);
  } else if (const bool* flag = value.if_bool()) {
    emitter << *flag;
  } else {
    emitter << YAML::Null;
  }
}

}  // namespace

const json::value* get_object(const json::value& parent, std::string_view key) {
  const json::value* value = find(parent, key);
  return value != nullptr && value->is_object() ? value : nullptr;
}

const json::array* get_array(const json::value& parent, std::string_view key) {
  const json::value* value = find(parent, key);
  return value == nullptr ? nullptr : value->if_array();
}

std::optional<std::string_view> get_string(const json::value& parent, std::string_view key) {
  const json::value* value = find(parent, key);
  const json::string* text = value == nullptr ? nullptr : value->if_string();
  return text == nullptr ? std::nullopt : std::optional<std::string_view>(*text);
}

std::optional<bool> get_bool(const json::value& parent, std::string_view key) {
  const json::value* value = find(parent, key);
  const bool* flag = value == nullptr ? nullptr : value->if_bool();
  return flag == nullptr ? std::nullopt : std::optional<bool>(*flag);
}

std::optional<double> get_number(const json::value& parent, std::string_view key) {
  const json::value* value = find(parent, key);
  if (value == nullptr) {
    return std::nullopt;
  }
  boost::system::error_code ec;
  auto number = value->to_number<double>(ec);
  return ec ? std::nullopt : std::optional<double>(number);
}

std::string text_or_dash(const json::value& parent, std::string_view key) {
  auto text = get_string(parent, key);
  return text && !text->empty() ? escape_for_terminal(*text) : "-";
}

std::string relative_or_dash(const json::value& parent, std::string_view key, std::int64_t now_ms) {
  auto text = get_string(parent, key);
  auto when = text ? parse_rfc3339_ms(*text) : std::nullopt;
  return when ? relative_time(*when, now_ms) : "-";
}

std::string time_and_relative(const json::value& parent, std::string_view key,
                              std::int64_t now_ms) {
  std::string text = text_or_dash(parent, key);
  if (std::string ago = relative_or_dash(parent, key, now_ms); ago != "-") {
    text += fmt::format(" ({})", ago);
  }
  return text;
}

std::string join_strings(const json::array* items) {
  if (items == nullptr) {
    return "-";
  }
  std::string out;
  for (const json::value& item : *items) {
    if (const json::string* text = item.if_string()) {
      out += (out.empty() ? "" : ", ") + escape_for_terminal(*text);
    }
  }
  return out.empty() ? "-" : out;
}

std::string to_pretty_json(const json::value& value) {
  std::string out;
  append_pretty(out, value, 0);
  return out;
}

std::string to_yaml(const json::value& value) {
  YAML::Emitter emitter;
  emitter.SetNullFormat(YAML::LowerNull);
  emit_yaml(emitter, value);
  return emitter.c_str();
}

}  // namespace hecs::cli
