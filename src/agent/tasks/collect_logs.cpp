// collect-logs (collect_logs.h): path confinement (S26) and the bundle.
#include "agent/tasks/collect_logs.h"

#include <algorithm>
#include <cstring>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/tasks/collect_source.h"
#include "common/crypto/crypto.h"

namespace hecs::agent::tasks {
namespace {

constexpr int kMaxDepth = 8;
constexpr std::size_t kMaxFiles = 10000;

tl::unexpected<Error> invalid(std::string message) {
  return fail(Errc::invalid_input, std::move(message));
}

bool beneath(const std::filesystem::path& base, const std::filesystem::path& path) {
  auto [b, p] = std::mismatch(base.begin(), base.end(), path.begin(), path.end());
  return b == base.end() || (std::next(b) == base.end() && b->empty());
}

// One path given by the operator, opened beneath its allowed directory.
struct Confined {
  std::string shown;  // the resolved path
  Fd fd;
};

Result<Confined> confine(const std::string& path, std::string_view field,
                         const std::vector<std::filesystem::path>& allow) {
  std::error_code ec;
  auto real = std::filesystem::canonical(path, ec);
  if (ec) {
    return invalid(fmt::format("{} {}: {}", field, path, ec.message()));
  }
  for (const auto& dir : allow) {
    auto base = std::filesystem::canonical(dir, ec);
    if (ec || !beneath(base, real)) {
      continue;
    }
    Fd base_fd(::open(base.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!base_fd) {
      continue;
    }
    auto rel = real.lexically_relative(base);
    struct open_how how {};
    how.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    Fd fd(static_cast<int>(
        ::syscall(SYS_openat2, base_fd.get(), rel.empty() ? "." : rel.c_str(), &how, sizeof how)));
    if (!fd) {
      return invalid(fmt::format("{} {}: cannot open beneath {}: {}", field, path, base.string(),
                                 std::strerror(errno)));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))) {
      return invalid(fmt::format("{} {}: not a regular file or directory", field, path));
    }
    return Confined{real.string(), std::move(fd)};
  }
  if (real.string() != path) {
    return invalid(
        fmt::format("{} {}: resolves to {}, outside the directories collect-logs may "
                    "read (collect_logs_allow)",
                    field, path, real.string()));
  }
  return invalid(fmt::format(
      "{} {}: outside the directories collect-logs may read (collect_logs_allow)", field, path));
}

// Adds a directory's regular files, recursively, never following a symlink.
Result<void> add_tree(ArchiveWriter& out, int dir_fd, const std::string& shown, int depth,
                      std::size_t& files, std::string& manifest) {
  Fd copy(::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0));
  DIR* dir = copy ? ::fdopendir(copy.get()) : nullptr;
  if (dir == nullptr) {
    manifest += fmt::format("skipped {}: {}\n", shown, std::strerror(errno));
    return {};
  }
  (void)copy.release();  // the DIR owns it now
  std::vector<std::string> names;
  while (auto* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") {
      names.emplace_back(name);
    }
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    const auto child = shown + "/" + name;
    Fd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0) {
      manifest += fmt::format("skipped {}: {}\n", child,
                              errno == ELOOP ? "a symlink, not followed" : std::strerror(errno));
      continue;
    }
    if (S_ISDIR(st.st_mode) && depth < kMaxDepth) {
      if (auto r = add_tree(out, fd.get(), child, depth + 1, files, manifest); !r) {
        return r;
      }
    } else if (S_ISREG(st.st_mode)) {
      if (++files > kMaxFiles) {
        return invalid(fmt::format("more than {} files under the given paths", kMaxFiles));
      }
      if (auto r = out.add_file("files" + child, fd.get()); !r) {
        return r;
      }
      manifest += fmt::format("file {}\n", child);
    } else {
      manifest += fmt::format("skipped {}: not a regular file\n", child);
    }
  }
  return {};
}

}  // namespace

std::vector<proto::TaskResult> artifact_pieces(const std::string& task, const Bundle& bundle) {
  std::vector<proto::TaskResult> out;
  std::string_view rest = bundle.bytes;
  for (std::uint64_t at = 0; !rest.empty();) {
    const auto n = std::min(rest.size(), proto::kMaxArtifactChunkBytes);
    proto::TaskResult piece;
    piece.task = task;
    piece.artifact = proto::ArtifactChunk{
        bundle.name,     at, bundle.bytes.size(), bundle.sha256, std::string(rest.substr(0, n)),
        n == rest.size()};
    out.push_back(std::move(piece));
    rest.remove_prefix(n);
    at += n;
  }
  return out;
}

Result<Bundle> collect_logs(const std::string& task, const CollectRequest& request,
                            const CollectSettings& settings, const std::atomic<bool>& cancelled,
                            std::chrono::steady_clock::time_point deadline) {
  // Every path is confined before anything is read: a refused one collects nothing.
  std::vector<Confined> confined;
  for (std::size_t i = 0; i < request.paths.size(); ++i) {
    auto c = confine(request.paths[i], fmt::format("args.paths[{}]", i), settings.allow);
    if (!c) {
      return tl::unexpected(c.error());
    }
    confined.push_back(std::move(*c));
  }
  Bundle bundle;
  bundle.name = fmt::format("collect-logs-{}.tar.gz", task);
  ArchiveWriter out(fmt::format("collect-logs-{}/", task), settings.max_bytes, bundle.bytes);
  if (auto r = out.open(); !r) {
    return tl::unexpected(r.error());
  }
  std::string manifest = fmt::format("hecs collect-logs, task {}\nsince {}\n", task, request.since);
  const JournalRunner journal{settings, request.since, cancelled, deadline};
  for (const auto& log : settings.agent_logs) {
    Fd fd(::open(log.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (!fd) {
      if (log == settings.agent_logs.front()) {
        manifest += fmt::format("agent log {}: {}\n", log.string(), std::strerror(errno));
      }
      continue;
    }
    if (auto r = out.add_file("agent/" + log.filename().string(), fd.get()); !r) {
      return tl::unexpected(r.error());
    }
    manifest += fmt::format("agent log {}\n", log.string());
  }
  if (settings.agent_logs.empty()) {
    // Without a log file the agent logs to stderr, which systemd keeps in its unit's journal.
    if (auto r = journal.add(out, settings.agent_unit, "agent/", manifest); !r) {
      return tl::unexpected(r.error());
    }
  }
  for (const auto& unit : request.units) {
    if (auto r = journal.add(out, unit, "journal/", manifest); !r) {
      return tl::unexpected(r.error());
    }
  }
  std::size_t files = 0;
  for (auto& c : confined) {
    struct stat st {};
    (void)::fstat(c.fd.get(), &st);
    auto r = S_ISDIR(st.st_mode) ? add_tree(out, c.fd.get(), c.shown, 0, files, manifest)
                                 : out.add_file("files" + c.shown, c.fd.get());
    if (!r) {
      return tl::unexpected(r.error());
    }
    if (!S_ISDIR(st.st_mode)) {
      manifest += fmt::format("file {}\n", c.shown);
    }
    if (cancelled) {
      return fail(Errc::conflict, "cancelled");
    }
  }
  if (auto r = out.add_text("MANIFEST.txt", manifest); !r) {
    return tl::unexpected(r.error());
  }
  if (auto r = out.close(); !r) {
    return tl::unexpected(r.error());
  }
  bundle.sha256 = crypto::sha256_hex(bundle.bytes);
  return bundle;
}

}  // namespace hecs::agent::tasks
