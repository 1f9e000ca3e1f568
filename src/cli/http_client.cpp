#include "cli/http_client.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

#include <curl/curl.h>
#include <fmt/format.h>

#include "cli/text.h"

namespace hecs::cli {
namespace {

constexpr std::size_t kMaxBodyBytes = 64u << 20;

// TODO: move the libcurl deleters to src/common/http when it exists (CONVENTIONS §7).
struct CurlFree {
  void operator()(CURL* curl) const noexcept { curl_easy_cleanup(curl); }
};
struct CurlSlistFree {
  void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};

struct BodySink {
  std::string* body = nullptr;
  bool too_large = false;
};

constexpr std::string_view kRetryAfter = "retry-after:";

std::unique_ptr<curl_slist, CurlSlistFree> header_list(const std::vector<std::string>& headers) {
  std::unique_ptr<curl_slist, CurlSlistFree> list;
  for (const std::string& header : headers) {
    curl_slist* grown = curl_slist_append(list.get(), header.c_str());
    if (grown == nullptr) {
      return nullptr;
    }
    if (!list) {  // appending to a list returns its head, which list already owns
      list.reset(grown);
    }
  }
  return list;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  std::size_t bytes = size * count;
  if (sink->body->size() + bytes > kMaxBodyBytes) {
    sink->too_large = true;
    return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
  }
  sink->body->append(data, bytes);
  return bytes;
}

// Keeps the Retry-After header: a throttled login says how long to wait.
std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  std::size_t bytes = size * count;
  std::string_view line(data, bytes);
  if (line.size() > kRetryAfter.size() &&
      std::equal(kRetryAfter.begin(), kRetryAfter.end(), line.begin(),
                 [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); })) {
    std::string_view value = line.substr(kRetryAfter.size());
    std::size_t start = value.find_first_not_of(" \t");
    std::size_t end = value.find_last_not_of(" \t\r\n");
    auto* retry_after = static_cast<std::string*>(user);
    *retry_after = start == std::string_view::npos
                       ? std::string()
                       : std::string(value.substr(start, end - start + 1).substr(0, 64));
  }
  return bytes;
}

std::string trusted_by(const std::string& ca_file) {
  return ca_file.empty() ? "the system trust store" : "the CA file " + escape_for_terminal(ca_file);
}

}  // namespace

struct HttpClient::Handles {
  std::unique_ptr<CURL, CurlFree> curl;
  std::unique_ptr<curl_slist, CurlSlistFree> headers;       // every request
  std::unique_ptr<curl_slist, CurlSlistFree> json_headers;  // requests with a JSON body
  std::array<char, CURL_ERROR_SIZE> error{};
};

std::string url_encode(std::string_view text) {
  std::string out;
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += fmt::format("%{:02X}", byte);
    }
  }
  return out;
}

HttpClient::HttpClient(Options options, std::unique_ptr<Handles> handles)
    : options_(std::move(options)), handles_(std::move(handles)) {}
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;
HttpClient::~HttpClient() = default;

Result<HttpClient> HttpClient::create(Options options) {
  static const CURLcode kGlobalInit = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (kGlobalInit != CURLE_OK) {
    return fail(Errc::internal, "libcurl failed to initialise");
  }
  auto handles = std::make_unique<Handles>();
  handles->curl.reset(curl_easy_init());
  if (!handles->curl) {
    return fail(Errc::internal, "libcurl failed to initialise");
  }
  std::vector<std::string> headers{"Accept: application/json, application/problem+json"};
  if (!options.api_key.empty()) {
    headers.push_back("Authorization: Bearer " + options.api_key);
  }
  handles->headers = header_list(headers);
  // "Expect:" keeps libcurl from waiting for a 100 Continue the server never sends.
  headers.insert(headers.end(), {"Content-Type: application/json", "Expect:"});
  handles->json_headers = header_list(headers);
  if (!handles->headers || !handles->json_headers) {
    return fail(Errc::internal, "out of memory");
  }

  CURL* curl = handles->curl.get();
  auto timeout_ms =
      static_cast<long>(options.timeout.count()) * 1000;  // NOLINT(google-runtime-int)
  // Redirects are not followed: the bearer key must not travel to another host.
  bool ok =
      curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
      curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
      curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
      curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms) == CURLE_OK &&
      curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, 10000L)) == CURLE_OK &&
      curl_easy_setopt(curl, CURLOPT_USERAGENT, "hecsctl/0.1") == CURLE_OK &&
      curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, handles->error.data()) == CURLE_OK &&
      curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_body) == CURLE_OK &&
      curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &on_header) == CURLE_OK;
  if (ok && !options.ca_file.empty()) {
    // Only this CA: no system directory of CAs next to it, so --ca-file pins the server.
    ok = curl_easy_setopt(curl, CURLOPT_CAINFO, options.ca_file.c_str()) == CURLE_OK &&
         curl_easy_setopt(curl, CURLOPT_CAPATH, nullptr) == CURLE_OK;
  }
  if (!ok) {
    return fail(Errc::internal, "libcurl rejected an option");
  }
  return HttpClient(std::move(options), std::move(handles));
}

