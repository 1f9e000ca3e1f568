// Device events: a change counter per tenant, bumped after ingest or an enrolment decision has
// committed a change of a device's online state, hostname or enrolment state, and the live
// streams of GET /api/v1/devices/events waiting on it (docs/api.md), at most a set number open.
// The streams read what changed from the store (devices.changed_at); the counter only wakes them.
#pragma once

#include "common/change_hub.h"

namespace hecs::control::devices {

using Events = ChangeHub;  // keyed by tenant id

}  // namespace hecs::control::devices
