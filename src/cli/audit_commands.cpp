// hecsctl audit list|checkpoint|export|verify: the tenant's tamper-evident audit log (role
// admin). verify runs audit::verify here, on the records as fetched or exported, so a customer
// need not trust the server's own word that its log is intact.
#include <algorithm>
#include <set>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/audit_api.h"
#include "cli/audit_format.h"
#include "cli/commands.h"
#include "cli/identity_api.h"
#include "cli/json_view.h"
#include "cli/text.h"
#include "common/files.h"

namespace hecs::cli {

namespace json = boost::json;

namespace {

constexpr int kMaxLimit = 1000;  // the server's page-size cap
constexpr std::size_t kMaxCheckpointFileBytes = std::size_t{64} * 1024;

Result<std::string> my_tenant(HttpClient& http) {
  auto me = AuthApi(http).me();
  if (!me) {
    return tl::unexpected(std::move(me.error()));
  }
  return std::string(*get_string(*me, "tenant_id"));  // me() checked it
}

int audit_list(const AuditOptions& options, CommandEnv& env) {
  AuditQuery query{.action = options.action,
                   .actor = options.actor,
                   .outcome = options.outcome,
                   .limit = options.limit};
  std::int64_t now = env.context.clock.now_ms();
  for (const auto& [flag, text, slot] : {std::tuple{"--since", &options.since, &query.since_ms},
                                         std::tuple{"--until", &options.until, &query.until_ms}}) {
    if (text->empty()) {
      continue;
    }
    *slot = parse_time_or_ago(*text, now);
    if (!*slot) {
      env.err << fmt::format(
          "hecsctl: {}: want an RFC 3339 time (2026-11-25T18:00:00Z) or a duration ago (24h)\n",
          flag);
      return kExitUsage;
    }
  }
  AuditApi api(env.http);
  auto page = options.all ? api.list_all(query) : api.list_page(query);
  if (!page) {
    return report(env.err, page.error(), kExitFailure);
  }
  if (print_if_document(env, *page)) {
    return kExitOk;
  }
  const json::array& items = *get_array(*page, "items");  // checked by AuditApi
  if (items.empty()) {
    env.err << "no audit records match\n";
  } else {
    env.out << format_audit_table(items);
  }
  auto next = get_string(*page, "next_cursor");
  if (!options.all && env.context.stderr_is_terminal && next && !next->empty()) {
    env.err << fmt::format("showing {} records; there are more: use --all\n", items.size());
  }
  return kExitOk;
}

int audit_checkpoint(const AuditOptions& options, CommandEnv& env) {
  auto checkpoint = AuditApi(env.http).create_checkpoint();
  if (!checkpoint) {
    return report(env.err, checkpoint.error(), kExitFailure);
  }
  std::string text = json::serialize(audit::to_json(*checkpoint)) + "\n";
  std::filesystem::path saved;
  if (!options.save_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.save_dir, ec);
    saved = std::filesystem::path(options.save_dir) / checkpoint_file_name(*checkpoint);
    auto existing = files::read_small(saved, kMaxCheckpointFileBytes);
    if (existing && *existing != text) {  // a checkpoint is evidence: never overwrite one
      return report(env.err,
                    Error{Errc::conflict,
                          fmt::format("{} holds another checkpoint; not overwritten (the new one "
                                      "is on the server: audit checkpoints)",
                                      escape_for_terminal(saved.string()))},
                    kExitFailure);
    }
    if (!existing) {
      if (auto written = files::write_atomic(saved, text, 0644); !written) {
        return report(env.err, written.error(), kExitFailure);
      }
    }
  }
  if (print_if_document(env, audit::to_json(*checkpoint))) {
    return kExitOk;
  }
  env.out << fmt::format("signed checkpoint of tenant {}: seq {}, head {}, key {}, at {}\n",
                         escape_for_terminal(checkpoint->tenant_id), checkpoint->seq,
                         escape_for_terminal(checkpoint->head),
                         escape_for_terminal(checkpoint->key_id), format_utc(checkpoint->ts));
  if (!saved.empty()) {
    env.out << fmt::format("saved to {}\n", escape_for_terminal(saved.string()));
  }
  return kExitOk;
}

Result<audit::Bundle> fetch_bundle(HttpClient& http) {
  auto tenant = my_tenant(http);
  if (!tenant) {
    return tl::unexpected(std::move(tenant.error()));
  }
  return AuditApi(http).fetch_bundle(std::move(*tenant));
}

int audit_export(const AuditOptions& options, CommandEnv& env) {
  auto bundle = fetch_bundle(env.http);
  if (!bundle) {
    return report(env.err, bundle.error(), kExitFailure);
  }
  if (bundle->records.size() > audit::kMaxBundleRecords) {
    env.err << fmt::format("hecsctl: the log has {} records; a bundle holds at most {}\n",
                           bundle->records.size(), audit::kMaxBundleRecords);
    return kExitFailure;
  }
  std::string text = audit::to_json_text(*bundle);
  if (options.out == "-") {
    env.out << text << '\n';
    return kExitOk;
  }
  // 0600: the log names users, addresses and what they did.
  if (auto written = files::write_atomic(options.out, text + "\n", 0600); !written) {
    return report(env.err, written.error(), kExitFailure);
  }
  json::value summary = json::object{{"file", options.out},
                                     {"tenant_id", bundle->tenant_id},
                                     {"records", bundle->records.size()},
                                     {"checkpoints", bundle->checkpoints.size()},
                                     {"keys", bundle->keys.size()}};
  if (!print_if_document(env, summary)) {
    env.out << fmt::format(
        "exported {}, {} and {} of tenant {} to {}\n", count_of(bundle->records.size(), "record"),
        count_of(bundle->checkpoints.size(), "checkpoint"), count_of(bundle->keys.size(), "key"),
        escape_for_terminal(bundle->tenant_id), escape_for_terminal(options.out));
  }
  return kExitOk;
}

// The checkpoints saved by `audit checkpoint --save DIR` (every *.json in dir) that are of
// `tenant_id`; `skipped` counts those of other tenants.
Result<std::vector<audit::Checkpoint>> saved_checkpoints(const std::string& dir,
                                                         const std::string& tenant_id,
                                                         std::size_t& skipped) {
  std::error_code ec;
  std::filesystem::directory_iterator entries(dir, ec);
  if (ec) {
    return fail(Errc::invalid_input,
                fmt::format("--checkpoints {}: {}", escape_for_terminal(dir), ec.message()));
  }
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : entries) {
    if (entry.path().extension() == ".json" && entry.is_regular_file(ec)) {
      paths.push_back(entry.path());
    }
  }
  std::sort(paths.begin(), paths.end());  // messages name the same file on every run
  std::vector<audit::Checkpoint> found;
  for (const auto& path : paths) {
    std::string name = escape_for_terminal(path.string());
    auto text = files::read_small(path, kMaxCheckpointFileBytes);
    if (!text) {
      return fail(Errc::invalid_input, fmt::format("{}: {}", name, text.error().message));
    }
    boost::system::error_code json_ec;
    json::value document = json::parse(*text, json_ec);
    auto checkpoint = json_ec ? Result<audit::Checkpoint>(fail(Errc::invalid_input, "not JSON"))
                              : audit::checkpoint_from_json(document);
    if (!checkpoint) {
      return fail(Errc::invalid_input,
                  fmt::format("{}: not a checkpoint: {}", name, checkpoint.error().message));
    }
    if (checkpoint->tenant_id != tenant_id) {
      ++skipped;
      continue;
    }
    found.push_back(std::move(*checkpoint));
  }
  return found;
}

