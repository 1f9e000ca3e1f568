#include "proto/json_read.h"

#include <cmath>
#include <limits>

namespace hecs::proto::detail {
namespace {

tl::unexpected<Error> invalid(std::string_view path, std::string_view why) {
  std::string message(path);
  message += ": ";
  message += why;
  return fail(Errc::invalid_input, std::move(message));
}

}  // namespace

std::string field_path(std::string_view parent, std::string_view key) {
  std::string path(parent);
  if (!path.empty()) {
    path += '.';
  }
  path += key;
  return path;
}

std::string index_path(std::string_view parent, std::size_t index) {
  std::string path(parent);
  path += '[';
  path += std::to_string(index);
  path += ']';
  return path;
}

Result<std::uint64_t> to_uint(const boost::json::value& value, std::string_view path) {
  if (const std::uint64_t* u = value.if_uint64()) {
    return *u;
  }
  if (const std::int64_t* i = value.if_int64(); i != nullptr && *i >= 0) {
    return static_cast<std::uint64_t>(*i);
  }
  return invalid(path, "expected an unsigned integer");
}

Result<std::int64_t> to_int(const boost::json::value& value, std::string_view path) {
  if (const std::int64_t* i = value.if_int64()) {
    return *i;
  }
  if (const std::uint64_t* u = value.if_uint64();
      u != nullptr && *u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return static_cast<std::int64_t>(*u);
  }
  return invalid(path, "expected an integer");
}

Result<double> to_double(const boost::json::value& value, std::string_view path) {
  if (const double* d = value.if_double()) {
    // JSON has no NaN or infinity, but a huge exponent can still overflow to infinity.
    if (std::isfinite(*d)) {
      return *d;
    }
    return invalid(path, "expected a finite number");
  }
  if (const std::int64_t* i = value.if_int64()) {
    return static_cast<double>(*i);
  }
  if (const std::uint64_t* u = value.if_uint64()) {
    return static_cast<double>(*u);
  }
  return invalid(path, "expected a number");
}

Result<std::string> to_string(const boost::json::value& value, std::string_view path) {
  const boost::json::string* s = value.if_string();
  if (s == nullptr) {
    return invalid(path, "expected a string");
  }
  if (s->size() > kMaxStringBytes) {
    return invalid(path, "longer than " + std::to_string(kMaxStringBytes) + " bytes");
  }
  return std::string(s->data(), s->size());
}

void ObjectReader::read(std::string_view key, std::uint64_t& out) {
  if (const boost::json::value* v = find(key)) {
    store(to_uint(*v, field_path(path_, key)), out);
  }
}

void ObjectReader::read(std::string_view key, std::uint32_t& out) {
  std::uint64_t wide = 0;
  read(key, wide);
  if (!ok()) {
    return;
  }
  if (wide > std::numeric_limits<std::uint32_t>::max()) {
    reject(key, "out of range");
    return;
  }
  out = static_cast<std::uint32_t>(wide);
}

void ObjectReader::read(std::string_view key, std::int64_t& out) {
  if (const boost::json::value* v = find(key)) {
    store(to_int(*v, field_path(path_, key)), out);
  }
}

void ObjectReader::read(std::string_view key, double& out) {
  if (const boost::json::value* v = find(key)) {
    store(to_double(*v, field_path(path_, key)), out);
  }
}

void ObjectReader::read(std::string_view key, std::optional<double>& out) {
  if (!ok()) {
    return;
  }
  const boost::json::value* v = object_.if_contains(key);
  if (v == nullptr || v->is_null()) {
    out.reset();
    return;
  }
  double value = 0;
  store(to_double(*v, field_path(path_, key)), value);
  if (ok()) {
    out = value;
  }
}

void ObjectReader::read(std::string_view key, std::string& out) {
  if (const boost::json::value* v = find(key)) {
    store(to_string(*v, field_path(path_, key)), out);
  }
}

void ObjectReader::read(std::string_view key, std::vector<std::string>& out) {
  const boost::json::array* array = find_array(key);
  if (array == nullptr) {
    return;
  }
  const std::string array_path = field_path(path_, key);
  out.clear();
  out.reserve(array->size());
  for (std::size_t i = 0; i < array->size(); ++i) {
    auto item = to_string((*array)[i], index_path(array_path, i));
    if (!item) {
      error_ = std::move(item.error());
      return;
    }
    out.push_back(std::move(*item));
  }
}

void ObjectReader::reject(std::string_view key, std::string_view why) {
  std::string message = field_path(path_, key);
  message += ": ";
  message += why;
  set_error(std::move(message));
}

Result<void> ObjectReader::result() const {
  if (error_) {
    return tl::unexpected(*error_);
  }
  return {};
}

const boost::json::value* ObjectReader::find(std::string_view key) {
  if (!ok()) {
    return nullptr;
  }
  const boost::json::value* v = object_.if_contains(key);
  if (v == nullptr) {
    reject(key, "missing");
  }
  return v;
}

const boost::json::array* ObjectReader::find_array(std::string_view key) {
  const boost::json::value* v = find(key);
  if (v == nullptr) {
    return nullptr;
  }
  const boost::json::array* array = v->if_array();
  if (array == nullptr) {
    reject(key, "expected an array");
    return nullptr;
  }
  if (array->size() > kMaxArrayItems) {
    reject(key, "more than " + std::to_string(kMaxArrayItems) + " items");
    return nullptr;
  }
  return array;
}

void ObjectReader::set_error(std::string message) {
  if (ok()) {
    error_ = Error{Errc::invalid_input, std::move(message)};
  }
}

template <class T>
void ObjectReader::store(Result<T> value, T& out) {
  if (!value) {
    error_ = std::move(value.error());
    return;
  }
  out = std::move(*value);
}

Result<std::string> read_string(const boost::json::object& object, std::string_view key,
                                std::string_view path, bool required) {
  const auto* v = object.if_contains(key);
  if (v == nullptr) {
    if (required) {
      return invalid(field_path(path, key), "missing");
    }
    return std::string();
  }
  const auto* s = v->if_string();
  if (s == nullptr) {
    return invalid(field_path(path, key), "expected a string");
  }
  return std::string(*s);
}

Result<std::uint64_t> read_uint(const boost::json::object& object, std::string_view key,
                                std::string_view path, std::uint64_t fallback) {
  const auto* v = object.if_contains(key);
  if (v == nullptr) {
    return fallback;
  }
  return to_uint(*v, field_path(path, key));
}

}  // namespace hecs::proto::detail
