#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/net/http_types.h"
#include "control/web/web.h"
#include "support/tempdir.h"

namespace hecs::control::web {
namespace {

namespace fs = std::filesystem;

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

std::string header(const net::Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) {
      return v;
    }
  }
  return {};
}

// A built panel in a temp dir: index.html, a hashed asset, and a secret next to the root.
class StaticSiteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_file(root() / "index.html", "<!doctype html><title>panel</title>");
    write_file(root() / "assets" / "index-1a2b3c.js", "console.log('app')");
    write_file(root() / "assets" / "index-4d5e6f.css", "body{}");
    write_file(root() / "favicon.svg", "<svg/>");
    write_file(root() / ".env", "hidden");
    write_file(dir_.path() / "secret.txt", "top secret");
    auto site = StaticSite::open(root());
    ASSERT_TRUE(site) << site.error().message;
    site_ = std::move(*site);
  }

  fs::path root() const { return dir_.path() / "www"; }

  // A request as the HTTP server hands it over: `target` raw, `path` percent-decoded.
  net::Response get(const std::string& target, const std::string& method = "GET",
                    const std::string& accept = "text/html,application/xhtml+xml,*/*;q=0.8") {
    net::Request req;
    req.method = method;
    req.target = target;
    if (!accept.empty()) {
      req.headers.emplace_back("accept", accept);
    }
    auto decoded = net::url_decode(target.substr(0, target.find('?')), false);
    EXPECT_TRUE(decoded) << target;
    req.path = decoded ? *decoded : std::string();
    return site_->serve(req);
  }

  hecs::test::TempDir dir_{"web"};
  std::unique_ptr<StaticSite> site_;
};

TEST_F(StaticSiteTest, ServesIndexHtmlAtTheRootWithTheSecurityHeaders) {
  auto r = get("/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "<!doctype html><title>panel</title>");
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(header(r, "Cache-Control"), "no-cache");
  std::string csp = header(r, "Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-eval"), std::string::npos);
  EXPECT_EQ(header(r, "Referrer-Policy"), "no-referrer");
  EXPECT_EQ(header(r, "X-Frame-Options"), "DENY");
}

