// The admin panel's built files served from web_root (web.h): confined paths, types, cache headers.
#include <array>
#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"
#include "control/web/web.h"

namespace hecs::control::web {
namespace {

// The largest file served: the panel's biggest chunk is well under a megabyte.
constexpr std::size_t kMaxFileBytes = std::size_t{32} * 1024 * 1024;
constexpr std::string_view kAssetsPrefix = "assets/";

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&&) = delete;
  Fd& operator=(Fd&&) = delete;
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_;
};

// strerror() is not thread-safe; the system category's message is (strerror_r).
std::string errno_text(int e) { return std::error_code(e, std::generic_category()).message(); }

struct TypeOf {
  std::string_view extension;
  std::string_view content_type;
};
constexpr std::array kTypes{
    TypeOf{"html", "text/html; charset=utf-8"},
    TypeOf{"js", "text/javascript; charset=utf-8"},
    TypeOf{"mjs", "text/javascript; charset=utf-8"},
    TypeOf{"css", "text/css; charset=utf-8"},
    TypeOf{"json", "application/json"},
    TypeOf{"map", "application/json"},
    TypeOf{"webmanifest", "application/manifest+json"},
    TypeOf{"svg", "image/svg+xml"},
    TypeOf{"png", "image/png"},
    TypeOf{"jpg", "image/jpeg"},
    TypeOf{"jpeg", "image/jpeg"},
    TypeOf{"gif", "image/gif"},
    TypeOf{"webp", "image/webp"},
    TypeOf{"ico", "image/x-icon"},
    TypeOf{"woff", "font/woff"},
    TypeOf{"woff2", "font/woff2"},
    TypeOf{"txt", "text/plain; charset=utf-8"},
    TypeOf{"wasm", "application/wasm"},
};

// The extension of the last segment ("js" of "assets/index-1a2b.js"), "" for none.
std::string_view extension_of(std::string_view rel) {
  auto slash = rel.rfind('/');
  std::string_view name = slash == std::string_view::npos ? rel : rel.substr(slash + 1);
  auto dot = name.rfind('.');
  return dot == std::string_view::npos || dot == 0 ? std::string_view{} : name.substr(dot + 1);
}

std::string_view content_type_of(std::string_view rel) {
  std::string ext(extension_of(rel));
  for (char& c : ext) {
    c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  for (const auto& t : kTypes) {
    if (t.extension == ext) {
      return t.content_type;
    }
  }
  return "application/octet-stream";
}

// True when `raw` holds `escape` (lower case), ignoring ASCII case.
bool contains_escape(std::string_view raw, std::string_view escape) {
  for (std::size_t i = 0; i + escape.size() <= raw.size(); ++i) {
    bool same = true;
    for (std::size_t j = 0; j < escape.size() && same; ++j) {
      char c = raw[i + j];
      c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      same = c == escape[j];
    }
    if (same) {
      return true;
    }
  }
  return false;
}

// The path below the root that `request` names, "" for the root itself. Errc::invalid_input
// for a path no browser sends for a file of ours, Errc::not_found for a hidden file.
Result<std::string> relative_path(const net::Request& request) {
  std::string_view raw = request.target;
  raw = raw.substr(0, raw.find('?'));
  // An encoded slash would join segments after our checks; an encoded backslash or NUL has
  // no business in a file name.
  for (std::string_view escape : {"%2f", "%5c", "%00"}) {
    if (contains_escape(raw, escape)) {
      return fail(Errc::invalid_input, "encoded slash, backslash or NUL in the path");
    }
  }
  const std::string& path = request.path;
  if (path.empty() || path.front() != '/') {
    return fail(Errc::invalid_input, "the path must be absolute");
  }
  for (char c : path) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '\\') {
      return fail(Errc::invalid_input, "control character or backslash in the path");
    }
  }
  std::string rel = path.substr(1);
  std::string_view rest = rel;
  while (!rest.empty()) {
    auto slash = rest.find('/');
    std::string_view segment = rest.substr(0, slash);
    const bool last = slash == std::string_view::npos;
    rest = last ? std::string_view{} : rest.substr(slash + 1);
    if (segment.empty()) {
      if (last || rest.empty()) {
        break;  // a trailing slash: "/fleet/" is a route of the app
      }
      return fail(Errc::invalid_input, "empty segment in the path");
    }
    if (segment == "." || segment == "..") {
      return fail(Errc::invalid_input, "dot segment in the path");
    }
    if (segment.front() == '.') {
      return fail(Errc::not_found, "hidden file");
    }
  }
  return rel;
}

