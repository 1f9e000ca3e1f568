// ArchiveWriter and JournalRunner (collect_source.h).
#include "agent/tasks/collect_source.h"

#include <csignal>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <optional>
#include <vector>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace hecs::agent::tasks {
namespace {

constexpr std::size_t kBlock = 64 * 1024;
constexpr std::size_t kMaxStderr = 16 * 1024;

struct EntryFree {
  void operator()(archive_entry* e) const noexcept { archive_entry_free(e); }
};

}  // namespace

struct ArchiveWriter::Sink {
  std::string& out;
  std::uint64_t max_bytes;
  bool over = false;
};

ArchiveWriter::ArchiveWriter(std::string prefix, std::uint64_t max_bytes, std::string& out)
    : prefix_(std::move(prefix)), sink_(std::make_unique<Sink>(Sink{out, max_bytes})) {}

ArchiveWriter::~ArchiveWriter() {
  if (archive_ != nullptr) {
    archive_write_free(archive_);
  }
}

Result<void> ArchiveWriter::check(int rc, std::string_view doing) {
  if (sink_->over) {
    return fail(Errc::invalid_input,
                fmt::format("the bundle is larger than collect_logs_max_bytes ({} bytes) "
                            "compressed: ask for fewer units, a later since or fewer paths",
                            sink_->max_bytes));
  }
  if (rc < ARCHIVE_WARN) {
    const char* why = archive_ != nullptr ? archive_error_string(archive_) : nullptr;
    return fail(Errc::unavailable,
                fmt::format("bundle: {}: {}", doing, why != nullptr ? why : "failed"));
  }
  return {};
}

Result<void> ArchiveWriter::open() {
  archive_ = archive_write_new();
  if (archive_ == nullptr) {
    return fail(Errc::unavailable, "bundle: out of memory");
  }
  auto write = [](struct archive* a, void* client, const void* buffer, size_t n) -> la_ssize_t {
    auto* sink = static_cast<Sink*>(client);
    if (sink->out.size() + n > sink->max_bytes) {
      sink->over = true;
      archive_set_error(a, EFBIG, "over collect_logs_max_bytes");
      return -1;
    }
    sink->out.append(static_cast<const char*>(buffer), n);
    return static_cast<la_ssize_t>(n);
  };
  if (auto r = check(archive_write_set_format_pax_restricted(archive_), "format"); !r) {
    return r;
  }
  if (auto r = check(archive_write_add_filter_gzip(archive_), "gzip"); !r) {
    return r;
  }
  (void)archive_write_set_bytes_in_last_block(archive_, 1);  // no padding to 10 KiB
  return check(archive_write_open2(archive_, sink_.get(), nullptr, write, nullptr, nullptr),
               "open");
}

Result<void> ArchiveWriter::add_file(const std::string& name, int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return fail(Errc::unavailable, fmt::format("bundle: {}: {}", name, std::strerror(errno)));
  }
  std::unique_ptr<archive_entry, EntryFree> entry(archive_entry_new());
  archive_entry_set_pathname(entry.get(), (prefix_ + name).c_str());
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_perm(entry.get(), 0644);
  archive_entry_set_size(entry.get(), st.st_size);
  archive_entry_set_mtime(entry.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  if (auto r = check(archive_write_header(archive_, entry.get()), name); !r) {
    return r;
  }
  std::vector<char> buffer(kBlock);
  off_t at = 0;
  while (at < st.st_size) {
    const auto want = static_cast<std::size_t>(std::min<off_t>(st.st_size - at, kBlock));
    const auto got = ::pread(fd, buffer.data(), want, at);
    if (got <= 0) {
      break;  // the file shrank: libarchive pads the entry with zeros
    }
    if (auto r = check(static_cast<int>(archive_write_data(archive_, buffer.data(),
                                                           static_cast<std::size_t>(got)) < 0
                                            ? ARCHIVE_FATAL
                                            : ARCHIVE_OK),
                       name);
        !r) {
      return r;
    }
    at += got;
  }
  return check(archive_write_finish_entry(archive_), name);
}

Result<void> ArchiveWriter::add_text(const std::string& name, const std::string& text) {
  std::unique_ptr<archive_entry, EntryFree> entry(archive_entry_new());
  archive_entry_set_pathname(entry.get(), (prefix_ + name).c_str());
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_perm(entry.get(), 0644);
  archive_entry_set_size(entry.get(), static_cast<la_int64_t>(text.size()));
  archive_entry_set_mtime(entry.get(), std::time(nullptr), 0);
  if (auto r = check(archive_write_header(archive_, entry.get()), name); !r) {
    return r;
  }
  if (archive_write_data(archive_, text.data(), text.size()) < 0) {
    return check(ARCHIVE_FATAL, name);
  }
  return check(archive_write_finish_entry(archive_), name);
}

