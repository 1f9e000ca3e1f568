#include "cli/task_follow.h"

#include <algorithm>
#include <csignal>
#include <thread>

#include <boost/json.hpp>

#include "cli/json_view.h"

namespace hecs::cli {

namespace json = boost::json;

namespace {

constexpr int kPageSize = 500;  // the server's largest
constexpr int kMaxRetries = 30;
constexpr std::chrono::milliseconds kRetryDelay{1000};
constexpr std::chrono::milliseconds kSleepSlice{50};

// A signal handler can reach nothing but globals.
// NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables)
volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void note_interrupt(int /*sig*/) { g_interrupted = 1; }

std::int64_t count_in(const json::value& task, std::string_view state) {
  const json::value* counts = get_object(task, "counts");
  auto n = counts == nullptr ? std::nullopt : get_number(*counts, state);
  return n && *n > 0 ? static_cast<std::int64_t>(*n) : 0;
}

bool is_transient(const Error& error) {
  return error.code == Errc::unavailable || error.code == Errc::timeout;
}

// One poll: the task with its counts, and the runs that became final since the previous poll.
struct Poll {
  json::value task;
  std::vector<json::value> fresh;
};

Result<Poll> poll_once(TasksApi& api, const std::string& task_id, FinalRuns& finals) {
  auto task = api.get(task_id);
  if (!task) {
    return tl::unexpected(task.error());
  }
  auto fresh = finals.take_new(*task);
  if (!fresh) {
    return tl::unexpected(fresh.error());
  }
  return Poll{std::move(*task), std::move(*fresh)};
}

Result<void> pass_on(const FollowHooks& hooks, const std::vector<json::value>& runs,
                     const InterruptFlag& interrupt) {
  for (const json::value& run : runs) {
    if (auto done = hooks.final_run(run); !done) {
      return done;
    }
    if (interrupt.raised()) {
      break;
    }
  }
  return {};
}

}  // namespace

struct InterruptFlag::Saved {
  struct sigaction previous {};
};

InterruptFlag::InterruptFlag() : saved_(std::make_unique<Saved>()) {
  g_interrupted = 0;
  struct sigaction note {};
  note.sa_handler = &note_interrupt;
  sigemptyset(&note.sa_mask);
  ::sigaction(SIGINT, &note, &saved_->previous);
}

InterruptFlag::~InterruptFlag() { ::sigaction(SIGINT, &saved_->previous, nullptr); }

bool InterruptFlag::raised() const { return g_interrupted != 0; }

void InterruptFlag::sleep(std::chrono::milliseconds duration) const {
  auto until = std::chrono::steady_clock::now() + duration;
  while (!raised()) {
    auto left = until - std::chrono::steady_clock::now();
    if (left <= std::chrono::milliseconds(0)) {
      return;
    }
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(left, kSleepSlice));
  }
}

Result<std::vector<json::value>> FinalRuns::take_new(const json::value& task) {
  std::vector<json::value> fresh;
  for (std::string_view state : kFinalRunStates) {
    std::int64_t& have = per_state_[std::string(state)];
    std::int64_t missing = count_in(task, state) - have;
    // A final state is never left, so its runs only ever grow: page through them until the
    // ones not seen yet are found. Newer ones can sit anywhere in dispatch order.
    RunQuery query{.state = std::string(state), .limit = kPageSize};
    while (missing > 0) {
      auto page = api_.runs_page(task_id_, query);
      if (!page) {
        return tl::unexpected(page.error());
      }
      for (const json::value& run : *get_array(*page, "items")) {
        auto device = get_string(run, "device");
        if (device && get_string(run, "state") == state && seen_.emplace(*device).second) {
          fresh.push_back(run);
          ++have;
          --missing;
        }
      }
      auto next = get_string(*page, "next");
      if (!next || next->empty() || std::string(*next) == query.after) {
        break;
      }
      query.after = std::string(*next);
    }
  }
  return fresh;
}

Result<json::value> follow_task(TasksApi& api, const std::string& task_id, const FollowHooks& hooks,
                                const InterruptFlag& interrupt, FollowEnd& end) {
  FinalRuns finals(api, task_id);
  int failures = 0;
  auto last_poll = std::chrono::milliseconds(0);
  for (bool first = true;; first = false) {
    if (!first) {
      interrupt.sleep(failures > 0 ? kRetryDelay : std::max(hooks.interval, last_poll));
    }
    if (interrupt.raised()) {
      end = FollowEnd::interrupted;
      return api.get(task_id);
    }
    auto started = std::chrono::steady_clock::now();
    auto poll = poll_once(api, task_id, finals);
    if (!poll) {
      if (is_transient(poll.error()) && ++failures <= kMaxRetries) {
        continue;
      }
      return tl::unexpected(poll.error());
    }
    failures = 0;
    if (auto passed = pass_on(hooks, poll->fresh, interrupt); !passed) {
      return tl::unexpected(passed.error());
    }
    RunTally tally = tally_of(poll->task);
    hooks.progress(tally);
    if (tally.finished() && poll->fresh.empty()) {
      end = FollowEnd::finished;
      return std::move(poll->task);
    }
    last_poll = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
  }
}

}  // namespace hecs::cli
