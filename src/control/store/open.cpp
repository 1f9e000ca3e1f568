#include <utility>

#include "control/store/store.h"

namespace hecs::control::store {

Result<std::unique_ptr<db::Database>> open_and_migrate(const db::Options& options) {
  auto database = db::Database::open(options);
  if (!database) {
    return fail(std::move(database.error()), "open database");
  }
  auto migrated = (*database)->migrate(migrations((*database)->backend()));
  if (!migrated) {
    return fail(std::move(migrated.error()), "open database");
  }
  return std::move(*database);
}

}  // namespace hecs::control::store
