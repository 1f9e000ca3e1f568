#include "cli/task_format.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/json_view.h"
#include "cli/task_api.h"
#include "cli/text.h"

namespace hecs::cli {

namespace json = boost::json;

namespace {

using Row = std::vector<std::string>;

constexpr std::size_t kLabelWidth = 11;
constexpr std::string_view kAllStates[] = {"queued",      "sent",    "running",
                                           "succeeded",   "failed",  "timed_out",
                                           "interrupted", "expired", "cancelled"};

std::int64_t count_of(const json::value& task, std::string_view state) {
  const json::value* counts = get_object(task, "counts");
  auto n = counts == nullptr ? std::nullopt : get_number(*counts, state);
  return n && std::isfinite(*n) && *n > 0 ? static_cast<std::int64_t>(*n) : 0;
}

void add_field(std::string& out, std::string_view label, std::string_view value) {
  out += fmt::format("{:<{}}{}\n", label, kLabelWidth, value);
}

// A word as a POSIX shell would read it back: bare when it is plain, else in single quotes.
std::string shell_word(std::string_view word) {
  bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           std::string_view("-_./:=,+@%").find(c) != std::string_view::npos;
  });
  if (plain) {
    return std::string(word);
  }
  std::string quoted = "'";
  for (char c : word) {
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return quoted + "'";
}

std::string clip(std::string text, std::size_t width) {
  if (display_width(text) <= width || width < 4) {
    return text;
  }
  std::size_t keep = 0;
  std::size_t columns = 0;
  while (keep < text.size() && columns < width - 3) {
    ++keep;
    while (keep < text.size() && (static_cast<unsigned char>(text[keep]) & 0xC0u) == 0x80u) {
      ++keep;  // the rest of a UTF-8 sequence
    }
    ++columns;
  }
  return text.substr(0, keep) + "...";
}

std::string target_text(const json::value& task) {
  const json::value* target = get_object(task, "target");
  if (target == nullptr) {
    return "-";
  }
  std::string text;
  if (auto selector = get_string(*target, "selector")) {
    text = "selector " + escape_for_terminal(*selector);
  } else if (auto group = get_string(*target, "group")) {
    text = "group " + escape_for_terminal(*group);
  } else {
    text = "devices " + join_strings(get_array(*target, "devices"));
  }
  if (auto resolved = get_number(*target, "resolved")) {
    text += fmt::format(" ({} device{})", *resolved, *resolved == 1 ? "" : "s");
  }
  return text;
}

std::string options_text(const json::value& spec) {
  std::vector<std::string> parts;
  if (auto timeout = get_number(spec, "timeout_s")) {
    parts.push_back(fmt::format("timeout {}s", *timeout));
  }
  if (auto cap = get_number(spec, "output_cap_bytes")) {
    parts.push_back("output cap " + human_bytes(*cap));
  }
  if (auto user = get_string(spec, "user"); user && !user->empty()) {
    parts.push_back("user " + escape_for_terminal(*user));
  }
  if (auto cwd = get_string(spec, "cwd"); cwd && !cwd->empty()) {
    parts.push_back("cwd " + escape_for_terminal(*cwd));
  }
  if (const json::value* env = get_object(spec, "env")) {
    std::vector<std::string> names;
    for (const auto& member : env->get_object()) {
      names.push_back(escape_for_terminal(member.key()));
    }
    parts.push_back(fmt::format("env {}", fmt::join(names, " ")));
  }
  return parts.empty() ? "-" : fmt::format("{}", fmt::join(parts, ", "));
}

std::string rate_text(const json::value& task) {
  const json::value* rate = get_object(task, "rate");
  if (auto n = rate == nullptr ? std::nullopt : get_number(*rate, "max_in_flight")) {
    return fmt::format("at most {} at a time", *n);
  }
  if (auto n = rate == nullptr ? std::nullopt : get_number(*rate, "per_minute")) {
    return fmt::format("{} per minute", *n);
  }
  return "all at once";
}

std::string abort_text(const json::value& task) {
  const json::value* abort = get_object(task, "abort");
  auto percent = abort == nullptr ? std::nullopt : get_number(*abort, "failure_percent");
  if (!percent) {
    return "never";
  }
  auto min = get_number(*abort, "min_finished");
  return fmt::format("when over {}% of finished runs failed, after {} finished", *percent,
                     min.value_or(1));
}

}  // namespace

