// PeriodicJobs (periodic_jobs.h): hecs-control's timers and the work they post.
#include "control/app/periodic_jobs.h"

#include <chrono>
#include <vector>

#include <boost/asio/post.hpp>

#include "common/files.h"
#include "control/api/api.h"

namespace hecs::control::app {
namespace asio = boost::asio;

namespace {
constexpr std::int64_t kPresenceRetentionMs = std::int64_t{30} * 24 * 3600 * 1000;
}  // namespace

PeriodicJobs::PeriodicJobs(JobDeps deps)
    : d_(std::move(deps)),
      scheduler_(d_.schedules, d_.task_service, d_.clock, api::parse_task_request),
      prune_timer_(d_.io),
      schedule_timer_(d_.io),
      audit_timer_(d_.io),
      checkpoint_timer_(d_.io),
      maintenance_timer_(d_.io) {}

void PeriodicJobs::start() {
  schedule_prune();
  schedule_schedules();
  schedule_audit();
  if (d_.database.backend() == db::Backend::sqlite) {
    schedule_checkpoint();
  }
  if (d_.security.mqtt) {
    mqtt_cert_pem_ = files::read_small(d_.security.mqtt->cert_file).value_or(std::string());
  }
  schedule_maintenance();
}

void PeriodicJobs::cancel() {
  prune_timer_.cancel();
  schedule_timer_.cancel();
  audit_timer_.cancel();
  maintenance_timer_.cancel();
  checkpoint_timer_.cancel();
}

void PeriodicJobs::schedule_prune() {
  prune_timer_.expires_after(std::chrono::minutes(1));
  prune_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) {
      return;
    }
    asio::post(d_.workers, [this] {
      auto cutoff =
          d_.clock.now_ms() - std::int64_t{d_.config.telemetry_window_hours} * 3600 * 1000;
      if (auto n = d_.telemetry.prune(cutoff); !n) {
        d_.log->warn("telemetry.prune_failed error={}", log::quoted(n.error().message));
      }
      // Online changes are a few rows a day per device: kept a fixed 30 days, longer than
      // the raw window, so the device page's history outlives its charts.
      if (auto n = d_.telemetry.prune_presence(d_.clock.now_ms() - kPresenceRetentionMs); !n) {
        d_.log->warn("presence.prune_failed error={}", log::quoted(n.error().message));
      }
      prune_tasks();
    });
    schedule_prune();
  });
}

// In transactions of kPruneBatch tasks (a task of 10,000 runs is one of them), up to
// kPruneBatches a minute: a backlog after the retention was shortened drains over minutes
// instead of holding the writer.
void PeriodicJobs::prune_tasks() {
  constexpr std::size_t kPruneBatch = 100;
  constexpr int kPruneBatches = 20;
  constexpr std::int64_t kDayMs = std::int64_t{86400} * 1000;
  const std::int64_t now = d_.clock.now_ms();
  auto drain = [&](const char* what, int days, auto prune) {
    if (days <= 0) {
      return;
    }
    std::size_t total = 0;
    for (int i = 0; i < kPruneBatches; ++i) {
      auto n = prune(now - days * kDayMs, kPruneBatch);
      if (!n) {
        d_.log->warn("{}.prune_failed error={}", what, log::quoted(n.error().message));
        return;
      }
      total += *n;
      if (*n < kPruneBatch) {
        break;
      }
    }
    if (total > 0) {
      d_.log->info("{}.pruned count={} older_than_days={}", what, total, days);
    }
  };
  drain("artifacts", d_.config.artifact_retention_days,
        [this](std::int64_t before, std::size_t limit) {
          return d_.tasks.prune_artifacts(before, limit);
        });
  drain("tasks", d_.config.task_retention_days,
        [this](std::int64_t before, std::size_t limit) { return d_.tasks.prune(before, limit); });
}

void PeriodicJobs::schedule_schedules() {
  schedule_timer_.expires_after(std::chrono::seconds(1));
  schedule_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) {
      return;
    }
    if (!scheduling_.exchange(true)) {
      asio::post(d_.workers, [this] {
        (void)scheduler_.tick();
        scheduling_ = false;
      });
    }
    schedule_schedules();
  });
}

void PeriodicJobs::schedule_audit() {
  audit_timer_.expires_after(std::chrono::seconds(d_.config.audit_checkpoint_seconds));
  audit_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) {
      return;
    }
    asio::post(d_.workers, [this] {
      auto tenants = d_.audit.tenants();
      for (const auto& tenant : tenants ? *tenants : std::vector<std::string>{}) {
        auto head = d_.audit.head(tenant);
        if (!head || head->first == signed_seq_[tenant]) {
          continue;
        }
        if (auto c = d_.signer.sign(tenant, head->first, head->second); c) {
          signed_seq_[tenant] = head->first;
        } else {
          d_.log->error("audit.checkpoint_failed tenant={} error={}", tenant,
                        log::quoted(c.error().message));
        }
      }
      asio::post(d_.io, [this] { schedule_audit(); });
    });
  });
}

void PeriodicJobs::schedule_checkpoint() {
  checkpoint_timer_.expires_after(std::chrono::seconds(1));
  checkpoint_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) {
      return;
    }
    asio::post(d_.workers, [this] {
      if (auto frames = d_.database.checkpoint(); !frames) {
        d_.log->warn("db.checkpoint_failed error={}", log::quoted(frames.error().message));
      }
    });
    schedule_checkpoint();
  });
}

void PeriodicJobs::schedule_maintenance() {
  maintenance_timer_.expires_after(std::chrono::hours(6));
  maintenance_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) {
      return;
    }
    asio::post(d_.workers, [this] {
      if (auto r = refresh_revocations(d_.security, d_.clock, d_.enrollments, d_.revoked, true);
          !r) {
        d_.log->error("pki.crl_refresh_failed error={}", log::quoted(r.error().message));
      }
      if (auto renewed = renew_service_certs(d_.config, d_.security); !renewed) {
        d_.log->error("pki.renew_failed error={}", log::quoted(renewed.error().message));
      } else {
        if (d_.security.https) {
          (void)d_.http.reload_tls(*d_.security.https);
        }
        // The MQTT client reads its certificate when made: a renewed one means a new
        // connection with it, before the old one expires.
        if (d_.security.mqtt) {
          auto pem = files::read_small(d_.security.mqtt->cert_file);
          if (pem && *pem != mqtt_cert_pem_) {
            if (auto r = d_.mqtt.reconnect_with_tls(*d_.security.mqtt); r) {
              mqtt_cert_pem_ = std::move(*pem);
            } else {
              d_.log->error("pki.mqtt_reload_failed error={}", log::quoted(r.error().message));
            }
          }
        }
      }
    });
    schedule_maintenance();
  });
}

}  // namespace hecs::control::app