// Opens `rel` beneath the root: symlinks that stay beneath it are followed, anything that
// would leave it (.., an absolute symlink, a symlink pointing up, /proc magic links) fails.
int open_beneath(int root_fd, const std::string& rel) {
  struct open_how how {};
  how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(
      ::syscall(SYS_openat2, root_fd, rel.empty() ? "." : rel.c_str(), &how, sizeof how));
}

Result<std::string> read_all(int fd, std::size_t size) {
  if (size > kMaxFileBytes) {
    return fail(Errc::invalid_input, "file too large to serve");
  }
  std::string out(size, '\0');
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, out.data() + done, size - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return fail(Errc::unavailable, errno_text(errno));
    }
    if (n == 0) {
      break;  // the file shrank meanwhile
    }
    done += static_cast<std::size_t>(n);
  }
  out.resize(done);
  return out;
}

net::Response file_response(const std::string& rel, std::string body) {
  net::Response r;
  r.status = 200;
  r.content_type = std::string(content_type_of(rel));
  r.body = std::move(body);
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  if (rel.starts_with(kAssetsPrefix)) {
    r.headers.emplace_back("Cache-Control", "public, max-age=31536000, immutable");
  } else {
    r.headers.emplace_back("Cache-Control", "no-cache");
  }
  if (r.content_type.starts_with("text/html")) {
    r.headers.emplace_back("Content-Security-Policy", std::string(kContentSecurityPolicy));
    r.headers.emplace_back("X-Frame-Options", "DENY");
    r.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  }
  return r;
}

// A browser navigating to a page says it takes HTML; a script, curl or a scanner asking for
// /etc/passwd usually does not, and gets the 404 problem rather than the app's index.html.
bool wants_html(const net::Request& request) {
  const std::string* accept = request.header("accept");
  return accept != nullptr && contains_escape(*accept, "text/html");
}

net::Response not_found() { return net::problem(404, "not_found", "not found", "no such file"); }

}  // namespace

Result<std::unique_ptr<StaticSite>> StaticSite::open(const std::filesystem::path& root) {
  int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    const auto code = e == ENOENT    ? Errc::not_found
                      : e == ENOTDIR ? Errc::invalid_input
                                     : Errc::unavailable;
    return fail(code, fmt::format("web root {}: {}", root.string(), errno_text(e)));
  }
  return std::unique_ptr<StaticSite>(new StaticSite(fd, root));
}

StaticSite::~StaticSite() { ::close(root_fd_); }

// A route of the single-page app: its index.html answers.
net::Response StaticSite::serve_index() const {
  const std::string name = "index.html";
  Fd index(open_beneath(root_fd_, name));
  struct stat st {};
  if (!index || ::fstat(index.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return net::problem(404, "not_found", "not found", "the admin panel is not built");
  }
  auto body = read_all(index.get(), static_cast<std::size_t>(st.st_size));
  if (!body) {
    return net::problem(500, "internal", "internal error");
  }
  return file_response(name, std::move(*body));
}

net::Response StaticSite::serve(const net::Request& request) const {
  if (request.method != "GET" && request.method != "HEAD") {
    auto r = net::problem(405, "invalid_input", "method not allowed");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  auto rel = relative_path(request);
  if (!rel) {
    if (rel.error().code == Errc::not_found) {
      return not_found();
    }
    return net::problem(400, "invalid_input", "invalid request", rel.error().message);
  }
  std::string name = rel->empty() || rel->back() == '/' ? std::string() : *rel;
  if (name.empty()) {
    name = "index.html";
  }
  Fd file(open_beneath(root_fd_, name));
  struct stat st {};
  bool regular = file && ::fstat(file.get(), &st) == 0 && S_ISREG(st.st_mode);
  if (!regular) {
    const int e = file ? 0 : errno;
    if (e == EXDEV || e == ELOOP || e == EACCES || e == EPERM) {
      log::get("control.web")
          ->warn("web.refused path={} reason={}", log::quoted(request.path),
                 log::quoted(errno_text(e)));
      return not_found();
    }
    if (!extension_of(name).empty() || !wants_html(request)) {
      return not_found();
    }
    return serve_index();
  }
  auto body = read_all(file.get(), static_cast<std::size_t>(st.st_size));
  if (!body) {
    log::get("control.web")
        ->warn("web.unreadable path={} error={}", log::quoted(request.path),
               log::quoted(body.error().message));
    return body.error().code == Errc::invalid_input
               ? not_found()
               : net::problem(500, "internal", "internal error");
  }
  return file_response(name, std::move(*body));
}

}  // namespace hecs::control::web
