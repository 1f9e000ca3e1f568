// hecsctl run: create a task (POST /api/v1/tasks), then follow it and print each device's
// result as it arrives.
#include <fstream>
#include <sstream>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/json_view.h"
#include "cli/prompt.h"
#include "cli/task_api.h"
#include "cli/task_follow.h"
#include "cli/task_format.h"
#include "cli/task_request.h"
#include "cli/text.h"

namespace hecs::cli {

namespace json = boost::json;

namespace {

constexpr int kExitInterrupted = 130;  // what a shell reports for a command ended by SIGINT
constexpr std::int64_t kMinOutputCap = 1024;
constexpr std::int64_t kMaxOutputCap = std::int64_t{16} << 20;
// Without a terminal, a progress line at most this often (and one at the end).
constexpr std::chrono::seconds kPlainProgressEvery{5};
// Clears the line the progress bar is on.
constexpr std::string_view kClearLine = "\r\x1b[K";

Result<std::string> read_script(const RunOptions& options, const RunContext& context) {
  if (options.script.empty()) {
    return std::string();
  }
  std::ostringstream text;
  if (options.script == "-") {
    text << input_of(context).rdbuf();
  } else {
    std::ifstream file(options.script, std::ios::binary);
    if (!file) {
      return fail(Errc::invalid_input,
                  fmt::format("--script {}: cannot read it", escape_for_terminal(options.script)));
    }
    text << file.rdbuf();
  }
  return text.str();
}

// Creates the task; for a target over the server's confirm limit, asks the person at the
// terminal and creates it again with "confirm". Returns the exit code on failure.
Result<json::value> create_task(const RunOptions& options, std::string_view script, CommandEnv& env,
                                int& exit_code) {
  exit_code = kExitUsage;
  auto request = task_request(options, script, options.yes);
  if (!request) {
    return tl::unexpected(request.error());
  }
  TasksApi api(env.http);
  std::optional<std::int64_t> devices;
  auto task = api.create(*request, &devices);
  if (devices && !options.yes) {
    std::string count = *devices > 0 ? std::to_string(*devices) : std::string("these");
    auto yes = ask_yes_no(env.context, fmt::format("Run on {} devices? [y/N] ", count));
    if (!yes) {
      return fail(Errc::invalid_input,
                  fmt::format("the target has {} devices, more than the server runs without a "
                              "confirmation: pass --yes",
                              count));
    }
    if (!*yes) {
      return fail(Errc::invalid_input, "not run");
    }
    request = task_request(options, script, true);
    task = api.create(*request);
  }
  if (!task) {
    exit_code = task.error().code == Errc::invalid_input ? kExitUsage : kExitFailure;
  }
  return task;
}

// What the person sees while following: results on out, progress on err.
class Display {
 public:
  Display(CommandEnv& env, bool collect) : env_(env), collect_(collect) {}

  Result<void> final_run(TasksApi& api, const std::string& id, const json::value& run) {
    std::string device(get_string(run, "device").value_or(""));
    std::string state(get_string(run, "state").value_or(""));
    // Runs that ended without a result from the device may still have some output stored.
    bool maybe_output = state == "interrupted" || state == "expired";
    std::string out, err;
    for (auto [stream, text] : {std::pair{"stdout", &out}, std::pair{"stderr", &err}}) {
      auto bytes = get_number(run, std::string(stream) + "_bytes");
      if (!bytes || *bytes > 0 || maybe_output) {
        auto fetched = api.output(id, device, stream);
        if (!fetched) {
          return tl::unexpected(fetched.error());
        }
        *text = std::move(*fetched);
      }
    }
    if (collect_) {
      json::object item = run.as_object();
      item["stdout"] = out;
      item["stderr"] = err;
      runs_.push_back(std::move(item));
      return {};
    }
    clear_bar();
    env_.out << format_run_result(run, out, err) << std::flush;
    return {};
  }

  void progress(const RunTally& tally) {
    if (env_.context.stderr_is_terminal) {
      std::string bar = progress_bar(tally);
      if (bar != bar_) {
        bar_ = std::move(bar);
        env_.err << kClearLine << bar_ << std::flush;
      }
      return;
    }
    std::string text = progress_text(tally);
    auto now = std::chrono::steady_clock::now();
    if (text != last_text_ && (now - last_at_ >= kPlainProgressEvery || tally.finished())) {
      env_.err << "progress: " << text << "\n";
      last_text_ = std::move(text);
      last_at_ = now;
    }
  }

