// hecsctl tasks list|show|cancel|logs|artifact.
#include <map>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/json_view.h"
#include "cli/task_api.h"
#include "cli/task_follow.h"
#include "cli/task_format.h"
#include "cli/text.h"
#include "common/crypto/crypto.h"
#include "common/files.h"

namespace hecs::cli {

namespace json = boost::json;

namespace {

constexpr int kMaxLimit = 500;  // the server's page-size cap
constexpr std::chrono::milliseconds kLogsInterval{500};

int tasks_list(const TaskOptions& options, CommandEnv& env) {
  auto page = TasksApi(env.http).list(options.state, options.origin, options.limit, "");
  if (!page) {
    return report(env.err, page.error(), kExitFailure);
  }
  const json::array& items = *get_array(*page, "items");  // list() checked it
  if (env.global.output != "table") {
    print_document(*page, env.global.output, env.out);
  } else if (items.empty()) {
    env.err << "no tasks found\n";
  } else {
    env.out << format_task_table(items, env.context.clock.now_ms());
  }
  auto next = get_string(*page, "next");
  if (env.context.stderr_is_terminal && next && !next->empty()) {
    env.err << fmt::format("showing the newest {}; more with --limit (up to {})\n", items.size(),
                           kMaxLimit);
  }
  return kExitOk;
}

int tasks_show(const TaskOptions& options, CommandEnv& env) {
  TasksApi api(env.http);
  auto task = api.get(options.id);
  auto runs = task ? api.runs_all(options.id, {}) : task;
  if (!runs) {
    return report(env.err, runs.error(), kExitFailure);
  }
  const json::array& items = *get_array(*runs, "items");
  if (env.global.output != "table") {
    json::object document = task->as_object();
    document["runs"] = items;
    print_document(document, env.global.output, env.out);
  } else {
    env.out << format_task_details(*task, items, env.context.clock.now_ms());
  }
  return kExitOk;
}

int tasks_cancel(const TaskOptions& options, CommandEnv& env) {
  std::optional<std::string> device;
  if (!options.device.empty()) {
    device = options.device;
  }
  auto task = TasksApi(env.http).cancel(options.id, device);
  if (!task) {
    return report(env.err, task.error(), kExitFailure);
  }
  if (print_if_document(env, *task)) {
    return kExitOk;
  }
  std::string id = escape_for_terminal(options.id);
  if (device) {
    env.out << fmt::format("cancelled the run of device {} in task {}",
                           escape_for_terminal(*device), id);
  } else {
    env.out << fmt::format("cancelled task {}", id);
  }
  env.out << fmt::format(
      ": runs not sent yet are cancelled, running ones stop when their device hears of it.\n"
      "runs now: {}\n",
      counts_text(*task));
  return kExitOk;
}

// The streams `tasks logs` prints: the one asked for, else both.
std::vector<std::string> streams_of(const TaskOptions& options) {
  if (!options.stream.empty()) {
    return {options.stream};
  }
  return {"stdout", "stderr"};
}

std::string shown(const TaskOptions& options, std::string_view text) {
  if (options.raw) {
    return std::string(text);
  }
  return printable_output(text);
}

// tasks logs without --follow: what each run wrote so far.
int logs_once(const TaskOptions& options, CommandEnv& env) {
  TasksApi api(env.http);
  RunQuery query{.device = options.device};
  auto runs = api.runs_all(options.id, query);
  if (!runs) {
    return report(env.err, runs.error(), kExitFailure);
  }
  const json::array& items = *get_array(*runs, "items");
  if (!options.device.empty() && items.empty()) {
    return report(env.err,
                  Error{Errc::not_found, fmt::format("task {} has no run on device {}",
                                                     escape_for_terminal(options.id),
                                                     escape_for_terminal(options.device))},
                  kExitFailure);
  }
  json::array documents;
  for (const json::value& run : items) {
    std::string device(get_string(run, "device").value_or(""));
    std::map<std::string, std::string> text;
    for (const std::string& stream : streams_of(options)) {
      auto output = api.output(options.id, device, stream);
      if (!output) {
        return report(env.err, output.error(), kExitFailure);
      }
      text[stream] = std::move(*output);
    }
    if (env.global.output != "table") {
      json::object document = run.as_object();
      for (const auto& [stream, data] : text) {
        document[stream] = data;
      }
      documents.push_back(std::move(document));
    } else if (!options.device.empty() && !options.stream.empty()) {  // no header
      env.out << shown(options, text[options.stream]);
    } else if (!options.device.empty()) {  // stdout on stdout, stderr on stderr
      env.out << shown(options, text["stdout"]);
      env.err << shown(options, text["stderr"]);
    } else if (options.stream.empty()) {
      env.out << format_run_result(run, text["stdout"], text["stderr"]);
    } else {
      env.out << run_header(run) << '\n' << shown(options, text[options.stream]);
    }
  }
  if (env.global.output != "table") {
    print_document(json::object{{"items", std::move(documents)}}, env.global.output, env.out);
  }
  return kExitOk;
}

// tasks logs --follow: prints what each run adds, as it comes, until every run has ended.
class LogTail {
 public:
  LogTail(const TaskOptions& options, CommandEnv& env, TasksApi& api)
      : options_(options), env_(env), api_(api) {}

