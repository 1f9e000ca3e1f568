// Chart series from raw telemetry (GET /api/v1/devices/{id}/telemetry/series, docs/api.md):
// samples are added in ts order and summed into fixed buckets, so that memory stays one bucket
// array and the previous sample's counters. Private to src/control/api; not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace hecs::control::api {

class TelemetrySeries {
 public:
  struct Counters {
    std::uint64_t rx = 0;
    std::uint64_t tx = 0;
  };
  using InterfaceCounters = std::map<std::string, Counters>;  // by interface name

  // Buckets [first + k·step, first + (k+1)·step) for k in 0..count-1; step > 0.
  TelemetrySeries(std::int64_t first, std::int64_t step, std::size_t count);

  // One telemetry body (docs/protocol.md) taken at ts; fields missing or of the wrong type are
  // ignored. Call in ts order. A sample before the first bucket is only the base of the first
  // network rates (give the last one before `first`, or the first bucket has no rate); samples
  // after the last bucket are ignored.
  void add(std::int64_t ts, const boost::json::object& body);

  // The buckets holding at least one sample, oldest first: ts (RFC 3339 of its start), samples,
  // cpu_percent, memory_percent, disk_percent, temperature_c, rx_bytes_per_s, tx_bytes_per_s
  // (each a mean over the bucket, or null when no sample of it had the value).
  boost::json::array items() const;

 private:
  struct Mean {
    double sum = 0;
    std::size_t n = 0;
    void add(std::optional<double> v);
    boost::json::value value() const;  // null without a value
  };
  struct Rate {
    double bytes = 0;
    double ms = 0;
  };
  struct Bucket {
    std::size_t samples = 0;
    Mean cpu, memory, disk, temperature;
    Rate rx, tx;
  };
  void add_rates(Bucket& bucket, std::int64_t ts, const InterfaceCounters& now);

  std::int64_t first_;
  std::int64_t step_;
  std::vector<Bucket> buckets_;
  std::optional<std::int64_t> previous_ts_;
  InterfaceCounters previous_;
};

}  // namespace hecs::control::api
