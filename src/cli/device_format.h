// Human output for devices: an aligned table for lists, a readable block for one device. Every
// server string is passed through escape_for_terminal().
#pragma once

#include <cstdint>
#include <string>

#include <boost/json/value.hpp>

namespace hecs::cli {

// Columns ID, HOSTNAME, STATE, ONLINE, LAST SEEN, OS, CPU%, MEM%, one row per device object in
// items (a non-object item becomes a row of "-"); now_ms is the wall clock for "12s ago".
std::string format_device_table(const boost::json::array& items, std::int64_t now_ms);

// A block of "Label: value" lines with state, tags, inventory, disks, interfaces and latest
// telemetry.
std::string format_device_details(const boost::json::value& device, std::int64_t now_ms);

}  // namespace hecs::cli