  // Prints the new output of `run`: complete lines while it goes on, the rest once it ended.
  Result<void> show(const json::value& run) {
    std::string device(get_string(run, "device").value_or(""));
    bool final = is_final_run_state(get_string(run, "state").value_or(""));
    for (const std::string& stream : streams_of(options_)) {
      std::string section = device;
      section.append("/").append(stream);
      Section& seen = sections_[section];
      // Only what is new: the server reads from the byte after the last one fetched.
      auto text = api_.output(options_.id, device, stream, seen.fetched);
      if (!text) {
        return tl::unexpected(text.error());
      }
      seen.fetched += text->size();
      seen.pending += *text;
      std::size_t end = final ? seen.pending.size() : seen.pending.rfind('\n') + 1;  // npos+1: 0
      if (end == 0) {
        continue;
      }
      std::string fresh = seen.pending.substr(0, end);
      seen.pending.erase(0, end);
      bool one_device = !options_.device.empty();
      std::ostream& to =
          one_device && stream == "stderr" && options_.stream.empty() ? env_.err : env_.out;
      if (!one_device && section != last_section_) {
        to << "== " << escape_for_terminal(device) << (stream == "stderr" ? " stderr" : "") << '\n';
        last_section_ = section;
      }
      to << shown(options_, fresh) << std::flush;
    }
    if (final && options_.device.empty()) {
      env_.out << run_header(run) << '\n' << std::flush;
      last_section_.clear();
    }
    return {};
  }