RunTally tally_of(const json::value& task) {
  RunTally tally;
  std::int64_t sum = 0;
  for (std::string_view state : kAllStates) {
    std::int64_t n = count_of(task, state);
    sum += n;
    if (is_final_run_state(state)) {
      tally.done += n;
    }
  }
  tally.succeeded = count_of(task, "succeeded");
  tally.running = count_of(task, "running");
  tally.waiting = count_of(task, "queued") + count_of(task, "sent");
  auto total = get_number(task, "total");
  tally.total = total && *total >= 0 ? static_cast<std::int64_t>(*total) : sum;
  return tally;
}

std::string progress_text(const RunTally& tally) {
  std::string text = fmt::format("{}/{} done, {} failed, {} running", tally.done, tally.total,
                                 tally.not_ok(), tally.running);
  if (tally.waiting > 0) {
    text += fmt::format(", {} waiting", tally.waiting);
  }
  return text;
}

std::string progress_bar(const RunTally& tally, std::size_t width) {
  std::size_t filled =
      tally.total <= 0
          ? 0
          : static_cast<std::size_t>(std::clamp<std::int64_t>(tally.done, 0, tally.total)) * width /
                static_cast<std::size_t>(tally.total);
  return fmt::format("[{}{}] {}", std::string(filled, '#'), std::string(width - filled, '.'),
                     progress_text(tally));
}

std::string exit_text(const json::value& run) {
  if (auto code = get_number(run, "exit_code")) {
    return fmt::format("exit={}", *code);
  }
  if (auto signal = get_number(run, "signal")) {
    return fmt::format("signal={}", *signal);
  }
  return "exit=-";
}

std::string run_duration(const json::value& run) {
  auto started = get_string(run, "started_at");
  auto ended = get_string(run, "ended_at");
  auto from = started ? parse_rfc3339_ms(*started) : std::nullopt;
  auto to = ended ? parse_rfc3339_ms(*ended) : std::nullopt;
  if (!from || !to || *to < *from) {
    return "-";
  }
  std::int64_t ms = *to - *from;
  return ms < 60000 ? fmt::format("{:.1f}s", static_cast<double>(ms) / 1000.0)
                    : human_duration(ms / 1000);
}

std::string run_header(const json::value& run) {
  std::string header = fmt::format("== {} {} {} ({})", text_or_dash(run, "device"),
                                   text_or_dash(run, "state"), exit_text(run), run_duration(run));
  if (auto error = get_string(run, "error"); error && !error->empty()) {
    header += ": " + escape_for_terminal(*error);
  }
  return header;
}

std::string printable_output(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 1);
  std::size_t at = 0;
  while (at < text.size()) {
    // \n and \t are single bytes that never occur inside a UTF-8 sequence: splitting at them
    // leaves every sequence whole for escape_for_terminal.
    std::size_t end = std::min(text.find_first_of("\n\t", at), text.size());
    out += escape_for_terminal(text.substr(at, end - at));
    if (end < text.size()) {
      out += text[end];
    }
    at = end + 1;
  }
  if (!out.empty() && out.back() != '\n') {
    out += '\n';
  }
  return out;
}

std::string format_run_result(const json::value& run, std::string_view out, std::string_view err) {
  std::string text = run_header(run) + "\n" + printable_output(out);
  if (!err.empty()) {
    text += "-- stderr\n" + printable_output(err);
  }
  return text;
}

