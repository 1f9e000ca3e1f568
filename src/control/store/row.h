// Helpers for SOCI rows shared by the store's files; private to src/control/store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <soci/soci.h>

#include "control/store/identity.h"
#include "control/store/tasks.h"

namespace hecs::control::store {

// A nullable BIGINT column read into an optional.
struct NullableInt {
  long long value = 0;
  soci::indicator indicator = soci::i_null;
  void bind(soci::statement& st) { st.exchange(soci::into(value, indicator)); }
  std::optional<std::int64_t> get() const {
    return indicator == soci::i_ok ? std::optional<std::int64_t>(value) : std::nullopt;
  }
};

// An optional written as a nullable BIGINT parameter.
struct NullableValue {
  explicit NullableValue(std::optional<std::int64_t> v)
      : value(v.value_or(0)), indicator(v ? soci::i_ok : soci::i_null) {}
  long long value;
  soci::indicator indicator;
};

// A prepared statement for `query` whose result columns go into `row` (Row::bind) and whose
// parameters are `params`, in order. They are all bound before SOCI defines the statement:
// binding after (as `statement st = (sql.prepare << …)` then bind would) crashes SOCI.
template <class Row, class... Params>
soci::statement select_into(soci::session& sql, Row& row, const std::string& query,
                            const Params&... params) {
  soci::statement st(sql);
  st.alloc();
  st.prepare(query);
  row.bind(st);
  (st.exchange(soci::use(params)), ...);
  st.define_and_bind();
  return st;
}

// Every row of `query` (select_into's Row, each taken into `out`), in one session.
template <class Row, class Out, class... Params>
Result<void> fetch_all(db::Database& db, const std::string& query, std::vector<Out>& out,
                       const Params&... params) {
  return db.with_session([&](soci::session& sql) -> Result<void> {
    Row row;
    auto st = select_into(sql, row, query, params...);
    st.execute();
    while (st.fetch()) {
      out.push_back(row.take());
    }
    return {};
  });
}

// In an open transaction (account_store.cpp).
void insert_user(soci::session& sql, const User& user);

// In the result writer's transaction (local_task_store.cpp): makes sure the task and run of a
// local schedule's fire exist for `item` (which has `local`). Refused (Errc::unauthorized) when
// the device is unknown or not accepted, or when the id names a task that is not this device's
// local run. Returns true when it made the task.
Result<bool> ensure_local_task(soci::session& sql, const ResultItem& item);

}  // namespace hecs::control::store
