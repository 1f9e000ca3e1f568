// Human output for the audit log: the record table and what `audit verify` found. Every string
// from the server or a bundle is passed through escape_for_terminal().
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "common/audit/audit.h"

namespace hecs::cli {

// Columns SEQ, TIME (UTC), ACTOR, ACTION, TARGET, OUTCOME, SOURCE.
std::string format_audit_table(const boost::json::array& items);

// "audit log of tenant T: N records, M checkpoints: OK" when it verifies; else
// "audit log of tenant T does not verify: <reason> (first bad record: seq K)", without the
// parenthesis when only a checkpoint is bad. No line ending.
std::string describe_verification(std::string_view tenant_id, const audit::Verification& result);

// The verification as JSON for -o json|yaml: {"tenant_id","ok","records","checkpoints",
// "first_bad_seq"|null,"reason"}.
boost::json::value verification_document(std::string_view tenant_id,
                                         const audit::Verification& result);

// "1 record", "4 records": a count and its noun, in the plural unless it is one.
std::string count_of(std::uint64_t n, std::string_view noun);

// "<tenant>-<seq>.json": where `audit checkpoint --save DIR` puts a checkpoint.
std::string checkpoint_file_name(const audit::Checkpoint& checkpoint);

}  // namespace hecs::cli
