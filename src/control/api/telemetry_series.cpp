// TelemetrySeries (telemetry_series.h): per-bucket means and network rates.
#include "control/api/telemetry_series.h"

#include <boost/json/value.hpp>

#include "common/clock.h"

namespace hecs::control::api {
namespace json = boost::json;

namespace {

std::optional<double> number(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_number()) {
    return std::nullopt;
  }
  return v->to_number<double>();
}

std::optional<std::uint64_t> counter(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v != nullptr && v->is_uint64()) {
    return v->get_uint64();
  }
  if (v != nullptr && v->is_int64() && v->get_int64() >= 0) {
    return static_cast<std::uint64_t>(v->get_int64());
  }
  return std::nullopt;
}

std::optional<double> memory_percent(const json::object& body) {
  auto total = number(body, "memory_total_bytes");
  auto available = number(body, "memory_available_bytes");
  if (!total || !available || *total <= 0) {
    return std::nullopt;
  }
  return (1.0 - *available / *total) * 100.0;
}

// The root filesystem, else the largest one.
std::optional<double> disk_percent(const json::object& body) {
  const json::value* disks = body.if_contains("disks");
  if (disks == nullptr || !disks->is_array()) {
    return std::nullopt;
  }
  const json::object* chosen = nullptr;
  double chosen_total = 0;
  for (const auto& d : disks->get_array()) {
    if (!d.is_object()) {
      continue;
    }
    const auto& disk = d.get_object();
    auto total = number(disk, "total_bytes");
    if (!total || *total <= 0) {
      continue;
    }
    const json::value* mount = disk.if_contains("mount");
    if (mount != nullptr && mount->is_string() && mount->get_string() == "/") {
      chosen = &disk;
      break;
    }
    if (*total > chosen_total) {
      chosen = &disk;
      chosen_total = *total;
    }
  }
  if (chosen == nullptr) {
    return std::nullopt;
  }
  auto total = number(*chosen, "total_bytes");
  auto used = number(*chosen, "used_bytes");
  if (!used) {
    return std::nullopt;
  }
  return *used / *total * 100.0;
}

}  // namespace

void TelemetrySeries::Mean::add(std::optional<double> v) {
  if (v) {
    sum += *v;
    ++n;
  }
}

json::value TelemetrySeries::Mean::value() const {
  return n == 0 ? json::value(nullptr) : json::value(sum / static_cast<double>(n));
}

TelemetrySeries::TelemetrySeries(std::int64_t first, std::int64_t step, std::size_t count)
    : first_(first), step_(step), buckets_(count) {}

namespace {

// rx/tx byte counters of the sample's interfaces, by name.
TelemetrySeries::InterfaceCounters interface_counters(const json::object& body) {
  TelemetrySeries::InterfaceCounters out;
  if (const json::value* interfaces = body.if_contains("interfaces");
      interfaces != nullptr && interfaces->is_array()) {
    for (const auto& i : interfaces->get_array()) {
      const json::value* name = i.is_object() ? i.get_object().if_contains("name") : nullptr;
      if (name == nullptr || !name->is_string()) {
        continue;
      }
      auto rx = counter(i.get_object(), "rx_bytes");
      auto tx = counter(i.get_object(), "tx_bytes");
      if (rx && tx) {
        out[std::string(name->get_string())] = {*rx, *tx};
      }
    }
  }
  return out;
}

}  // namespace

void TelemetrySeries::add(std::int64_t ts, const json::object& body) {
  if (ts >= first_ && (ts - first_) / step_ >= static_cast<std::int64_t>(buckets_.size())) {
    return;
  }
  auto now = interface_counters(body);
  // A sample before the first bucket is only the base of the first bucket's network rates.
  if (ts >= first_) {
    Bucket& bucket = buckets_[static_cast<std::size_t>((ts - first_) / step_)];
    ++bucket.samples;
    bucket.cpu.add(number(body, "cpu_percent"));
    bucket.memory.add(memory_percent(body));
    bucket.disk.add(disk_percent(body));
    bucket.temperature.add(number(body, "temperature_c"));
    add_rates(bucket, ts, now);
  }
  previous_ts_ = ts;
  previous_ = std::move(now);
}

// The bytes moved since the previous sample, summed over the interfaces both samples have,
// go to the later sample's bucket with the time between them. A counter that went down was
// reset (reboot, interface re-created): that direction's pair is skipped whole rather than
// counted short.
void TelemetrySeries::add_rates(Bucket& bucket, std::int64_t ts, const InterfaceCounters& now) {
  if (!previous_ts_ || ts <= *previous_ts_) {
    return;
  }
  double rx = 0;
  double tx = 0;
  bool rx_reset = false;
  bool tx_reset = false;
  bool common = false;
  for (const auto& [name, c] : now) {
    auto before = previous_.find(name);
    if (before == previous_.end()) {
      continue;
    }
    common = true;
    if (c.rx < before->second.rx) {
      rx_reset = true;
    } else {
      rx += static_cast<double>(c.rx - before->second.rx);
    }
    if (c.tx < before->second.tx) {
      tx_reset = true;
    } else {
      tx += static_cast<double>(c.tx - before->second.tx);
    }
  }
  if (!common) {
    return;
  }
  const auto ms = static_cast<double>(ts - *previous_ts_);
  if (!rx_reset) {
    bucket.rx.bytes += rx;
    bucket.rx.ms += ms;
  }
  if (!tx_reset) {
    bucket.tx.bytes += tx;
    bucket.tx.ms += ms;
  }
}

json::array TelemetrySeries::items() const {
  json::array out;
  for (std::size_t k = 0; k < buckets_.size(); ++k) {
    const Bucket& b = buckets_[k];
    if (b.samples == 0) {
      continue;
    }
    auto rate = [](const Rate& r) {
      return r.ms > 0 ? json::value(r.bytes * 1000.0 / r.ms) : json::value(nullptr);
    };
    json::object item;
    item["ts"] = format_rfc3339_ms(first_ + static_cast<std::int64_t>(k) * step_);
    item["samples"] = b.samples;
    item["cpu_percent"] = b.cpu.value();
    item["memory_percent"] = b.memory.value();
    item["disk_percent"] = b.disk.value();
    item["temperature_c"] = b.temperature.value();
    item["rx_bytes_per_s"] = rate(b.rx);
    item["tx_bytes_per_s"] = rate(b.tx);
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace hecs::control::api
