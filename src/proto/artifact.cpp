// Artifact pieces on up/result (proto.h, docs/protocol.md "task, cancel (and up/result)").
#include <algorithm>

#include <fmt/format.h>

#include "common/crypto/crypto.h"
#include "proto/proto.h"

namespace hecs::proto {
namespace {

tl::unexpected<Error> invalid(std::string message) {
  return fail(Errc::invalid_input, std::move(message));
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxArtifactNameBytes || name[0] == '.') {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

bool valid_sha256(std::string_view hex) {
  return hex.size() == 64 && std::all_of(hex.begin(), hex.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Result<std::uint64_t> read_count(const boost::json::object& o, std::string_view key,
                                 std::uint64_t max) {
  const auto* v = o.if_contains(key);
  std::uint64_t n = 0;
  if (v != nullptr && v->is_uint64()) {
    n = v->get_uint64();
  } else if (v != nullptr && v->is_int64() && v->get_int64() >= 0) {
    n = static_cast<std::uint64_t>(v->get_int64());
  } else {
    return invalid(fmt::format("body.artifact.{}: expected an unsigned integer", key));
  }
  if (n > max) {
    return invalid(fmt::format("body.artifact.{}: above {}", key, max));
  }
  return n;
}

const boost::json::string* read_text(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr ? v->if_string() : nullptr;
}

}  // namespace

Result<ArtifactChunk> parse_artifact_chunk(const boost::json::object& o) {
  for (const auto& [key, value] : o) {
    if (key != "name" && key != "offset" && key != "size" && key != "sha256" && key != "data" &&
        key != "last") {
      return invalid(fmt::format("body.artifact.{}: unknown field", std::string_view(key)));
    }
  }
  ArtifactChunk chunk;
  const auto* name = read_text(o, "name");
  if (name == nullptr || !valid_name(*name)) {
    return invalid("body.artifact.name: expected 1..128 of [A-Za-z0-9._-], not starting with '.'");
  }
  chunk.name = std::string(*name);
  const auto* sha = read_text(o, "sha256");
  if (sha == nullptr || !valid_sha256(*sha)) {
    return invalid("body.artifact.sha256: expected 64 lower-case hex digits");
  }
  chunk.sha256 = std::string(*sha);
  auto size = read_count(o, "size", kMaxArtifactBytes);
  if (!size) {
    return tl::unexpected(size.error());
  }
  if (*size == 0) {
    return invalid("body.artifact.size: must not be 0");
  }
  auto offset = read_count(o, "offset", kMaxArtifactBytes);
  if (!offset) {
    return tl::unexpected(offset.error());
  }
  chunk.size = *size;
  chunk.offset = *offset;
  const auto* data = read_text(o, "data");
  // Base64 of kMaxArtifactChunkBytes, padded: 4 characters per 3 bytes.
  if (data == nullptr || data->empty() || data->size() > (kMaxArtifactChunkBytes + 2) / 3 * 4) {
    return invalid("body.artifact.data: expected base64 of 1..24576 bytes");
  }
  auto raw = crypto::base64_decode(*data);
  if (!raw || raw->empty() || raw->size() > kMaxArtifactChunkBytes) {
    return invalid("body.artifact.data: expected base64 of 1..24576 bytes");
  }
  chunk.data = std::move(*raw);
  if (chunk.offset >= chunk.size || chunk.size - chunk.offset < chunk.data.size()) {
    return invalid("body.artifact.offset: the piece ends past the artifact's size");
  }
  const auto* last = o.if_contains("last");
  if (last == nullptr || !last->is_bool()) {
    return invalid("body.artifact.last: expected a boolean");
  }
  chunk.last = last->get_bool();
  if (chunk.last != (chunk.offset + chunk.data.size() == chunk.size)) {
    return invalid("body.artifact.last: true exactly for the piece that ends the artifact");
  }
  return chunk;
}

boost::json::object to_json(const ArtifactChunk& chunk) {
  return boost::json::object{{"name", chunk.name},
                             {"offset", chunk.offset},
                             {"size", chunk.size},
                             {"sha256", chunk.sha256},
                             {"data", crypto::base64_encode(chunk.data)},
                             {"last", chunk.last}};
}

}  // namespace hecs::proto