// The log to verify: the bundle file, or everything the server has. Reports its own errors and
// returns the exit code; `bundle` is filled on kExitOk.
int load_log(const AuditOptions& options, CommandEnv& env, audit::Bundle& bundle) {
  if (options.bundle.empty()) {
    auto fetched = fetch_bundle(env.http);
    if (!fetched) {
      return report(env.err, fetched.error(), kExitFailure);
    }
    bundle = std::move(*fetched);
    return kExitOk;
  }
  std::string name = escape_for_terminal(options.bundle);
  auto text = files::read_small(options.bundle, audit::kMaxBundleBytes + 1);
  if (!text) {
    return report(env.err,
                  Error{Errc::invalid_input,
                        fmt::format("cannot read the bundle {}: {}", name, text.error().message)},
                  kExitUsage);
  }
  auto parsed = audit::parse_bundle(*text);
  if (!parsed) {
    return report(env.err,
                  Error{Errc::corrupt, fmt::format("{} is not a readable audit bundle: {}", name,
                                                   parsed.error().message)},
                  kExitFailure);
  }
  bundle = std::move(*parsed);
  return kExitOk;
}

// Adds the checkpoints saved in --checkpoints DIR that the log does not hold already.
int add_saved_checkpoints(const AuditOptions& options, CommandEnv& env, audit::Bundle& bundle) {
  std::size_t skipped = 0;
  auto saved = saved_checkpoints(options.checkpoints_dir, bundle.tenant_id, skipped);
  if (!saved) {
    return report(env.err, saved.error(), kExitUsage);
  }
  for (audit::Checkpoint& checkpoint : *saved) {
    if (std::find(bundle.checkpoints.begin(), bundle.checkpoints.end(), checkpoint) ==
        bundle.checkpoints.end()) {
      bundle.checkpoints.push_back(std::move(checkpoint));
    }
  }
  if (skipped > 0) {
    env.err << fmt::format("hecsctl: note: skipped {} checkpoints of other tenants in {}\n",
                           skipped, escape_for_terminal(options.checkpoints_dir));
  }
  return kExitOk;
}

