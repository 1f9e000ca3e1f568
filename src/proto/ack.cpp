#include "common/clock.h"
#include "proto/json_read.h"
#include "proto/proto.h"

namespace hecs::proto {

Result<Ack> parse_ack(const boost::json::object& body) {
  const auto* ids = body.if_contains("ids");
  if (ids == nullptr) {
    return fail(Errc::invalid_input, "body.ids: missing");
  }
  const auto* array = ids->if_array();
  if (array == nullptr) {
    return fail(Errc::invalid_input, "body.ids: expected an array");
  }
  if (array->empty() || array->size() > kMaxAckIds) {
    return fail(Errc::invalid_input, "body.ids: expected 1 to 1000 ids");
  }
  Ack ack;
  ack.ids.reserve(array->size());
  for (std::size_t i = 0; i < array->size(); ++i) {
    const auto* id = (*array)[i].if_string();
    if (id == nullptr || !is_uuid(*id)) {
      return fail(Errc::invalid_input, detail::index_path("body.ids", i) + ": expected a UUID");
    }
    ack.ids.emplace_back(*id);
  }
  return ack;
}

boost::json::object to_json(const Ack& ack) {
  boost::json::array ids;
  for (const auto& id : ack.ids) {
    ids.emplace_back(id);
  }
  boost::json::object body;
  body.emplace("ids", std::move(ids));
  return body;
}

}  // namespace hecs::proto
