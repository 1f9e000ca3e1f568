#include "cli/device_format.h"

#include <cmath>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/json_view.h"
#include "cli/text.h"
#include "common/clock.h"

namespace hecs::cli {

namespace json = boost::json;

namespace {

using Row = std::vector<std::string>;

std::string percent(std::optional<double> value) {
  return value && std::isfinite(*value) ? fmt::format("{:.1f}", *value) : "-";
}

std::optional<double> used_percent(std::optional<double> used, std::optional<double> total) {
  if (!used || !total || *total <= 0) {
    return std::nullopt;
  }
  return *used / *total * 100.0;
}

std::optional<double> memory_used_percent(const json::value* telemetry) {
  if (telemetry == nullptr) {
    return std::nullopt;
  }
  auto total = get_number(*telemetry, "memory_total_bytes");
  auto available = get_number(*telemetry, "memory_available_bytes");
  return used_percent(total && available ? std::optional(*total - *available) : std::nullopt,
                      total);
}

std::string bytes_or_dash(const json::value& parent, std::string_view key) {
  auto bytes = get_number(parent, key);
  return bytes ? human_bytes(*bytes) : "-";
}

const json::array* or_empty(const json::array* items) {
  static const json::array kEmpty;
  return items == nullptr ? &kEmpty : items;
}

constexpr std::size_t kLabelWidth = 16;

void add_field(std::string& out, std::size_t indent, std::string_view label,
               std::string_view value) {
  if (value.empty()) {  // a heading for the rows below it
    out += fmt::format("{:{}}{}\n", "", indent, label);
  } else {
    out += fmt::format("{:{}}{:<{}}{}\n", "", indent, label, kLabelWidth - indent, value);
  }
}

std::string boot_time(const json::value& inventory, std::int64_t now_ms) {
  if (auto seconds = get_number(inventory, "boot_time"); seconds && std::isfinite(*seconds)) {
    auto ms = static_cast<std::int64_t>(*seconds) * 1000;  // unix seconds
    return fmt::format("{} ({})", format_rfc3339_ms(ms), relative_time(ms, now_ms));
  }
  return time_and_relative(inventory, "boot_time", now_ms);
}

void add_inventory(std::string& out, const json::value& inventory, std::int64_t now_ms) {
  add_field(out, 0, "OS:", text_or_dash(inventory, "os"));
  add_field(out, 0, "Kernel:", text_or_dash(inventory, "kernel"));
  add_field(out, 0, "Arch:", text_or_dash(inventory, "arch"));
  std::string cpu = text_or_dash(inventory, "cpu_model");
  if (auto count = get_number(inventory, "cpu_count")) {
    cpu += fmt::format(" ({} cores)", *count);
  }
  add_field(out, 0, "CPU:", cpu);
  add_field(out, 0, "Memory:", bytes_or_dash(inventory, "memory_bytes"));
  add_field(out, 0, "Booted:", boot_time(inventory, now_ms));
  add_field(out, 0, "Agent version:", text_or_dash(inventory, "agent_version"));
  add_field(out, 0, "Capabilities:", join_strings(get_array(inventory, "capabilities")));

  std::vector<Row> disks;
  for (const json::value& disk : *or_empty(get_array(inventory, "disks"))) {
    disks.push_back({text_or_dash(disk, "mount"), text_or_dash(disk, "device"),
                     text_or_dash(disk, "fs_type"), bytes_or_dash(disk, "total_bytes")});
  }
  add_field(out, 0, "Disks:", disks.empty() ? "-" : "");
  out += align_rows(disks, "  ", "   ");

  std::vector<Row> interfaces;
  for (const json::value& interface : *or_empty(get_array(inventory, "interfaces"))) {
    interfaces.push_back({text_or_dash(interface, "name"), text_or_dash(interface, "mac"),
                          join_strings(get_array(interface, "addresses"))});
  }
  add_field(out, 0, "Interfaces:", interfaces.empty() ? "-" : "");
  out += align_rows(interfaces, "  ", "   ");
}

void add_telemetry(std::string& out, const json::value& telemetry) {
  std::string cpu = percent(get_number(telemetry, "cpu_percent"));
  cpu += cpu == "-" ? "" : "%";
  auto load1 = get_number(telemetry, "load1");
  auto load5 = get_number(telemetry, "load5");
  auto load15 = get_number(telemetry, "load15");
  if (load1 && load5 && load15) {
    cpu += fmt::format(" (load {:.2f} {:.2f} {:.2f})", *load1, *load5, *load15);
  }
  add_field(out, 2, "CPU:", cpu);
  auto total = get_number(telemetry, "memory_total_bytes");
  auto available = get_number(telemetry, "memory_available_bytes");
  add_field(out, 2, "Memory:",
            total && available
                ? fmt::format("{} of {} used ({}%)", human_bytes(*total - *available),
                              human_bytes(*total), percent(memory_used_percent(&telemetry)))
                : "-");
  if (auto celsius = get_number(telemetry, "temperature_c")) {
    add_field(out, 2, "Temperature:", fmt::format("{:.1f} °C", *celsius));
  }
  auto uptime = get_number(telemetry, "uptime_s");
  add_field(out, 2, "Uptime:",
            uptime && *uptime >= 0 ? human_duration(static_cast<std::int64_t>(*uptime)) : "-");

  std::vector<Row> disks;
  for (const json::value& disk : *or_empty(get_array(telemetry, "disks"))) {
    auto used = get_number(disk, "used_bytes");
    auto size = get_number(disk, "total_bytes");
    disks.push_back({text_or_dash(disk, "mount"),
                     used && size
                         ? fmt::format("{} of {} used ({}%)", human_bytes(*used),
                                       human_bytes(*size), percent(used_percent(used, size)))
                         : "-"});
  }
  add_field(out, 2, "Disks:", disks.empty() ? "-" : "");
  out += align_rows(disks, "    ", "   ");

  std::vector<Row> interfaces;
  for (const json::value& interface : *or_empty(get_array(telemetry, "interfaces"))) {
    interfaces.push_back({text_or_dash(interface, "name"),
                          "rx " + bytes_or_dash(interface, "rx_bytes"),
                          "tx " + bytes_or_dash(interface, "tx_bytes")});
  }
  add_field(out, 2, "Network:", interfaces.empty() ? "-" : "");
  out += align_rows(interfaces, "    ", "   ");
}

}  // namespace

std::string format_device_table(const json::array& items, std::int64_t now_ms) {
  std::vector<Row> rows{{"ID", "HOSTNAME", "STATE", "ONLINE", "LAST SEEN", "OS", "CPU%", "MEM%"}};
  for (const json::value& device : items) {
    const json::value* inventory = get_object(device, "inventory");
    const json::value* telemetry = get_object(device, "telemetry");
    auto online = get_bool(device, "online");
    rows.push_back(
        {text_or_dash(device, "id"), text_or_dash(device, "hostname"),
         text_or_dash(device, "state"), online ? (*online ? "yes" : "no") : "-",
         relative_or_dash(device, "last_seen", now_ms),
         inventory != nullptr ? text_or_dash(*inventory, "os") : "-",
         percent(telemetry != nullptr ? get_number(*telemetry, "cpu_percent") : std::nullopt),
         percent(memory_used_percent(telemetry))});
  }
  return align_rows(rows, "", "   ");
}

std::string format_device_details(const json::value& device, std::int64_t now_ms) {
  std::string out;
  auto online = get_bool(device, "online");
  auto session = get_number(device, "session");
  std::string online_text = online ? (*online ? "yes" : "no") : "-";
  if (online && *online && session) {
    online_text += fmt::format(" (session {})", *session);
  }
  add_field(out, 0, "ID:", text_or_dash(device, "id"));
  add_field(out, 0, "Hostname:", text_or_dash(device, "hostname"));
  add_field(out, 0, "Tenant:", text_or_dash(device, "tenant_id"));
  add_field(out, 0, "State:", text_or_dash(device, "state"));
  add_field(out, 0, "Tags:", join_strings(get_array(device, "tags")));
  add_field(out, 0, "Online:", online_text);
  add_field(out, 0, "First seen:", time_and_relative(device, "first_seen", now_ms));
  add_field(out, 0, "Last seen:", time_and_relative(device, "last_seen", now_ms));
  if (const json::value* inventory = get_object(device, "inventory")) {
    add_inventory(out, *inventory, now_ms);
  } else {
    add_field(out, 0, "Inventory:", "none reported yet");
  }
  if (const json::value* telemetry = get_object(device, "telemetry")) {
    add_field(out, 0, "Telemetry:", time_and_relative(device, "telemetry_at", now_ms));
    add_telemetry(out, *telemetry);
  } else {
    add_field(out, 0, "Telemetry:", "none reported yet");
  }
  return out;
}

}  // namespace hecs::cli
