// DeviceStore::list and versions: the device list's filters, sorts and keyset pages
// (docs/api.md, "GET /api/v1/devices").
#include <cctype>
#include <charconv>
#include <deque>
#include <functional>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <soci/soci.h>

#include "control/store/device_row.h"
#include "control/store/store.h"

namespace hecs::control::store {
namespace {

// Light rows read per statement while a C++ filter (filter.keep) looks for a page.
constexpr long long kChunk = 1000;

const char* sort_column(DeviceSort sort) {
  switch (sort) {
    case DeviceSort::hostname:
      return "hostname";
    case DeviceSort::last_seen:
      return "last_seen";
    case DeviceSort::version:
      return "agent_version";
    case DeviceSort::state:
      return "state";
    case DeviceSort::id:
      break;
  }
  return "id";
}

// "%" + q with LIKE's wildcards escaped + "%", lower-cased like LOWER() on the column side.
std::string like_pattern(const std::string& q) {
  std::string pattern = "%";
  for (char c : q) {
    if (c == '%' || c == '_' || c == '\\') {
      pattern += '\\';
    }
    pattern += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  pattern += '%';
  return pattern;
}

Result<long long> parse_ms(const std::string& text) {
  long long n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || p != text.data() + text.size()) {
    return fail(Errc::invalid_input, "cursor: last_seen is not a number");
  }
  return n;
}

// A WHERE clause and the bindings of its values in placeholder order. The values live in the
// object, so it must outlive the statements bound to it. Placeholder names are all distinct on
// purpose: SQLite gives equal names one slot, and positional binding would then go wrong.
class Where {
 public:
  // fold_case: LOWER() both sides for PostgreSQL, whose LIKE is case-sensitive; SQLite's LIKE
  // already ignores ASCII case, and LOWER() there doubled the cost of a filtered count (one
  // string copy per row and column; bench/RESULTS.md, api).
  Where(const std::string& tenant_id, const DeviceFilter& filter, bool fold_case) {
    sql_ = " WHERE tenant_id = :tenant_id";
    text(tenant_id);
    if (filter.online) {
      sql_ += " AND online = :online";
      number(*filter.online ? 1 : 0);
    }
    if (!filter.q.empty()) {
      sql_ += fold_case ? " AND (LOWER(id) LIKE :q_id ESCAPE '\\' OR LOWER(hostname) LIKE "
                          ":q_hostname ESCAPE '\\')"
                        : " AND (id LIKE :q_id ESCAPE '\\' OR hostname LIKE :q_hostname ESCAPE "
                          "'\\')";
      text(like_pattern(filter.q));
      text(like_pattern(filter.q));
    }
    if (!filter.states.empty()) {
      sql_ += " AND state IN (";
      for (std::size_t i = 0; i < filter.states.size(); ++i) {
        sql_ += fmt::format("{}:state{}", i == 0 ? "" : ", ", i);
        text(filter.states[i]);
      }
      sql_ += ")";
    }
    if (filter.version) {
      sql_ += " AND agent_version = :version";
      text(*filter.version);
    }
  }
  Where(const Where&) = delete;
  Where& operator=(const Where&) = delete;
  Where(Where&&) = delete;
  Where& operator=(Where&&) = delete;
  ~Where() = default;

  // Rows strictly after (key, id) in the order of `sort`.
  Result<void> after(DeviceSort sort, bool descending, const std::string& key,
                     const std::string& id) {
    const char* op = descending ? "<" : ">";
    if (sort == DeviceSort::id) {
      sql_ += fmt::format(" AND id {} :after_id", op);
      text(id);
      return {};
    }
    const char* column = sort_column(sort);
    sql_ += fmt::format(
        " AND ({0} {1} :after_key OR ({0} = :after_key_again AND id {1} :after_id))", column, op);
    if (sort == DeviceSort::last_seen) {
      auto ms = parse_ms(key);
      if (!ms) {
        return tl::unexpected(ms.error());
      }
      number(*ms);
      number(*ms);
    } else {
      text(key);
      text(key);
    }
    text(id);
    return {};
  }

