// The REST API in process, on a real SQLite store, PKI and checkpoint signer, with a manual
// clock: requests go straight to Api::handle(), so tests can walk the route table itself.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "control/api/api.h"
#include "control/api/router.h"
#include "control/checkpoints/checkpoints.h"
#include "support/tempdir.h"

namespace hecs::control::api::test {

class ManualClock final : public Clock {
 public:
  std::int64_t now_ms() const override { return now; }
  std::int64_t now = std::int64_t{1'800'000'000} * 1000;
};

// How a request authenticates: a bearer credential, or a session cookie and its CSRF token.
struct Cred {
  std::string bearer;
  std::string cookie;
  std::string csrf;
};

struct Reply {
  int status = 0;
  boost::json::value body;  // null when the body is not JSON
  net::Response raw;
  std::string header(std::string_view name) const;
};

// A tenant as the tests use it: its id, an owner's session and a key of each role.
struct TenantCreds {
  std::string id;
  std::string owner_user_id;
  Cred owner_session;
  Cred viewer, operator_, admin, owner;  // API keys
};

class ApiFixture : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  Reply call(const std::string& method, const std::string& target, const Cred& cred,
             const std::string& body = "",
             std::vector<std::pair<std::string, std::string>> headers = {},
             const std::string& remote = "198.51.100.7:40000");
  Reply get(const std::string& target, const Cred& cred) { return call("GET", target, cred); }
  Reply post(const std::string& target, const Cred& cred, const boost::json::value& body) {
    return call("POST", target, cred, boost::json::serialize(body));
  }
  Reply login(const std::string& username, const std::string& password,
              const std::string& mode = "cookie", const std::string& remote = "198.51.100.7:40000");
  // The session of a successful cookie or token login.
  Cred session_of(const Reply& login_reply) const;
  // A key of `role` made in the tenant of `by`.
  Cred make_key(const Cred& by, const std::string& role, const std::string& name = "test");
  // A tenant with an owner user and a key of each role.
  TenantCreds make_tenant(const std::string& name);

  ::hecs::test::TempDir dir_{"api"};
  ManualClock clock_;
  std::unique_ptr<db::Database> db_;
  std::optional<store::IdentityStore> identities_;
  std::optional<store::DeviceStore> devices_;
  std::optional<store::TelemetryStore> telemetry_;
  std::optional<store::EnrollmentStore> enrollments_;
  std::optional<store::AuditStore> audit_;
  std::unique_ptr<ca::Pki> pki_;
  std::optional<ca::Enrolment> enrolment_;
  std::unique_ptr<checkpoints::Signer> signer_;
  metrics::Registry metrics_;
  // Tasks: commands the service sends are recorded here instead of published.
  boost::asio::io_context io_;
  boost::asio::thread_pool workers_{1};
  std::optional<store::TaskStore> task_store_;
  std::optional<store::GroupStore> groups_;
  std::optional<store::ScheduleStore> schedules_;
  std::unique_ptr<tasks::Service> tasks_;
  std::mutex sent_mutex_;
  std::vector<std::pair<std::string, std::string>> sent_;  // device, type
  devices::Events device_events_;  // device streams; tests notify it as ingest would
  std::unique_ptr<Api> api_;
  Cred super_;  // the bootstrap superadmin key of tenant "default"
  std::string default_tenant_;
  std::string admin_password_;
  std::string master_ = std::string(32, '\x42');
};

}  // namespace hecs::control::api::test
