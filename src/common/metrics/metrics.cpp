#include "common/metrics/metrics.h"

#include <map>

#include <fmt/format.h>

namespace hecs::metrics {

Counter& Registry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  for (auto& e : counters_) {
    if (e.name == name && e.labels == labels) {
      return e.counter;
    }
  }
  auto& e = counters_.emplace_back();
  e.name = name;
  e.help = help;
  e.labels = labels;
  return e.counter;
}

void Registry::gauge(const std::string& name, const std::string& help,
                     std::function<double()> read) {
  std::lock_guard lock(mutex_);
  gauges_.push_back(GaugeEntry{name, help, std::move(read)});
}

std::string escape_label_value(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Registry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  // Group samples of one metric family together, as the format requires.
  std::map<std::string, std::vector<const CounterEntry*>> families;
  for (const auto& e : counters_) {
    families[e.name].push_back(&e);
  }
  for (const auto& [name, entries] : families) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name, entries.front()->help, name);
    for (const auto* e : entries) {
      out += name;
      if (!e->labels.empty()) {
        out += '{';
        for (std::size_t i = 0; i < e->labels.size(); ++i) {
          out += fmt::format("{}{}=\"{}\"", i ? "," : "", e->labels[i].first,
                             escape_label_value(e->labels[i].second));
        }
        out += '}';
      }
      out += fmt::format(" {}\n", e->counter.value());
    }
  }
  for (const auto& g : gauges_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{} {}\n", g.name, g.help, g.name, g.name,
                       g.read());
  }
  return out;
}

}  // namespace hecs::metrics