// The log's keys, only those named by --trust when it is given.
audit::KeyRing trusted_keys(const AuditOptions& options, const audit::KeyRing& keys,
                            std::ostream& err) {
  audit::KeyRing ring;
  std::set<std::string, std::less<>> trusted(options.trust.begin(), options.trust.end());
  for (const audit::PublicKey& key : keys) {
    if (options.trust.empty() || trusted.erase(key.key_id) > 0) {
      ring.push_back(key);
    }
  }
  for (const std::string& missing : trusted) {
    err << fmt::format("hecsctl: note: the trusted key {} is not among the {}'s keys\n",
                       escape_for_terminal(missing), options.bundle.empty() ? "server" : "bundle");
  }
  return ring;
}

// What an OK does not prove: records no checkpoint covers, keys nobody pinned.
void print_limits(const AuditOptions& options, const audit::Bundle& bundle,
                  const audit::Verification& result, std::ostream& err) {
  std::uint64_t covered = 0;
  for (const audit::Checkpoint& checkpoint : bundle.checkpoints) {
    covered = std::max(covered, checkpoint.seq);
  }
  if (bundle.checkpoints.empty()) {
    err << "hecsctl: note: no checkpoint covers the log, so this shows only that the chain is "
           "whole, not that it is the one hecs-control signed; save checkpoints with audit "
           "checkpoint --save DIR and pass --checkpoints DIR\n";
  } else if (result.records == covered + 1) {
    err << fmt::format(
        "hecsctl: note: record {} is newer than the last checkpoint, so no signature covers it "
        "yet\n",
        result.records);
  } else if (result.records > covered) {
    err << fmt::format(
        "hecsctl: note: records {}..{} are newer than the last checkpoint, so no signature "
        "covers them yet\n",
        covered + 1, result.records);
  }
  if (!options.bundle.empty() && options.trust.empty()) {
    err << "hecsctl: note: the bundle's own keys vouch only for themselves; pin the key ids you "
           "trust with --trust KEY_ID\n";
  }
}

int audit_verify(const AuditOptions& options, CommandEnv& env) {
  audit::Bundle bundle;
  if (int code = load_log(options, env, bundle); code != kExitOk) {
    return code;
  }
  if (!options.checkpoints_dir.empty()) {
    if (int code = add_saved_checkpoints(options, env, bundle); code != kExitOk) {
      return code;
    }
  }
  audit::KeyRing ring = trusted_keys(options, bundle.keys, env.err);
  audit::Verification result =
      audit::verify(bundle.tenant_id, bundle.records, bundle.checkpoints, ring);
  int code = result.ok ? kExitOk : kExitFailure;
  if (print_if_document(env, verification_document(bundle.tenant_id, result))) {
    return code;
  }
  if (!result.ok) {
    env.err << "hecsctl: " << describe_verification(bundle.tenant_id, result) << '\n';
    return code;
  }
  env.out << describe_verification(bundle.tenant_id, result) << '\n';
  print_limits(options, bundle, result, env.err);
  return code;
}

}  // namespace