  void clear_bar() {
    if (!bar_.empty()) {
      env_.err << kClearLine << std::flush;
      bar_.clear();
    }
  }

  json::array take_runs() { return std::move(runs_); }

 private:
  CommandEnv& env_;
  bool collect_;
  json::array runs_;
  std::string bar_;
  std::string last_text_;
  std::chrono::steady_clock::time_point last_at_{};
};

int run_task(const RunOptions& options, CommandEnv& env) {
  auto script = read_script(options, env.context);
  if (!script) {
    return report(env.err, script.error(), kExitUsage);
  }
  int failed_exit = kExitUsage;
  auto task = create_task(options, *script, env, failed_exit);
  if (!task) {
    return report(env.err, task.error(), failed_exit);
  }
  std::string id(*get_string(*task, "id"));  // create() checked it
  auto total = get_number(*task, "total").value_or(0);
  if (options.detach) {
    if (!print_if_document(env, *task)) {
      env.out << fmt::format("task {} created on {} device{}\n", escape_for_terminal(id), total,
                             total == 1 ? "" : "s");
      env.err << fmt::format("follow it with: hecsctl tasks logs {} --follow\n",
                             escape_for_terminal(id));
    }
    return kExitOk;
  }
  env.err << fmt::format("task {} on {} device{}\n", escape_for_terminal(id), total,
                         total == 1 ? "" : "s");

  TasksApi api(env.http);
  Display display(env, env.global.output != "table");
  FollowHooks hooks{
      .progress = [&](const RunTally& tally) { display.progress(tally); },
      .final_run = [&](const json::value& run) { return display.final_run(api, id, run); }};
  FollowEnd end = FollowEnd::finished;
  Result<json::value> last = [&] {
    InterruptFlag interrupt;
    return follow_task(api, id, hooks, interrupt, end);
  }();
  display.clear_bar();
  if (!last) {
    return report(env.err, last.error(), kExitFailure);
  }
  if (env.global.output != "table") {
    print_document(json::object{{"task", *last}, {"runs", display.take_runs()}}, env.global.output,
                   env.out);
  }
  if (end == FollowEnd::interrupted) {
    env.err << fmt::format(
        "hecsctl: stopped following task {}; its runs go on. To cancel them: hecsctl tasks "
        "cancel {}\n",
        escape_for_terminal(id), escape_for_terminal(id));
    return kExitInterrupted;
  }
  RunTally tally = tally_of(*last);
  env.err << fmt::format("task {} {}: {}\n", escape_for_terminal(id), text_or_dash(*last, "state"),
                         counts_text(*last));
  return tally.not_ok() > 0 ? kExitFailure : kExitOk;
}

const CLI::Validator kSeconds(
    [](std::string& text) -> std::string {
      return parse_seconds(text) ? "" : "want seconds, or a duration such as 90s, 5m, 2h or 1d";
    },
    "");

}  // namespace

void add_run_command(CLI::App& root, Invocation& inv, std::vector<Verb>& verbs) {
  RunOptions& options = inv.run;
  CLI::App* run = root.add_subcommand("run", "Run a command, script or builtin on devices");
  add_global_options(*run, inv.global);
  // --timeout after the verb is the task's; the HTTP timeout goes before it.
  run->remove_option(run->get_option("--timeout"));

  auto target = run->add_option_group("Target", "exactly one of");
  target->add_option("--device", options.devices, "a device id; repeat for more")
      ->type_name("ID")
      ->allow_extra_args(false);
  target->add_option("--group", options.group, "a group's name")->type_name("NAME");
  target->add_option("--selector", options.selector, "a tag selector, such as 'site=berlin,!gpu'")
      ->type_name("SEL");

  run->add_option("--script", options.script, "run FILE (- for stdin) with --interpreter")
      ->type_name("FILE");
  run->add_option("--interpreter", options.interpreter,
                  "the program that runs --script, with its arguments: /bin/sh, \"python3 -u\"")
      ->type_name("PROG");
  run->add_option("--builtin", options.builtin, "an agent builtin")
      ->check(CLI::IsMember({"reboot", "restart-agent", "collect-logs", "inventory-refresh"}))
      ->type_name("NAME");
  run->add_flag("--confirm-reboot", options.confirm_reboot, "needed by --builtin reboot");
  run->add_option("--unit", options.units,
                  "with --builtin collect-logs: a journal unit to include; repeat for more")
      ->type_name("UNIT")
      ->allow_extra_args(false);
  run->add_option("--path", options.paths,
                  "with --builtin collect-logs: an absolute file or directory under the agent's "
                  "collect_logs_allow; repeat for more")
      ->type_name("PATH")
      ->allow_extra_args(false);
  run->add_option(
         "--since", options.since,
         "with --builtin collect-logs: journal entries since -<n>s|min|h|d|w (default -24h)")
      ->type_name("WHEN");

  run->add_option("--timeout", options.timeout, "kill a run after this long (default 300s)")
      ->check(kSeconds)
      ->type_name("S");
  run->add_option("--user", options.user, "run as this user (default: the agent's)")
      ->type_name("USER");
  run->add_option("--cwd", options.cwd, "absolute working directory (default /)")->type_name("DIR");
  run->add_option("--env", options.env, "an environment variable; repeat for more")
      ->type_name("K=V")
      ->allow_extra_args(false);
  run->add_option("--output-cap", options.output_cap,
                  "bytes of stdout and of stderr kept per run (default 1 MiB)")
      ->check(CLI::Range(kMinOutputCap, kMaxOutputCap))
      ->type_name("BYTES");
  auto* in_flight =
      run->add_option("--max-in-flight", options.max_in_flight, "at most N runs at a time")
          ->check(CLI::Range(1, 10000))
          ->type_name("N");
  run->add_option("--per-minute", options.per_minute, "start at most N runs a minute")
      ->check(CLI::Range(1, 100000))
      ->type_name("N")
      ->excludes(in_flight);
  run->add_option("--abort-percent", options.abort_percent,
                  "stop sending runs once more than P% of the finished ones failed")
      ->check(CLI::Range(0, 100))
      ->type_name("P");
  run->add_option("--abort-min", options.abort_min,
                  "with --abort-percent: only after M runs finished (default 1)")
      ->check(CLI::Range(1, 100000))
      ->type_name("M");
  run->add_option("--deadline", options.deadline,
                  "a run not started by then is expired (default 24h; 60s to 30d)")
      ->check(kSeconds)
      ->type_name("S");
  run->add_flag("-y,--yes", options.yes,
                "confirm a target larger than the server's tasks_confirm_above (default 50)");
  run->add_flag("--detach", options.detach, "print the task id and return without following");
  run->add_option("argv", options.argv, "the command and its arguments, after --")
      ->type_name("ARGV");
  run->footer(
      "Runs without a shell: write the command after --. Follows the task until every run\n"
      "ended, printing each device's result as it arrives (== <device> <state> exit=<code>\n"
      "(<duration>), then its stdout, and its stderr after -- stderr). Ctrl-C stops following;\n"
      "the task goes on (hecsctl tasks cancel ID stops it).\n"
      "Exit codes: 0 every run succeeded, 1 a run did not (failed, timed_out, interrupted,\n"
      "expired, cancelled) or a server or network error, 2 usage or a spec the server refused,\n"
      "130 stopped by Ctrl-C. With -o json|yaml: {\"task\", \"runs\"} at the end, each run with\n"
      "its \"stdout\" and \"stderr\".\n\n"
      "Examples:\n"
      "  hecsctl run --device 6f1c2a4e-0b1d-4c3e-9f8a-2b7d5e4c1a90 -- uname -a\n"
      "  hecsctl run --selector 'role=gateway,env!=lab' --max-in-flight 10 --abort-percent 20 \\\n"
      "      --timeout 10m -- /usr/local/bin/upgrade --check\n"
      "  hecsctl run --group berlin --script fix.sh --interpreter /bin/sh --yes --detach\n"
      "  hecsctl run --device <id> --builtin reboot --confirm-reboot\n"
      "  hecsctl run --device <id> --builtin collect-logs --unit ssh.service --since -2h\n"
      "      then: hecsctl tasks artifact ID --device <id> --out logs.tar.gz");
  verbs.push_back({run, [&options](CommandEnv& env) { return run_task(options, env); }});
}

}  // namespace hecs::cli
