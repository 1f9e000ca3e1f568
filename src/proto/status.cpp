#include "proto/json_read.h"
#include "proto/proto.h"

namespace hecs::proto {
namespace {

std::string_view state_name(State state) {
  switch (state) {
    case State::online:
      return "online";
    case State::offline:
      return "offline";
  }
  return "offline";
}

}  // namespace

// Unknown fields are ignored for forward compatibility, as in every body (see hello.cpp).
Result<Status> parse_status(const boost::json::object& body) {
  Status status;
  std::string state;
  detail::ObjectReader reader(body, "body");
  reader.read("state", state);
  if (reader.ok()) {
    if (state == "online") {
      status.state = State::online;
    } else if (state == "offline") {
      status.state = State::offline;
    } else {
      reader.reject("state", "expected \"online\" or \"offline\"");
    }
  }
  reader.read("session", status.session);
  if (auto read = reader.result(); !read) {
    return tl::unexpected(std::move(read.error()));
  }
  return status;
}

boost::json::object to_json(const Status& status) {
  boost::json::object body;
  body.emplace("state", state_name(status.state));
  body.emplace("session", status.session);
  return body;
}

}  // namespace hecs::proto