void add_audit_commands(CLI::App& root, Invocation& inv, std::vector<Verb>& verbs) {
  CLI::App* audit = root.add_subcommand(
      "audit", "Read, checkpoint, export and verify the tenant's audit log (role admin)");
  audit->footer(
      "Every change and every refused call is a record, chained to the one before by\n"
      "SHA-256. A checkpoint is hecs-control's Ed25519 signature over the chain's head: keep\n"
      "checkpoints (audit checkpoint --save DIR) outside hecs-control, and audit verify then\n"
      "finds any record changed, inserted, reordered or deleted up to them.\n\n"
      "Example:\n  hecsctl audit list --since 24h --action keys.create\n"
      "  hecsctl audit checkpoint --save ~/hecs-checkpoints\n"
      "  hecsctl audit verify --checkpoints ~/hecs-checkpoints");
  audit->fallthrough(false);
  add_global_options(*audit, inv.global);
  AuditOptions& options = inv.audit;

  CLI::App* list = audit->add_subcommand("list", "List audit records, oldest first");
  list->add_option("--action", options.action, "only this action, such as keys.create")
      ->type_name("ACTION");
  list->add_option("--actor", options.actor, "only this actor: user:<id>, key:<id>, system")
      ->type_name("ACTOR");
  list->add_option("--outcome", options.outcome, "only success, failure or denied")
      ->check(CLI::IsMember({"success", "failure", "denied"}))
      ->type_name("OUTCOME");
  list->add_option("--since", options.since, "from this time: RFC 3339, or a duration ago (24h)")
      ->type_name("TIME");
  list->add_option("--until", options.until, "up to this time: RFC 3339, or a duration ago")
      ->type_name("TIME");
  list->add_option("--limit", options.limit, "records per page (default 100)")
      ->check(CLI::Range(1, kMaxLimit))
      ->type_name("N");
  list->add_flag("--all", options.all, "follow next_cursor and print every page");
  list->footer(
      "OUTCOME is success, failure or denied (refused for the caller's role or credential).\n"
      "TIME is UTC.\n\n"
      "Examples:\n  hecsctl audit list --since 2h --outcome denied\n"
      "  hecsctl audit list --all -o json | jq -r '.items[] | select(.action == "
      "\"auth.login_failed\") | .source'");
  add_global_options(*list, inv.global);
  verbs.push_back({list, [&options](CommandEnv& env) { return audit_list(options, env); }});

  CLI::App* checkpoint =
      audit->add_subcommand("checkpoint", "Have hecs-control sign the log's current head");
  checkpoint
      ->add_option("--save", options.save_dir,
                   "also save the checkpoint as DIR/<tenant>-<seq>.json (never overwritten)")
      ->type_name("DIR");
  checkpoint->footer(
      "A saved checkpoint is your evidence of what the log held at that time: keep it where\n"
      "hecs-control's operators cannot change it, and give the folder to audit verify\n"
      "--checkpoints. Run it from cron, for example daily.\n\n"
      "Example:\n  hecsctl audit checkpoint --save ~/hecs-checkpoints");
  add_global_options(*checkpoint, inv.global);
  verbs.push_back(
      {checkpoint, [&options](CommandEnv& env) { return audit_checkpoint(options, env); }});

  CLI::App* export_app = audit->add_subcommand(
      "export", "Write the whole log, its checkpoints and keys to a bundle file");
  export_app->add_option("--out", options.out, "the bundle file (mode 0600); - for stdout")
      ->required()
      ->type_name("FILE");
  export_app->footer(
      "The bundle (format hecs-audit-bundle-v1) is what audit verify --bundle checks\n"
      "offline, for instance by a customer or an auditor without access to hecs-control.\n\n"
      "Example:\n  hecsctl audit export --out audit-$(date +%F).json");
  add_global_options(*export_app, inv.global);
  verbs.push_back({export_app, [&options](CommandEnv& env) { return audit_export(options, env); }});

  CLI::App* verify =
      audit->add_subcommand("verify", "Check the log's chain and signed checkpoints");
  verify
      ->add_option("--bundle", options.bundle,
                   "check this file from audit export, offline, instead of the server's log")
      ->type_name("FILE");
  verify
      ->add_option("--checkpoints", options.checkpoints_dir,
                   "also check against the checkpoints saved in DIR by audit checkpoint --save")
      ->type_name("DIR");
  verify
      ->add_option("--trust", options.trust,
                   "accept only signatures of this key id; repeat for more (default: every key "
                   "the server or bundle lists)")
      ->allow_extra_args(false)
      ->type_name("KEY_ID");
  verify->footer(
      "Exit 0 when every record links to the one before, every checkpoint is signed by a\n"
      "trusted key, and the records match the checkpoints; exit 1, naming the first bad\n"
      "record, otherwise. Keys come from\n"
      "the server (GET /api/v1/audit/keys) or the bundle, and a bundle's own keys vouch only\n"
      "for themselves: whoever rewrote a log can re-sign it. Note the key id you saw when\n"
      "the log was fresh (audit checkpoint prints it) and pass it with --trust.\n\n"
      "Examples:\n  hecsctl audit verify --checkpoints ~/hecs-checkpoints\n"
      "  hecsctl audit verify --bundle audit-2026-11-25.json --trust 3f9a0c1d2e4b5a67");
  add_global_options(*verify, inv.global);
  verbs.push_back({verify, [&options](CommandEnv& env) { return audit_verify(options, env); },
                   [&options] { return options.bundle.empty(); }});
}

}  // namespace hecs::cli