std::string command_summary(const json::value& task, std::size_t width) {
  const json::value* spec = get_object(task, "spec");
  const json::value* command = spec == nullptr ? nullptr : get_object(*spec, "command");
  if (command == nullptr) {
    return "-";
  }
  std::string text;
  if (const json::array* argv = get_array(*command, "argv")) {
    std::vector<std::string> words;
    for (const json::value& arg : *argv) {
      words.push_back(shell_word(arg.is_string() ? std::string_view(arg.get_string()) : "?"));
    }
    text = escape_for_terminal(fmt::format("{}", fmt::join(words, " ")));
  } else if (auto script = get_string(*command, "script")) {
    text = fmt::format("script: {} ({})", text_or_dash(*command, "interpreter"),
                       human_bytes(static_cast<double>(script->size())));
  } else {
    text = "builtin: " + text_or_dash(*command, "builtin");
  }
  return clip(std::move(text), width);
}

std::string counts_text(const json::value& task) {
  std::vector<std::string> parts;
  for (std::string_view state : kAllStates) {
    if (std::int64_t n = count_of(task, state); n > 0) {
      parts.push_back(fmt::format("{} {}", n, state));
    }
  }
  return parts.empty() ? "no runs" : fmt::format("{}", fmt::join(parts, ", "));
}

std::string format_task_table(const json::array& items, std::int64_t now_ms) {
  std::vector<Row> rows{{"ID", "STATE", "ORIGIN", "CREATED", "DEVICES", "COMMAND"}};
  for (const json::value& task : items) {
    RunTally tally = tally_of(task);
    rows.push_back({text_or_dash(task, "id"), text_or_dash(task, "state"),
                    text_or_dash(task, "origin"), relative_or_dash(task, "created_at", now_ms),
                    fmt::format("{}/{}", tally.done, tally.total), command_summary(task)});
  }
  return align_rows(rows, "", "   ");
}

std::string format_task_details(const json::value& task, const json::array& runs,
                                std::int64_t now_ms) {
  static const json::value kNoSpec = json::object();
  const json::value* spec = get_object(task, "spec");
  std::string out;
  add_field(out, "ID:", text_or_dash(task, "id"));
  add_field(out, "State:", text_or_dash(task, "state"));
  add_field(out, "Origin:", text_or_dash(task, "origin"));
  add_field(out, "Created:",
            fmt::format("{} by {}", time_and_relative(task, "created_at", now_ms),
                        text_or_dash(task, "created_by")));
  add_field(out, "Finished:", time_and_relative(task, "finished_at", now_ms));
  add_field(out, "Deadline:", time_and_relative(task, "expires_at", now_ms));
  add_field(out, "Target:", target_text(task));
  add_field(out, "Command:", command_summary(task, 200));
  add_field(out, "Options:", options_text(spec == nullptr ? kNoSpec : *spec));
  add_field(out, "Rate:", rate_text(task));
  add_field(out, "Abort:", abort_text(task));
  RunTally tally = tally_of(task);
  add_field(out,
            "Runs:", fmt::format("{}/{} done: {}", tally.done, tally.total, counts_text(task)));
  if (runs.empty()) {
    return out;
  }
  std::vector<Row> rows{{"DEVICE", "STATE", "EXIT", "DURATION", "OUTPUT", "ERROR"}};
  for (const json::value& run : runs) {
    auto code = get_number(run, "exit_code");
    auto signal = get_number(run, "signal");
    std::string exit = code     ? fmt::format("{}", *code)
                       : signal ? fmt::format("signal {}", *signal)
                                : "-";
    auto out_bytes = get_number(run, "stdout_bytes");
    auto err_bytes = get_number(run, "stderr_bytes");
    std::string output = fmt::format("{} / {}", out_bytes ? human_bytes(*out_bytes) : "-",
                                     err_bytes ? human_bytes(*err_bytes) : "-");
    if (get_bool(run, "truncated").value_or(false)) {
      output += " (truncated)";
    }
    rows.push_back({text_or_dash(run, "device"), text_or_dash(run, "state"), exit,
                    run_duration(run), output, text_or_dash(run, "error")});
  }
  out += "\n" + align_rows(rows, "", "   ");
  return out;
}

}  // namespace hecs::cli
