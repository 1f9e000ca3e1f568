// Prometheus text exposition (version 0.0.4), written by the project: Debian 12 has no C++
// client library (DESIGN §2). Counters are lock-free; the registry is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace hecs::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Registry {
 public:
  // The counter for (name, labels), created on first use; the reference stays valid for the
  // registry's lifetime. Names end in _total (promtool's rule for counters).
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  // A gauge computed at each scrape (called under the registry lock: keep it cheap).
  void gauge(const std::string& name, const std::string& help, std::function<double()> read);
  std::string render() const;

 private:
  struct CounterEntry {
    std::string name, help;
    Labels labels;
    Counter counter;
  };
  struct GaugeEntry {
    std::string name, help;
    std::function<double()> read;
  };
  mutable std::mutex mutex_;
  std::deque<CounterEntry> counters_;  // deque: references stay valid as it grows
  std::vector<GaugeEntry> gauges_;
};

// Label values escaped as the text format requires (backslash, quote, newline).
std::string escape_label_value(const std::string& value);

}  // namespace hecs::metrics