Result<void> ArchiveWriter::close() {
  auto r = check(archive_write_close(archive_), "close");
  archive_write_free(archive_);
  archive_ = nullptr;
  return r;
}

namespace {

// A temporary file nobody else can open: created in `dir`, unlinked at once.
Result<Fd> spool(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::string name = (dir / "collect-XXXXXX").string();
  Fd fd(::mkostemp(name.data(), O_CLOEXEC));
  if (!fd) {
    return fail(Errc::unavailable,
                fmt::format("spool in {}: {}", dir.string(), std::strerror(errno)));
  }
  ::unlink(name.c_str());
  return fd;
}

bool write_all(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    auto w = ::write(fd, data, n);
    if (w <= 0) {
      return false;
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

struct Outcome {
  std::string start_error;  // journalctl could not run
  int status = 0;
  std::string stderr_text;
  bool truncated = false;
};

}  // namespace

Result<void> JournalRunner::add(ArchiveWriter& out, const std::string& unit, const std::string& dir,
                                std::string& manifest) const {
  auto file = spool(settings.scratch_dir);
  if (!file) {
    return tl::unexpected(file.error());
  }
  const std::uint64_t cap = settings.max_bytes * 4;  // raw text; logs compress far better
  std::vector<std::string> args = {settings.journalctl, "-u",        unit, "--since", since, "-o",
                                   "short-iso",         "--no-pager"};
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    return fail(Errc::unavailable, fmt::format("pipe: {}", std::strerror(errno)));
  }
  Fd out_r(out_pipe[0]), out_w(out_pipe[1]), err_r(err_pipe[0]), err_w(err_pipe[1]);
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_w.get(), 2);
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  Outcome outcome;
  const int rc = ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  out_w.reset();
  err_w.reset();
  std::uint64_t written = 0;
  if (rc != 0) {
    outcome.start_error = std::strerror(rc);
  } else {
    std::vector<char> buffer(kBlock);
    bool out_open = true, err_open = true, killed = false;
    std::optional<Error> stop;
    while (out_open || err_open) {
      if (!stop && std::chrono::steady_clock::now() >= deadline) {
        stop = Error{Errc::timeout, "the deadline passed while journalctl ran"};
      } else if (!stop && cancelled) {
        stop = Error{Errc::conflict, "cancelled"};
      }
      if ((stop || outcome.truncated) && !killed) {
        ::kill(pid, SIGKILL);
        killed = true;
      }
      struct pollfd fds[2] = {{out_open ? out_r.get() : -1, POLLIN, 0},
                              {err_open ? err_r.get() : -1, POLLIN, 0}};
      if (::poll(fds, 2, 100) < 0 && errno != EINTR) {
        break;
      }
      for (int i = 0; i < 2; ++i) {
        if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
          continue;
        }
        auto n = ::read(fds[i].fd, buffer.data(), buffer.size());
        if (n <= 0) {
          (i == 0 ? out_open : err_open) = false;
          continue;
        }
        const auto got = static_cast<std::size_t>(n);
        if (i == 1) {
          outcome.stderr_text.append(
              buffer.data(),
              std::min(got, kMaxStderr - std::min(kMaxStderr, outcome.stderr_text.size())));
        } else if (written + got > cap) {
          outcome.truncated = true;
        } else if (write_all(file->get(), buffer.data(), got)) {
          written += got;
        } else {
          stop = Error{Errc::unavailable, fmt::format("spool: {}", std::strerror(errno))};
        }
      }
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (stop) {
      return tl::unexpected(*stop);
    }
    outcome.status = status;
  }
  std::string trailer;
  if (!outcome.start_error.empty()) {
    trailer = fmt::format("[hecs: cannot run {}: {}]\n", settings.journalctl, outcome.start_error);
  } else {
    if (outcome.truncated) {
      trailer += fmt::format("[hecs: journal truncated after {} bytes]\n", written);
    } else if (WIFEXITED(outcome.status) && WEXITSTATUS(outcome.status) != 0) {
      trailer +=
          fmt::format("[hecs: journalctl exited with status {}]\n", WEXITSTATUS(outcome.status));
    } else if (WIFSIGNALED(outcome.status)) {
      trailer += fmt::format("[hecs: journalctl killed by signal {}]\n", WTERMSIG(outcome.status));
    }
    if (!outcome.stderr_text.empty()) {
      trailer += "[hecs: journalctl stderr]\n" + outcome.stderr_text;
    }
  }
  if (!trailer.empty() && !write_all(file->get(), trailer.data(), trailer.size())) {
    return fail(Errc::unavailable, fmt::format("spool: {}", std::strerror(errno)));
  }
  manifest += fmt::format("journal {} ({} bytes{})\n", unit, written,
                          trailer.empty() ? "" : ", see the [hecs: …] lines at its end");
  return out.add_file(dir + unit + ".log", file->get());
}

}  // namespace hecs::agent::tasks
