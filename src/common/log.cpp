#include "common/log.h"

#include <mutex>

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "common/log_file.h"

namespace hecs::log {
namespace {
std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}
// Sinks every logger writes to besides stderr (to_file); guarded by registry_mutex().
std::vector<spdlog::sink_ptr>& extra_sinks() {
  static std::vector<spdlog::sink_ptr> sinks;
  return sinks;
}
}  // namespace

Result<void> to_file(const std::filesystem::path& path, std::size_t max_bytes, std::size_t keep) {
  spdlog::sink_ptr sink;
  try {
    sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(path.string(), max_bytes, keep);
  } catch (const spdlog::spdlog_ex& e) {
    return fail(Errc::unavailable, fmt::format("log_file {}: {}", path.string(), e.what()));
  }
  sink->set_formatter(std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%eZ %l %n %v",
                                                                  spdlog::pattern_time_type::utc));
  std::lock_guard lock(registry_mutex());
  extra_sinks().push_back(sink);
  spdlog::apply_all([&](const Logger& logger) { logger->sinks().push_back(sink); });
  // Each line reaches the file at once, as it reaches stderr: a reader (collect-logs) or a
  // crash right after must not miss the last lines.
  spdlog::flush_on(spdlog::level::trace);
  return {};
}

std::vector<std::filesystem::path> file_set(const std::filesystem::path& path, std::size_t keep) {
  std::vector<std::filesystem::path> out;
  for (std::size_t i = 0; i <= keep; ++i) {
    out.emplace_back(spdlog::sinks::rotating_file_sink_mt::calc_filename(path.string(), i));
  }
  return out;
}

Logger get(const std::string& name) {
  std::lock_guard lock(registry_mutex());
  if (auto existing = spdlog::get(name)) {
    return existing;
  }
  auto logger = spdlog::stderr_logger_mt(name);
  for (const auto& sink : extra_sinks()) {
    logger->sinks().push_back(sink);
  }
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %n %v", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::get_level());
  return logger;
}

bool set_level(std::string_view level) {
  auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") {
    return false;
  }
  spdlog::set_level(parsed);
  return true;
}

std::string quoted(std::string_view value) {
  constexpr std::size_t kMax = 200;
  std::string out = "\"";
  for (std::size_t i = 0; i < value.size() && i < kMax; ++i) {
    auto c = static_cast<unsigned char>(value[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (value.size() > kMax) {
    out += "...";
  }
  out += '"';
  return out;
}

}  // namespace hecs::log
