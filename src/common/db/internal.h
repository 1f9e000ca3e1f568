// What db.cpp and migrate.cpp share. Private to src/common/db.
#pragma once

#include <cstdint>

#include "common/log.h"

namespace hecs::db::detail {

log::Logger& logger();  // "db"
std::int64_t now_ms();  // the system clock, unix ms

}  // namespace hecs::db::detail
