#include <boost/json/array.hpp>

#include "proto/json_read.h"
#include "proto/proto.h"

namespace hecs::proto {
namespace {

boost::json::array string_array(const std::vector<std::string>& items) {
  boost::json::array out;
  out.reserve(items.size());
  for (const auto& item : items) {
    out.emplace_back(item);
  }
  return out;
}

}  // namespace

// Fields this version does not know are ignored, so a newer agent can add some without
// breaking an older control plane (forward compatibility); only the envelope is closed.
Result<Hello> parse_hello(const boost::json::object& body) {
  Hello hello;
  detail::ObjectReader reader(body, "body");
  reader.read("session", hello.session);
  reader.read("agent_version", hello.agent_version);
  reader.read("hostname", hello.hostname);
  reader.read("os", hello.os);
  reader.read("kernel", hello.kernel);
  reader.read("arch", hello.arch);
  reader.read("cpu_model", hello.cpu_model);
  reader.read("cpu_count", hello.cpu_count);
  reader.read("memory_bytes", hello.memory_bytes);
  reader.read("boot_time", hello.boot_time);
  reader.read_objects("disks", hello.disks, [](detail::ObjectReader& item, Disk& disk) {
    item.read("mount", disk.mount);
    item.read("device", disk.device);
    item.read("fs_type", disk.fs_type);
    item.read("total_bytes", disk.total_bytes);
  });
  reader.read_objects("interfaces", hello.interfaces,
                      [](detail::ObjectReader& item, NetInterface& interface) {
                        item.read("name", interface.name);
                        item.read("mac", interface.mac);
                        item.read("addresses", interface.addresses);
                      });
  reader.read("capabilities", hello.capabilities);
  if (body.contains("command_kids")) {  // optional: agents before issue 4 do not send it
    reader.read("command_kids", hello.command_kids);
  }
  if (body.contains("users")) {  // optional: agents before issue 6 do not send it
    reader.read("users", hello.users);
  }
  if (auto read = reader.result(); !read) {
    return tl::unexpected(std::move(read.error()));
  }
  // Stored as plain text columns, which PostgreSQL cannot give a NUL (it would cut the value
  // there); no real host name or version holds one.
  for (const auto& [name, value] :
       {std::pair{"hostname", &hello.hostname}, std::pair{"agent_version", &hello.agent_version}}) {
    if (value->find('\0') != std::string::npos) {
      return fail(Errc::invalid_input, std::string("body.") + name + ": contains NUL");
    }
  }
  return hello;
}

boost::json::object to_json(const Hello& hello) {
  boost::json::array disks;
  disks.reserve(hello.disks.size());
  for (const Disk& disk : hello.disks) {
    boost::json::object item;
    item.emplace("mount", disk.mount);
    item.emplace("device", disk.device);
    item.emplace("fs_type", disk.fs_type);
    item.emplace("total_bytes", disk.total_bytes);
    disks.emplace_back(std::move(item));
  }
  boost::json::array interfaces;
  interfaces.reserve(hello.interfaces.size());
  for (const NetInterface& interface : hello.interfaces) {
    boost::json::object item;
    item.emplace("name", interface.name);
    item.emplace("mac", interface.mac);
    item.emplace("addresses", string_array(interface.addresses));
    interfaces.emplace_back(std::move(item));
  }
  boost::json::object body;
  body.emplace("session", hello.session);
  body.emplace("agent_version", hello.agent_version);
  body.emplace("hostname", hello.hostname);
  body.emplace("os", hello.os);
  body.emplace("kernel", hello.kernel);
  body.emplace("arch", hello.arch);
  body.emplace("cpu_model", hello.cpu_model);
  body.emplace("cpu_count", hello.cpu_count);
  body.emplace("memory_bytes", hello.memory_bytes);
  body.emplace("boot_time", hello.boot_time);
  body.emplace("disks", std::move(disks));
  body.emplace("interfaces", std::move(interfaces));
  body.emplace("capabilities", string_array(hello.capabilities));
  if (!hello.command_kids.empty()) {
    body.emplace("command_kids", string_array(hello.command_kids));
  }
  if (!hello.users.empty()) {
    body.emplace("users", string_array(hello.users));
  }
  return body;
}

}  // namespace hecs::proto