TEST_F(StaticSiteTest, ServesHashedAssetsAsImmutableWithTheirType) {
  auto js = get("/assets/index-1a2b3c.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.body, "console.log('app')");
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(header(js, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(header(js, "Content-Security-Policy"), "");
  auto css = get("/assets/index-4d5e6f.css?v=1");
  EXPECT_EQ(css.status, 200);
  EXPECT_EQ(css.content_type, "text/css; charset=utf-8");
  auto svg = get("/favicon.svg");
  EXPECT_EQ(svg.content_type, "image/svg+xml");
  EXPECT_EQ(header(svg, "Cache-Control"), "no-cache");
}

TEST_F(StaticSiteTest, HeadAnswersLikeGet) {
  auto r = get("/assets/index-1a2b3c.js", "HEAD");
  EXPECT_EQ(r.status, 200);  // the server sends the headers of this answer without the body
  EXPECT_EQ(r.body, "console.log('app')");
}

TEST_F(StaticSiteTest, AnswersAppRoutesWithIndexHtml) {
  for (const char* path :
       {"/fleet", "/fleet/", "/devices/3f6c1e2a-8b4d", "/admin/users", "/assets"}) {
    auto r = get(path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.body, "<!doctype html><title>panel</title>") << path;
    EXPECT_EQ(header(r, "Cache-Control"), "no-cache") << path;
    EXPECT_NE(header(r, "Content-Security-Policy"), "") << path;
  }
}

TEST_F(StaticSiteTest, AnswersUnknownPathsWith404WhenTheClientTakesNoHtml) {
  for (const char* accept : {"", "*/*", "application/json"}) {
    auto r = get("/etc/passwd", "GET", accept);
    EXPECT_EQ(r.status, 404) << accept;
    EXPECT_EQ(r.content_type, "application/problem+json") << accept;
  }
  EXPECT_EQ(get("/", "GET", "").status, 200);  // real files need no Accept
  EXPECT_EQ(get("/assets/index-1a2b3c.js", "GET", "*/*").status, 200);
}

TEST_F(StaticSiteTest, UnknownFilesWithAnExtensionAre404) {
  for (const char* path : {"/assets/index-000000.js", "/favicon.ico", "/robots.txt"}) {
    auto r = get(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.content_type, "application/problem+json") << path;
  }
}

TEST_F(StaticSiteTest, RefusesOtherMethods) {
  auto r = get("/index.html", "POST");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header(r, "Allow"), "GET, HEAD");
}

TEST_F(StaticSiteTest, RefusesDotSegmentsHoweverEncoded) {
  for (const char* target : {"/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt",
                             "/assets/%2E%2E/%2e%2e/secret.txt", "/./index.html", "/.."}) {
    auto r = get(target);
    EXPECT_EQ(r.status, 400) << target;
    EXPECT_EQ(r.body.find("top secret"), std::string::npos) << target;
  }
}

TEST_F(StaticSiteTest, RefusesEncodedSlashesBackslashesAndControlCharacters) {
  for (const char* target :
       {"/assets%2findex-1a2b3c.js", "/assets%2Findex-1a2b3c.js", "/..%2fsecret.txt",
        "/..%5csecret.txt", "/a\\b", "/a%0ab", "/a%7fb", "//etc/passwd"}) {
    auto r = get(target);
    EXPECT_EQ(r.status, 400) << target;
  }
}

TEST_F(StaticSiteTest, RefusesAnEncodedNulBeforeItReachesTheFileSystem) {
  net::Request req;
  req.method = "GET";
  req.target = "/index.html%00.js";
  req.path = std::string("/index.html\0.js", 15);  // as if a decoder had let it through
  EXPECT_EQ(site_->serve(req).status, 400);
}

TEST_F(StaticSiteTest, HidesDotFiles) {
  EXPECT_EQ(get("/.env").status, 404);
  EXPECT_EQ(get("/assets/.git/config").status, 404);
}

TEST_F(StaticSiteTest, RefusesSymlinksOutOfTheRoot) {
  fs::create_symlink(dir_.path() / "secret.txt", root() / "leak.txt");
  fs::create_symlink("../secret.txt", root() / "assets" / "up.js");
  fs::create_symlink(dir_.path(), root() / "outside");
  fs::create_symlink("/etc/passwd", root() / "passwd.txt");
  for (const char* path : {"/leak.txt", "/assets/up.js", "/outside/secret.txt", "/passwd.txt"}) {
    auto r = get(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.body.find("top secret"), std::string::npos) << path;
    EXPECT_EQ(r.body.find("root:"), std::string::npos) << path;
  }
  // A symlink to a directory outside, without an extension, is not the app's route either.
  EXPECT_EQ(get("/outside").status, 404);
}

TEST_F(StaticSiteTest, FollowsSymlinksThatStayBeneathTheRoot) {
  fs::create_symlink("index-1a2b3c.js", root() / "assets" / "latest.js");
  auto r = get("/assets/latest.js");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "console.log('app')");
}

TEST_F(StaticSiteTest, ServesNoSpecialFiles) {
  ASSERT_EQ(::mkfifo((root() / "pipe.txt").c_str(), 0600), 0);
  EXPECT_EQ(get("/pipe.txt").status, 404);  // and does not block on it
}

TEST(StaticSite, SaysWhenTheRootIsMissingOrNotADirectory) {
  hecs::test::TempDir dir("web");
  auto missing = StaticSite::open(dir.path() / "nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  write_file(dir.path() / "file", "x");
  auto file = StaticSite::open(dir.path() / "file");
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().code, Errc::invalid_input);
}

TEST(StaticSite, SaysThePanelIsNotBuiltWhenIndexHtmlIsMissing) {
  hecs::test::TempDir dir("web");
  auto site = StaticSite::open(dir.path());
  ASSERT_TRUE(site);
  net::Request req;
  req.method = "GET";
  req.target = req.path = "/fleet";
  req.headers.emplace_back("accept", "text/html");
  auto r = (*site)->serve(req);
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("not built"), std::string::npos);
}

}  // namespace
}  // namespace hecs::control::web
