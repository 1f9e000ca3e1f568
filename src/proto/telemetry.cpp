#include <boost/json/array.hpp>

#include "proto/json_read.h"
#include "proto/proto.h"

namespace hecs::proto {

// Unknown fields are ignored for forward compatibility, as in every body (see hello.cpp).
Result<Telemetry> parse_telemetry(const boost::json::object& body) {
  Telemetry telemetry;
  detail::ObjectReader reader(body, "body");
  reader.read("cpu_percent", telemetry.cpu_percent);
  reader.read("load1", telemetry.load1);
  reader.read("load5", telemetry.load5);
  reader.read("load15", telemetry.load15);
  reader.read("memory_total_bytes", telemetry.memory_total_bytes);
  reader.read("memory_available_bytes", telemetry.memory_available_bytes);
  reader.read_objects("disks", telemetry.disks, [](detail::ObjectReader& item, DiskUsage& disk) {
    item.read("mount", disk.mount);
    item.read("total_bytes", disk.total_bytes);
    item.read("used_bytes", disk.used_bytes);
  });
  reader.read("temperature_c", telemetry.temperature_c);
  reader.read_objects("interfaces", telemetry.interfaces,
                      [](detail::ObjectReader& item, InterfaceCounters& counters) {
                        item.read("name", counters.name);
                        item.read("rx_bytes", counters.rx_bytes);
                        item.read("tx_bytes", counters.tx_bytes);
                        item.read("rx_packets", counters.rx_packets);
                        item.read("tx_packets", counters.tx_packets);
                        item.read("rx_errors", counters.rx_errors);
                        item.read("tx_errors", counters.tx_errors);
                      });
  reader.read("uptime_s", telemetry.uptime_s);
  if (auto read = reader.result(); !read) {
    return tl::unexpected(std::move(read.error()));
  }
  return telemetry;
}

boost::json::object to_json(const Telemetry& telemetry) {
  boost::json::array disks;
  disks.reserve(telemetry.disks.size());
  for (const DiskUsage& disk : telemetry.disks) {
    boost::json::object item;
    item.emplace("mount", disk.mount);
    item.emplace("total_bytes", disk.total_bytes);
    item.emplace("used_bytes", disk.used_bytes);
    disks.emplace_back(std::move(item));
  }
  boost::json::array interfaces;
  interfaces.reserve(telemetry.interfaces.size());
  for (const InterfaceCounters& counters : telemetry.interfaces) {
    boost::json::object item;
    item.emplace("name", counters.name);
    item.emplace("rx_bytes", counters.rx_bytes);
    item.emplace("tx_bytes", counters.tx_bytes);
    item.emplace("rx_packets", counters.rx_packets);
    item.emplace("tx_packets", counters.tx_packets);
    item.emplace("rx_errors", counters.rx_errors);
    item.emplace("tx_errors", counters.tx_errors);
    interfaces.emplace_back(std::move(item));
  }
  boost::json::object body;
  body.emplace("cpu_percent", telemetry.cpu_percent);
  body.emplace("load1", telemetry.load1);
  body.emplace("load5", telemetry.load5);
  body.emplace("load15", telemetry.load15);
  body.emplace("memory_total_bytes", telemetry.memory_total_bytes);
  body.emplace("memory_available_bytes", telemetry.memory_available_bytes);
  body.emplace("disks", std::move(disks));
  // Absent rather than null when the board has no sensor; the parser accepts both.
  if (telemetry.temperature_c) {
    body.emplace("temperature_c", *telemetry.temperature_c);
  }
  body.emplace("interfaces", std::move(interfaces));
  body.emplace("uptime_s", telemetry.uptime_s);
  return body;
}

}  // namespace hecs::proto
