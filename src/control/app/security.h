// hecs-control's transport security at start-up and on revocation (DESIGN §3): the PKI, the
// certificates of the REST API and of our MQTT identity, the broker's generated files, and what
// a revocation changes. Private to src/control/app.
#pragma once

#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/clock.h"
#include "common/net/http.h"
#include "common/net/mqtt.h"
#include "control/app/app.h"
#include "control/broker/broker.h"
#include "control/ca/ca.h"
#include "control/store/store.h"

namespace hecs::control::app {

// Revoked device ids, read on every up-message (Ingest), written on revocation. Thread-safe.
class RevokedSet {
 public:
  bool contains(const std::string& id) const;
  void replace(std::vector<std::string> ids);

 private:
  mutable std::shared_mutex mutex_;
  std::unordered_set<std::string> ids_;
};

struct Security {
  std::unique_ptr<ca::Pki> pki;
  bool master_key_created = false;
  std::string master_key_source;
  std::string master_key;             // raw bytes: also seals the audit checkpoint keys
  std::optional<net::HttpTls> https;  // unset with http_plain
  std::optional<net::MqttTls> mqtt;   // unset for a plain mqtt:// broker URL
  broker::BrokerConfig broker;        // the generated broker files
};

// Opens (or creates) the PKI, issues our service certificates and writes the broker's
// configuration, CRL and ACL. Errc as ca::Pki::open, broker::write_config.
Result<Security> prepare_security(const Config& config, const Clock& clock,
                                  store::EnrollmentStore& enrollments);

// Issues the REST API, MQTT client and broker certificates again when a third of their life
// is left (or their names changed), and copies the broker's into its directory.
Result<void> renew_service_certs(const Config& config, Security& security);

// Rewrites the broker's CRL and ACL from the store, and reloads the broker when its pid file
// names a running Mosquitto. Called at start, on each revocation and once a day (the CRL's
// next update is 30 days ahead: a broker left alone for that long refuses every device).
Result<void> refresh_revocations(const Security& security, const Clock& clock,
                                 store::EnrollmentStore& enrollments, RevokedSet& revoked,
                                 bool reload_broker);

}  // namespace hecs::control::app
