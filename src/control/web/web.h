// The admin panel (web/admin, built by Vite) served by hecs-control itself from web_root
// (DESIGN §8, docs/admin-panel.md). Sees plain net::Request / net::Response only.
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>

#include "common/net/http_types.h"
#include "common/result.h"

namespace hecs::control::web {

// The panel's HTML may load scripts, styles and data from its own origin only: no inline
// script, no framing, no plugin, no <base>.
inline constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

// Files beneath one directory, answered to GET and HEAD:
// - a file under assets/ (Vite's content-hashed names) is cached for a year, immutable;
//   anything else, index.html included, is `no-cache`;
// - a path without a file extension that names no file, asked for by a client that accepts
//   text/html (a browser's navigation), is the single-page app's own route: index.html
//   answers it (200), so every page of the panel has a URL;
// - other unknown paths are 404; a path with `.` or `..` segments, a backslash, a NUL or a
//   control character, or an encoded slash or backslash in the request target is 400; a hidden
//   file (a segment starting with '.') or a symlink leading out of the root is 404. Files are
//   opened with openat2(RESOLVE_BENEATH), so no path, however spelled, reads outside the root.
// HTML carries the Content-Security-Policy above and the other security headers.
// Thread-safe: serve() may run on every worker thread at once.
class StaticSite {
 public:
  // Errc::not_found when `root` does not exist, Errc::invalid_input when it is not a
  // directory, Errc::unavailable when it cannot be opened.
  static Result<std::unique_ptr<StaticSite>> open(const std::filesystem::path& root);
  ~StaticSite();
  StaticSite(const StaticSite&) = delete;
  StaticSite& operator=(const StaticSite&) = delete;
  StaticSite(StaticSite&&) = delete;
  StaticSite& operator=(StaticSite&&) = delete;

  net::Response serve(const net::Request& request) const;
  const std::filesystem::path& root() const { return root_; }

 private:
  StaticSite(int root_fd, std::filesystem::path root) : root_fd_(root_fd), root_(std::move(root)) {}
  net::Response serve_index() const;
  int root_fd_;
  std::filesystem::path root_;
};

}  // namespace hecs::control::web
