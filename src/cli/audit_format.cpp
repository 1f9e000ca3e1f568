#include "cli/audit_format.h"

#include <cctype>
#include <cstdint>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/json_view.h"
#include "cli/text.h"

namespace hecs::cli {

namespace json = boost::json;

std::string format_audit_table(const json::array& items) {
  std::vector<std::vector<std::string>> rows{
      {"SEQ", "TIME (UTC)", "ACTOR", "ACTION", "TARGET", "OUTCOME", "SOURCE"}};
  for (const json::value& record : items) {
    auto seq = get_number(record, "seq");
    auto ts = get_number(record, "ts");
    rows.push_back({seq ? fmt::format("{}", static_cast<std::uint64_t>(*seq)) : "-",
                    ts ? format_utc(static_cast<std::int64_t>(*ts)) : "-",
                    text_or_dash(record, "actor"), text_or_dash(record, "action"),
                    text_or_dash(record, "target"), text_or_dash(record, "outcome"),
                    text_or_dash(record, "source")});
  }
  return align_rows(rows, "", "   ");
}

std::string describe_verification(std::string_view tenant_id, const audit::Verification& result) {
  std::string tenant = escape_for_terminal(tenant_id);
  if (result.ok) {
    return fmt::format("audit log of tenant {}: {}, {}: OK", tenant,
                       count_of(result.records, "record"),
                       count_of(result.checkpoints, "checkpoint"));
  }
  std::string line = fmt::format("audit log of tenant {} does not verify: {}", tenant,
                                 escape_for_terminal(result.reason));
  if (result.first_bad_seq) {
    line += fmt::format(" (first bad record: seq {})", *result.first_bad_seq);
  }
  return line;
}

json::value verification_document(std::string_view tenant_id, const audit::Verification& result) {
  return json::object{{"tenant_id", tenant_id},
                      {"ok", result.ok},
                      {"records", result.records},
                      {"checkpoints", result.checkpoints},
                      {"first_bad_seq", result.first_bad_seq ? json::value(*result.first_bad_seq)
                                                             : json::value(nullptr)},
                      {"reason", result.reason}};
}

std::string count_of(std::uint64_t n, std::string_view noun) {
  return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s");
}

std::string checkpoint_file_name(const audit::Checkpoint& checkpoint) {
  std::string tenant = checkpoint.tenant_id;
  for (char& c : tenant) {  // the tenant id is a UUID; anything else must not leave the folder
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-') {
      c = '_';
    }
  }
  return fmt::format("{}-{}.json", tenant, checkpoint.seq);
}

}  // namespace hecs::cli
