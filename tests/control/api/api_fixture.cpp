#include "control/api/api_fixture.h"

#include <algorithm>
#include <cctype>

#include <boost/json.hpp>

#include "common/net/http_types.h"
#include "control/auth/auth.h"

namespace hecs::control::api::test {
namespace json = boost::json;

std::string Reply::header(std::string_view name) const {
  for (const auto& [k, v] : raw.headers) {
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return v;
    }
  }
  return {};
}

void ApiFixture::SetUp() {
  db::Options options;
  options.url = (dir_.path() / "control.db").string();
  auto opened = store::open_and_migrate(options);
  ASSERT_TRUE(opened) << opened.error().message;
  db_ = std::move(*opened);
  identities_.emplace(*db_);
  devices_.emplace(*db_);
  telemetry_.emplace(*db_);
  enrollments_.emplace(*db_);
  audit_.emplace(*db_);
  ca::Options pki_options;
  pki_options.dir = dir_.path() / "pki";
  pki_options.master_key = master_;
  auto pki = ca::Pki::open(pki_options, clock_);
  ASSERT_TRUE(pki) << pki.error().message;
  pki_ = std::move(*pki);
  auto boot = auth::bootstrap(*identities_, dir_.path(), clock_);
  ASSERT_TRUE(boot) << boot.error().message;
  ASSERT_TRUE(boot->admin_key && boot->admin_password);
  default_tenant_ = boot->tenant_id;
  super_.bearer = *boot->admin_key;
  admin_password_ = *boot->admin_password;
  enrolment_.emplace(*pki_, *enrollments_, clock_,
                     ca::EnrolmentOptions{default_tenant_, "mqtts://localhost:8883"},
                     [](const std::string&) {});
  auto signer = checkpoints::Signer::open(dir_.path() / "audit", master_, clock_);
  ASSERT_TRUE(signer) << signer.error().message;
  signer_ = std::move(*signer);
  Deps deps{*identities_, *devices_, *telemetry_, *enrollments_,      *audit_,
            *enrolment_,  metrics_,  clock_,      [] { return true; }};
  deps.checkpoints = signer_.get();
  task_store_.emplace(*db_);
  groups_.emplace(*db_);
  schedules_.emplace(*db_);
  tasks_ = std::make_unique<tasks::Service>(
      io_, workers_, *task_store_, *groups_, *devices_, metrics_, clock_,
      [this](const std::string& device, std::string_view type, boost::json::object) {
        std::lock_guard lock(sent_mutex_);
        sent_.emplace_back(device, std::string(type));
        return true;
      },
      [](const std::string&, std::vector<std::string>) {}, tasks::Limits{});
  deps.tasks = tasks_.get();
  deps.task_store = &*task_store_;
  deps.groups = &*groups_;
  deps.schedules = &*schedules_;
  deps.device_events = &device_events_;
  api_ = std::make_unique<Api>(std::move(deps));
}

void ApiFixture::TearDown() {
  api_.reset();
  workers_.join();  // the dispatcher's passes end before the stores go
  tasks_.reset();
}

Reply ApiFixture::call(const std::string& method, const std::string& target, const Cred& cred,
                       const std::string& body,
                       std::vector<std::pair<std::string, std::string>> headers,
                       const std::string& remote) {
  net::Request req;
  req.method = method;
  req.target = target;
  auto q = target.find('?');
  req.path = target.substr(0, q);
  if (q != std::string::npos) {
    std::string rest = target.substr(q + 1);
    while (!rest.empty()) {
      auto amp = rest.find('&');
      std::string pair = rest.substr(0, amp);
      rest = amp == std::string::npos ? "" : rest.substr(amp + 1);
      auto eq = pair.find('=');
      req.query.emplace_back(pair.substr(0, eq),
                             eq == std::string::npos ? "" : pair.substr(eq + 1));
    }
  }
  if (!cred.bearer.empty()) {
    req.headers.emplace_back("authorization", "Bearer " + cred.bearer);
  }
  if (!cred.cookie.empty()) {
    req.headers.emplace_back("cookie", "__Host-hecs_session=" + cred.cookie);
    if (!cred.csrf.empty()) {
      req.headers.emplace_back("x-csrf-token", cred.csrf);
    }
  }
  for (auto& h : headers) {
    req.headers.push_back(std::move(h));
  }
  req.body = body;
  req.remote = remote;
  Reply r;
  r.raw = api_->handle(req);
  r.status = r.raw.status;
  boost::system::error_code ec;
  auto v = json::parse(r.raw.body, ec);
  r.body = ec ? json::value(nullptr) : v;
  return r;
}

Reply ApiFixture::login(const std::string& username, const std::string& password,
                        const std::string& mode, const std::string& remote) {
  return call(
      "POST", "/api/v1/auth/login", {},
      json::serialize(json::object{{"username", username}, {"password", password}, {"mode", mode}}),
      {}, remote);
}

Cred ApiFixture::session_of(const Reply& r) const {
  Cred c;
  if (r.status != 201 || !r.body.is_object()) {
    ADD_FAILURE() << "login failed: " << r.status << " " << r.raw.body;
    return c;
  }
  c.csrf = std::string(r.body.at("csrf_token").as_string());
  if (const auto* token = r.body.as_object().if_contains("token")) {
    c.bearer = std::string(token->as_string());
    return c;
  }
  std::string cookie = r.header("Set-Cookie");
  auto eq = cookie.find('=');
  c.cookie = cookie.substr(eq + 1, cookie.find(';') - eq - 1);
  return c;
}

Cred ApiFixture::make_key(const Cred& by, const std::string& role, const std::string& name) {
  auto r = post("/api/v1/keys", by, json::object{{"name", name}, {"role", role}});
  if (r.status != 201) {
    ADD_FAILURE() << "key of role " << role << ": " << r.status << " " << r.raw.body;
    return {};
  }
  return Cred{std::string(r.body.at("key").as_string()), "", ""};
}

TenantCreds ApiFixture::make_tenant(const std::string& name) {
  TenantCreds t;
  const std::string owner = name + "-owner";
  const std::string password = "correct horse battery " + name;
  auto r = post("/api/v1/tenants", super_,
                json::object{{"name", name},
                             {"owner", json::object{{"username", owner}, {"password", password}}}});
  if (r.status != 201) {
    ADD_FAILURE() << "tenant " << name << ": " << r.status << " " << r.raw.body;
    return t;
  }
  t.id = std::string(r.body.at("id").as_string());
  t.owner_user_id = std::string(r.body.at("owner").at("id").as_string());
  t.owner_session = session_of(login(owner, password, "token"));
  t.owner = make_key(t.owner_session, "owner");
  t.admin = make_key(t.owner_session, "admin");
  t.operator_ = make_key(t.owner_session, "operator");
  t.viewer = make_key(t.owner_session, "viewer");
  return t;
}

}  // namespace hecs::control::api::test
