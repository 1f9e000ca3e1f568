// Private helpers of src/proto: read typed fields out of a Boost.JSON object, or say which
// field is wrong. Paths in messages are JSON-ish: "body.disks[2].mount: missing".
// Nothing here throws: only the if_*() accessors are used, never as_*().
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "common/result.h"

namespace hecs::proto::detail {

// Bounds on what one message may make us allocate, far above anything a real node sends.
inline constexpr std::size_t kMaxStringBytes = 1024;
inline constexpr std::size_t kMaxArrayItems = 256;

// "body" + "cpu_count" -> "body.cpu_count"; "" + "v" -> "v".
std::string field_path(std::string_view parent, std::string_view key);
// "body.disks" + 2 -> "body.disks[2]".
std::string index_path(std::string_view parent, std::size_t index);

// Absolute, no empty, "." or ".." component, no NUL, at most kMaxPathBytes (S26: the agent
// resolves symlinks itself). Errc::invalid_input naming `field`.
Result<void> check_absolute_path(std::string_view path, std::string_view field);

// Value readers; `path` names the value in the error message.
// Unsigned: a non-negative int64 or any uint64. Signed: an int64, or a uint64 that fits.
// Double: any integer or double, finite. Strings: at most kMaxStringBytes.
Result<std::uint64_t> to_uint(const boost::json::value& value, std::string_view path);
Result<std::int64_t> to_int(const boost::json::value& value, std::string_view path);
Result<double> to_double(const boost::json::value& value, std::string_view path);
Result<std::string> to_string(const boost::json::value& value, std::string_view path);

// Fields of `object`, `path` naming the object. A string absent is "" unless `required` (no
// length limit: the caller checks); an unsigned absent is `fallback`.
Result<std::string> read_string(const boost::json::object& object, std::string_view key,
                                std::string_view path, bool required);
Result<std::uint64_t> read_uint(const boost::json::object& object, std::string_view key,
                                std::string_view path, std::uint64_t fallback);

// Reads the fields of one object into a struct and keeps the first error: once a read fails,
// the later ones do nothing, so a parser is a flat list of reads and one check at the end.
// Keys the parser does not read are ignored (bodies accept unknown fields, see proto.h).
class ObjectReader {
 public:
  // `object` must outlive the reader.
  ObjectReader(const boost::json::object& object, std::string path)
      : object_(object), path_(std::move(path)) {}

  void read(std::string_view key, std::uint64_t& out);
  void read(std::string_view key, std::uint32_t& out);
  void read(std::string_view key, std::int64_t& out);
  void read(std::string_view key, double& out);
  void read(std::string_view key, std::optional<double>& out);  // absent or null: nullopt
  void read(std::string_view key, std::string& out);
  void read(std::string_view key, std::vector<std::string>& out);

  // An array of objects, each element read by `read_item(ObjectReader&, T&)`.
  template <class T, class ReadItem>
  void read_objects(std::string_view key, std::vector<T>& out, ReadItem read_item) {
    const boost::json::array* array = find_array(key);
    if (array == nullptr) {
      return;
    }
    const std::string array_path = field_path(path_, key);
    out.clear();
    out.reserve(array->size());
    for (std::size_t i = 0; i < array->size(); ++i) {
      std::string item_path = index_path(array_path, i);
      const boost::json::object* item = (*array)[i].if_object();
      if (item == nullptr) {
        set_error(std::move(item_path) + ": expected an object");
        return;
      }
      ObjectReader item_reader(*item, std::move(item_path));
      T value{};
      read_item(item_reader, value);
      if (item_reader.error_) {
        error_ = std::move(item_reader.error_);
        return;
      }
      out.push_back(std::move(value));
    }
  }

  // Records a failure found by the caller (a bad enum value, say) for `key`.
  void reject(std::string_view key, std::string_view why);
  bool ok() const { return !error_.has_value(); }
  // The first error, or success.
  Result<void> result() const;

 private:
  // The value of `key`, or nullptr after recording "missing" (or when an error came before).
  const boost::json::value* find(std::string_view key);
  const boost::json::array* find_array(std::string_view key);
  void set_error(std::string message);
  template <class T>
  void store(Result<T> value, T& out);

  const boost::json::object& object_;
  std::string path_;
  std::optional<Error> error_;
};

}  // namespace hecs::proto::detail
