// The Executor's implementation (tasks.h), private to src/agent/tasks: the queue and the
// journal in executor.cpp, the start of a run (process, script, builtins) in executor_run.cpp,
// its output and its end in executor_output.cpp. Threading: the io_context's thread only, but
// for collect-logs, whose worker posts its bundle back to it.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "agent/tasks/collect_logs.h"
#include "agent/tasks/journal.h"
#include "agent/tasks/process.h"
#include "agent/tasks/tasks.h"
#include "agent/uplink/uplink.h"
#include "common/log.h"

namespace hecs::agent::tasks {

class ExecutorImpl final : public Executor {
 public:
  ExecutorImpl(boost::asio::io_context& io, uplink::Outbox& outbox, const Clock& clock, Hooks hooks,
               Options options, std::unique_ptr<Journal> journal);
  ~ExecutorImpl() override;

  Result<void> recover() override;
  bool on_command(const proto::Command& command) override;
  Result<bool> submit(proto::TaskSpec spec, const std::function<Result<void>()>& also) override;
  void stop() override;

  std::size_t running() const override { return runs_.size(); }
  std::size_t queued() const override { return queue_.size(); }

 private:
  struct Pending {
    std::string data;          // sanitised text not sent yet
    std::string carry;         // an incomplete UTF-8 sequence
    std::uint64_t offset = 0;  // offset of data[0] in the stream's text
  };

  struct Run {
    proto::TaskSpec spec;
    std::shared_ptr<Process> process;
    std::int64_t started_at = 0;
    Pending out, err;
    std::filesystem::path script;
    // "running" goes out with the first output flush, so a run that ends before it sends a
    // single message: its final state with its last piece of output.
    bool reported = false;
    // collect-logs: runs on a worker thread; its artifact commits with the final state.
    std::shared_ptr<std::atomic<bool>> cancel;
    std::vector<proto::TaskResult> artifact;
  };

  // executor.cpp: commands, the queue, the journal.
  void on_task(const proto::Command& command);
  // Journals a new task `queued` (with what `also` writes, in the same transaction) and starts
  // it when a slot is free.
  Result<void> enqueue(proto::TaskSpec spec, const std::function<Result<void>()>& also);
  void on_cancel(const proto::Command& command);
  // Starts queued tasks while there is room.
  void schedule();
  void start(proto::TaskSpec spec);
  // The final state with the journal's state, in one durable transaction, after what `before`
  // holds (the run's artifact pieces, the output not carried in the state): the control plane
  // never sees the state without them.
  Result<void> finish(const std::string& task, const proto::TaskResult& result,
                      const std::vector<proto::TaskResult>& before = {});
  Result<void> report_failed(const std::string& task, std::string error);

  // executor_run.cpp: the start of a run.
  Result<void> launch(Run& run);
  Result<void> spawn(Run& run, ProcessSpec ps);
  // Builtins without a process end here at once; those with one are spawned.
  Result<void> builtin(Run& run, ProcessSpec& ps);
  // collect-logs: checked here, collected on a worker thread, reported back on the loop.
  Result<void> collect(Run& run);
  void on_collected(const std::string& task, const Result<Bundle>& bundle);
  Result<std::filesystem::path> write_script(const proto::TaskSpec& spec);

  // executor_output.cpp: a run's output and its end.
  void on_output(const std::string& task, Stream stream, std::string_view data);
  // The buffered output of a run, in chunks of at most kMaxOutputChunkBytes.
  static std::vector<proto::TaskResult> take_output(const std::string& task, Run& run, bool final);
  // Sends a running run's buffered output, after its "running" if that is not out yet.
  void send_output(const std::string& task, Run& run);
  void arm_flush();
  void on_end(const std::string& task, const ProcessEnd& end);

  boost::asio::io_context& io_;
  uplink::Outbox& outbox_;
  const Clock& clock_;
  Hooks hooks_;
  Options options_;
  std::unique_ptr<Journal> journal_;
  boost::asio::steady_timer flush_timer_;
  log::Logger log_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::deque<proto::TaskSpec> queue_;
  std::map<std::string, Run> runs_;
  std::string restart_after_;
  bool flush_armed_ = false;
  bool stopping_ = false;
  std::unique_ptr<boost::asio::thread_pool> workers_;  // collect-logs, created on first use
};

}  // namespace hecs::agent::tasks
