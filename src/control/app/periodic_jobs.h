// hecs-control's periodic jobs (app.cpp starts them): telemetry pruning, cron schedules, audit
// checkpoints, SQLite's WAL checkpoint and certificate maintenance, each on a timer of the
// io_context with its work posted to the workers. Private to src/control/app.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "common/clock.h"
#include "common/log.h"
#include "common/mqtt/threaded_client.h"
#include "common/net/http.h"
#include "control/app/app.h"
#include "control/app/security.h"
#include "control/checkpoints/checkpoints.h"
#include "control/store/store.h"
#include "control/tasks/tasks.h"

namespace hecs::control::app {

// What the jobs use; all of it outlives the PeriodicJobs.
struct JobDeps {
  boost::asio::io_context& io;
  boost::asio::thread_pool& workers;
  const Config& config;
  const Clock& clock;
  log::Logger log;
  db::Database& database;
  store::TelemetryStore& telemetry;
  store::TaskStore& tasks;
  store::ScheduleStore& schedules;
  tasks::Service& task_service;
  store::AuditStore& audit;
  checkpoints::Signer& signer;
  Security& security;
  store::EnrollmentStore& enrollments;
  RevokedSet& revoked;
  net::HttpServer& http;
  mqtt::ThreadedClient& mqtt;
};

class PeriodicJobs {
 public:
  explicit PeriodicJobs(JobDeps deps);

  // Arms every timer (the WAL checkpoint only on SQLite). Call once, on the io_context's thread
  // or before it runs.
  void start();
  // Cancels the timers (shutdown); work already posted to the workers still runs.
  void cancel();

 private:
  // Raw telemetry older than the window, online changes older than 30 days, and tasks and
  // artifacts past their retention go once a minute.
  void schedule_prune();
  void prune_tasks();
  // Cron schedules (docs/tasks.md): due ones fire their task, once a second.
  void schedule_schedules();
  // Each tenant's chain head is signed when it moved, so that deleting the newest records, or
  // rewriting the whole chain, disagrees with a checkpoint kept outside the database (S45, S46).
  void schedule_audit();
  // SQLite's WAL is copied back into the database once a second on a worker, beside the ingest
  // writer (Options::background_checkpoint).
  void schedule_checkpoint();
  // Every six hours: a fresh CRL for the broker (its next update is 30 days ahead) and, when a
  // third of their life is left, new certificates for the REST API and our MQTT identity.
  void schedule_maintenance();

  JobDeps d_;
  tasks::Scheduler scheduler_;
  boost::asio::steady_timer prune_timer_;
  boost::asio::steady_timer schedule_timer_;
  boost::asio::steady_timer audit_timer_;
  boost::asio::steady_timer checkpoint_timer_;
  boost::asio::steady_timer maintenance_timer_;
  std::atomic<bool> scheduling_{false};
  std::unordered_map<std::string, std::uint64_t> signed_seq_;  // touched on workers only, in turn
  // The MQTT certificate the client holds now, to notice a renewal.
  std::string mqtt_cert_pem_;
};

}  // namespace hecs::control::app