 private:
  // Per device and stream: bytes fetched so far, and the end of a line not printed yet.
  struct Section {
    std::uint64_t fetched = 0;
    std::string pending;
  };
  const TaskOptions& options_;
  CommandEnv& env_;
  TasksApi& api_;
  std::map<std::string, Section> sections_;
  std::string last_section_;
};

int logs_follow(const TaskOptions& options, CommandEnv& env) {
  TasksApi api(env.http);
  LogTail tail(options, env, api);
  // Running runs are read on each poll; a run is read a last time when it becomes final.
  FollowHooks hooks{
      .progress =
          [&](const RunTally&) {
            RunQuery query{.state = "running", .device = options.device, .limit = 500};
            auto running = api.runs_all(options.id, query);
            if (running) {
              for (const json::value& run : *get_array(*running, "items")) {
                (void)tail.show(run);  // a failed read is tried again at the next poll
              }
            }
          },
      .final_run = [&](const json::value& run) -> Result<void> {
        if (!options.device.empty() && get_string(run, "device") != options.device) {
          return {};
        }
        return tail.show(run);
      },
      .interval = kLogsInterval};
  FollowEnd end = FollowEnd::finished;
  Result<json::value> last = [&] {
    InterruptFlag interrupt;
    return follow_task(api, options.id, hooks, interrupt, end);
  }();
  if (!last) {
    return report(env.err, last.error(), kExitFailure);
  }
  return kExitOk;
}

int tasks_logs(const TaskOptions& options, CommandEnv& env) {
  return options.follow && env.global.output == "table" ? logs_follow(options, env)
                                                        : logs_once(options, env);
}

// tasks artifact: downloads a run's artifact, checks its sha256, then writes it.
int tasks_artifact(const TaskOptions& options, CommandEnv& env) {
  TasksApi api(env.http);
  RunQuery query;
  query.device = options.device;
  auto runs = api.runs_page(options.id, query);
  if (!runs) {
    return report(env.err, runs.error(), kExitFailure);
  }
  const auto* items = runs->as_object().at("items").if_array();
  const json::value* artifact = nullptr;
  if (items != nullptr && !items->empty() && items->at(0).is_object()) {
    artifact = items->at(0).as_object().if_contains("artifact");
  }
  if (artifact == nullptr || !artifact->is_object() || !artifact->as_object().contains("sha256")) {
    return report(env.err, Error{Errc::not_found, "this run has no artifact"}, kExitFailure);
  }
  const std::string expected(artifact->as_object().at("sha256").as_string());
  auto bytes = api.artifact(options.id, options.device);
  if (!bytes) {
    return report(env.err, bytes.error(), kExitFailure);
  }
  if (crypto::sha256_hex(*bytes) != expected) {
    return report(env.err,
                  Error{Errc::corrupt,
                        "the download does not match the artifact's sha256; "
                        "nothing written"},
                  kExitFailure);
  }
  if (auto written = files::write_atomic(options.out_file, *bytes, 0600); !written) {
    return report(env.err, written.error(), kExitFailure);
  }
  env.out << fmt::format("wrote {} ({} bytes, sha256 {})\n", escape_for_terminal(options.out_file),
                         bytes->size(), expected);
  return kExitOk;
}

void add_id(CLI::App& verb, TaskOptions& options) {
  verb.add_option("id", options.id, "task id, as in the ID column of tasks list")->required();
}

}  // namespace

void add_task_commands(CLI::App& root, Invocation& inv, std::vector<Verb>& verbs) {
  CLI::App* tasks =
      root.add_subcommand("tasks", "List tasks, show their runs and output, cancel them");
  tasks->footer(
      "Tasks are made with hecsctl run.\n\n"
      "Example:\n  hecsctl tasks list --state running\n  hecsctl tasks show <id>\n"
      "  hecsctl tasks logs <id> --device <device> --follow");
  tasks->fallthrough(false);
  add_global_options(*tasks, inv.global);
  TaskOptions& options = inv.tasks;

  CLI::App* list = tasks->add_subcommand("list", "List tasks, newest first");
  list->add_option("--state", options.state, "only tasks in this state")
      ->check(CLI::IsMember({"running", "finished", "cancelled", "aborted"}))
      ->type_name("STATE");
  list->add_option("--origin", options.origin, "only tasks made this way")
      ->check(CLI::IsMember({"api", "schedule", "local-schedule"}))
      ->type_name("ORIGIN");
  list->add_option("--limit", options.limit, "how many (default 50)")
      ->check(CLI::Range(1, kMaxLimit))
      ->type_name("N");
  list->footer(
      "STATE is running, finished, cancelled or aborted; ORIGIN is api (a POST or hecsctl run),\n"
      "schedule (a cron schedule of the control plane) or local-schedule (an agent's own\n"
      "schedule, reported afterwards); DEVICES is runs ended/runs.\n\n"
      "Example:\n  hecsctl tasks list --state running --limit 10");
  add_global_options(*list, inv.global);
  verbs.push_back({list, [&options](CommandEnv& env) { return tasks_list(options, env); }});

  CLI::App* show = tasks->add_subcommand("show", "Show a task, its counts per state and its runs");
  add_id(*show, options);
  show->footer("Example:\n  hecsctl tasks show 1f0c7a52-9d3e-4b8a-a6f1-2e5d7c9b0a14 -o yaml");
  add_global_options(*show, inv.global);
  verbs.push_back({show, [&options](CommandEnv& env) { return tasks_show(options, env); }});

  CLI::App* cancel = tasks->add_subcommand("cancel", "Cancel a task's unfinished runs");
  add_id(*cancel, options);
  cancel->add_option("--device", options.device, "only this device's run")->type_name("ID");
  cancel->footer(
      "Runs not sent yet end as cancelled at once; running ones are killed by their agent.\n"
      "A run that already ended cannot be cancelled (exit 1, HTTP 409).\n\n"
      "Example:\n  hecsctl tasks cancel <id>\n  hecsctl tasks cancel <id> --device <device>");
  add_global_options(*cancel, inv.global);
  verbs.push_back({cancel, [&options](CommandEnv& env) { return tasks_cancel(options, env); }});

  CLI::App* logs = tasks->add_subcommand("logs", "Print what a task's runs wrote");
  add_id(*logs, options);
  logs->add_option("--device", options.device, "only this device's run")->type_name("ID");
  logs->add_option("--stream", options.stream, "only stdout or stderr (default both)")
      ->check(CLI::IsMember({"stdout", "stderr"}))
      ->type_name("STREAM");
  logs->add_flag("-f,--follow", options.follow, "keep printing new output until the runs end");
  logs->add_flag("--raw", options.raw,
                 "print the output as the device sent it, control characters included");
  logs->footer(
      "Each run's output comes under a header, == <device> <state> exit=<code> (<duration>),\n"
      "with its stderr after -- stderr. With --device: no header, its stdout on stdout and its\n"
      "stderr on stderr. --follow prints new output as it comes, under == <device>, and the\n"
      "header line when a run ends. Control characters show escaped unless --raw.\n\n"
      "Example:\n  hecsctl tasks logs <id>\n"
      "  hecsctl tasks logs <id> --device <device> --stream stdout --raw > out.txt\n"
      "  hecsctl tasks logs <id> --follow");
  add_global_options(*logs, inv.global);
  verbs.push_back({logs, [&options](CommandEnv& env) { return tasks_logs(options, env); }});

  CLI::App* artifact =
      tasks->add_subcommand("artifact", "Download a run's artifact (collect-logs) and check it");
  add_id(*artifact, options);
  artifact->add_option("--device", options.device, "the run's device")->required()->type_name("ID");
  artifact->add_option("--out", options.out_file, "where to write it (mode 0600)")
      ->required()
      ->type_name("FILE");
  artifact->footer(
      "The file is written only when its sha256 matches the one the run reports.\n\n"
      "Example:\n  hecsctl tasks artifact <id> --device <device> --out logs.tar.gz");
  add_global_options(*artifact, inv.global);
  verbs.push_back({artifact, [&options](CommandEnv& env) { return tasks_artifact(options, env); }});
}

}  // namespace hecs::cli