  const std::string& sql() const { return sql_; }
  void bind(soci::statement& statement) const {
    for (const auto& b : binds_) {
      b(statement);
    }
  }

 private:
  void text(std::string value) {
    const std::string& stored = texts_.emplace_back(std::move(value));
    binds_.emplace_back([&stored](soci::statement& s) { s.exchange(soci::use(stored)); });
  }
  void number(long long value) {
    const long long& stored = numbers_.emplace_back(value);
    binds_.emplace_back([&stored](soci::statement& s) { s.exchange(soci::use(stored)); });
  }

  std::string sql_;
  std::deque<std::string> texts_;  // a deque keeps the addresses of earlier values
  std::deque<long long> numbers_;
  std::vector<std::function<void(soci::statement&)>> binds_;
};

std::string order_by(DeviceSort sort, bool descending) {
  const char* dir = descending ? " DESC" : "";
  if (sort == DeviceSort::id) {
    return fmt::format(" ORDER BY id{}", dir);
  }
  return fmt::format(" ORDER BY {0}{1}, id{1}", sort_column(sort), dir);
}

std::uint64_t count_all(soci::session& sql, const Where& where) {
  long long total = 0;
  soci::statement count(sql);
  count.exchange(soci::into(total));
  where.bind(count);
  count.alloc();
  count.prepare("SELECT COUNT(*) FROM devices" + where.sql());
  count.define_and_bind();
  count.execute(true);
  return static_cast<std::uint64_t>(total);
}

// Without a C++ filter the database pages and counts alone.
Result<void> sql_page(soci::session& sql, const std::string& tenant_id, const DeviceFilter& filter,
                      bool fold_case, DevicePage& page) {
  Where where(tenant_id, filter, fold_case);
  if (!filter.after_id.empty()) {
    if (auto ok = where.after(filter.sort, filter.descending, filter.after_key, filter.after_id);
        !ok) {
      return ok;
    }
  }
  // One row past the page tells whether another page follows.
  const long long fetch = static_cast<long long>(filter.limit) + 1;
  detail::DeviceRow row;
  soci::statement select(sql);
  row.bind(select);
  where.bind(select);
  select.exchange(soci::use(fetch));
  select.alloc();
  select.prepare(detail::kDeviceColumns + where.sql() + order_by(filter.sort, filter.descending) +
                 " LIMIT :fetch");
  select.define_and_bind();
  select.execute();
  while (select.fetch()) {
    if (page.items.size() == filter.limit) {
      page.more = true;
      break;
    }
    page.items.push_back(row.get());
  }
  page.total = count_all(sql, Where(tenant_id, filter, fold_case));
  return {};
}

// With a C++ filter: the light columns (id, tags, sort key) of the rows after the cursor, in
// chunks of kChunk, until a page and one more row passed the filter. Appends the page's ids to
// `ids`; sets page.more.
Result<void> filtered_ids(soci::session& sql, const std::string& tenant_id,
                          const DeviceFilter& filter, bool fold_case, std::vector<std::string>& ids,
                          DevicePage& page) {
  const bool by_ms = filter.sort == DeviceSort::last_seen;
  std::string after_key = filter.after_key;
  std::string after_id = filter.after_id;
  for (bool done = false; !done;) {
    Where where(tenant_id, filter, fold_case);
    if (!after_id.empty()) {
      if (auto ok = where.after(filter.sort, filter.descending, after_key, after_id); !ok) {
        return ok;
      }
    }
    std::string id, tags, key_text;
    long long key_ms = 0;
    soci::statement select(sql);
    select.exchange(soci::into(id));
    select.exchange(soci::into(tags));
    if (by_ms) {
      select.exchange(soci::into(key_ms));
    } else {
      select.exchange(soci::into(key_text));
    }
    where.bind(select);
    select.exchange(soci::use(kChunk));
    select.alloc();
    select.prepare(fmt::format("SELECT id, tags, {} FROM devices{}{} LIMIT :chunk",
                               sort_column(filter.sort), where.sql(),
                               order_by(filter.sort, filter.descending)));
    select.define_and_bind();
    select.execute();
    long long read = 0;
    while (!done && select.fetch()) {
      ++read;
      after_id = id;
      after_key = by_ms ? std::to_string(key_ms) : key_text;
      if (filter.keep(id, tags)) {
        page.more = ids.size() == filter.limit;
        done = page.more;
        if (!done) {
          ids.push_back(id);
        }
      }
    }
    done = done || read < kChunk;
  }
  return {};
}

// The full rows of `ids`, in that order, one prepared statement for all.
void read_rows(soci::session& sql, const std::string& tenant_id,
               const std::vector<std::string>& ids, DevicePage& page) {
  detail::DeviceRow row;
  std::string wanted;
  soci::statement full(sql);
  row.bind(full);
  full.exchange(soci::use(tenant_id));
  full.exchange(soci::use(wanted));
  full.alloc();
  full.prepare(std::string(detail::kDeviceColumns) + " WHERE tenant_id = :tenant_id AND id = :id");
  full.define_and_bind();
  for (const auto& id : ids) {
    wanted = id;
    if (full.execute(true)) {
      page.items.push_back(row.get());
    }
  }
}

// The total with a C++ filter: the id and tags of every row the SQL filter keeps.
std::uint64_t count_kept(soci::session& sql, const std::string& tenant_id,
                         const DeviceFilter& filter, bool fold_case) {
  Where where(tenant_id, filter, fold_case);
  std::string id, tags;
  soci::statement all(sql);
  all.exchange(soci::into(id));
  all.exchange(soci::into(tags));
  where.bind(all);
  all.alloc();
  all.prepare("SELECT id, tags FROM devices" + where.sql());
  all.define_and_bind();
  all.execute();
  std::uint64_t total = 0;
  while (all.fetch()) {
    total += filter.keep(id, tags) ? 1 : 0;
  }
  return total;
}

Result<void> filtered_page(soci::session& sql, const std::string& tenant_id,
                           const DeviceFilter& filter, bool fold_case, DevicePage& page) {
  std::vector<std::string> ids;
  if (auto ok = filtered_ids(sql, tenant_id, filter, fold_case, ids, page); !ok) {
    return ok;
  }
  read_rows(sql, tenant_id, ids, page);
  page.total = count_kept(sql, tenant_id, filter, fold_case);
  return {};
}

}  // namespace

Result<DevicePage> DeviceStore::list(const std::string& tenant_id, const DeviceFilter& filter) {
  if (filter.limit == 0) {
    return fail(Errc::invalid_input, "list devices: limit must be at least 1");
  }
  DevicePage page;
  const bool fold_case = db_.backend() == db::Backend::postgresql;
  // One snapshot for the page and its total, so they agree while devices come and go.
  auto read = db_.read([&](soci::session& sql) -> Result<void> {
    return filter.keep ? filtered_page(sql, tenant_id, filter, fold_case, page)
                       : sql_page(sql, tenant_id, filter, fold_case, page);
  });
  if (!read) {
    return fail(std::move(read.error()), "list devices");
  }
  return page;
}

Result<std::vector<std::string>> DeviceStore::versions(const std::string& tenant_id,
                                                       std::size_t limit) {
  std::vector<std::string> out;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    std::string version;
    const long long most = static_cast<long long>(limit);
    soci::statement st =
        (sql.prepare << "SELECT DISTINCT agent_version FROM devices WHERE tenant_id = :t AND "
                        "agent_version <> '' ORDER BY agent_version LIMIT :limit",
         soci::use(tenant_id), soci::use(most), soci::into(version));
    st.execute();
    while (st.fetch()) {
      out.push_back(version);
    }
    return {};
  });
  if (!read) {
    return fail(std::move(read.error()), "list agent versions");
  }
  return out;
}

}  // namespace hecs::control::store