Result<HttpResponse> HttpClient::get(std::string_view target) { return perform("GET", target, {}); }

Result<HttpResponse> HttpClient::post(std::string_view target, std::string_view json_body) {
  return perform("POST", target, json_body);
}

Result<HttpResponse> HttpClient::put(std::string_view target, std::string_view json_body) {
  return perform("PUT", target, json_body);
}

Result<HttpResponse> HttpClient::patch(std::string_view target, std::string_view json_body) {
  return perform("PATCH", target, json_body);
}

Result<HttpResponse> HttpClient::del(std::string_view target) {
  return perform("DELETE", target, {});
}

Result<HttpResponse> HttpClient::perform(std::string_view method, std::string_view target,
                                         std::string_view json_body) {
  CURL* curl = handles_->curl.get();
  std::string url = options_.base_url + std::string(target);
  HttpResponse response;
  BodySink sink{&response.body};
  handles_->error[0] = '\0';
  bool with_body = method == "POST" || method == "PUT" || method == "PATCH";
  // The handle is reused: HTTPGET resets whatever the previous request set.
  bool ok = curl_easy_setopt(curl, CURLOPT_URL, url.c_str()) == CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink) == CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.retry_after) == CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L) == CURLE_OK &&
            // GET and POST are libcurl's own; the others are named (PUT and PATCH send their body
            // as a POST would).
            curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST,
                             method == "DELETE"  ? "DELETE"
                             : method == "PUT"   ? "PUT"
                             : method == "PATCH" ? "PATCH"
                                                 : nullptr) == CURLE_OK &&
            curl_easy_setopt(curl, CURLOPT_HTTPHEADER,
                             with_body ? handles_->json_headers.get() : handles_->headers.get()) ==
                CURLE_OK;
  if (ok && with_body) {
    ok = curl_easy_setopt(curl, CURLOPT_POST, 1L) == CURLE_OK &&
         curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                          static_cast<curl_off_t>(json_body.size())) == CURLE_OK &&
         // Never a null pointer: libcurl would then read the body from stdin.
         curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json_body.empty() ? "" : json_body.data()) ==
             CURLE_OK;
  }
  if (!ok) {
    return fail(Errc::internal, "libcurl rejected the request");
  }
  CURLcode code = curl_easy_perform(curl);
  std::string server = escape_for_terminal(options_.base_url);
  std::string why = escape_for_terminal(handles_->error[0] != '\0' ? handles_->error.data()
                                                                   : curl_easy_strerror(code));
  switch (code) {
    case CURLE_OK:
      break;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return fail(Errc::unavailable, fmt::format("cannot connect to {}: {}", server, why));
    case CURLE_PEER_FAILED_VERIFICATION:
      return fail(Errc::unauthorized,
                  fmt::format("cannot verify the TLS certificate of {} with {}: {}; pass "
                              "--ca-file with the control plane's CA (DATA_DIR/pki/ca.pem)",
                              server, trusted_by(options_.ca_file), why));
    case CURLE_SSL_CACERT_BADFILE:
      return fail(Errc::invalid_input,
                  fmt::format("cannot load {}: {}; pass --ca-file with a PEM CA certificate",
                              trusted_by(options_.ca_file), why));
    case CURLE_SSL_CONNECT_ERROR:
      return fail(Errc::unavailable,
                  fmt::format("TLS handshake with {} failed: {} (for a server started with "
                              "--http-plain, use an http:// URL)",
                              server, why));
    case CURLE_GOT_NOTHING:
      if (options_.base_url.starts_with("http://")) {  // an HTTPS server hangs up on plain HTTP
        return fail(Errc::unavailable,
                    fmt::format("request to {} failed: {} (hecs-control serves HTTPS unless "
                                "started with --http-plain: try an https:// URL)",
                                server, why));
      }
      return fail(Errc::unavailable, fmt::format("request to {} failed: {}", server, why));
    case CURLE_OPERATION_TIMEDOUT:
      return fail(Errc::timeout,
                  fmt::format("no answer from {} within {}s", server, options_.timeout.count()));
    case CURLE_WRITE_ERROR:
      if (sink.too_large) {
        return fail(Errc::corrupt,
                    fmt::format("answer from {} is over {} MiB", server, kMaxBodyBytes >> 20));
      }
      [[fallthrough]];
    default:
      return fail(Errc::unavailable, fmt::format("request to {} failed: {}", server, why));
  }
  char* content_type = nullptr;
  if (curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status) != CURLE_OK ||
      curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &content_type) != CURLE_OK) {
    return fail(Errc::internal, "libcurl lost the response status");
  }
  response.content_type = content_type == nullptr ? "" : content_type;
  return response;
}

}  // namespace hecs::cli
