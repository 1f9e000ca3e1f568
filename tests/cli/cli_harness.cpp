#include "cli/cli_harness.h"

#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

namespace hecs::cli::test {

ScopedEnv::ScopedEnv(const std::map<std::string, std::optional<std::string>>& vars) {
  for (const auto& [name, value] : vars) {
    const char* old = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe): test setup
    saved_[name] = old == nullptr ? std::nullopt : std::optional<std::string>(old);
    if (value) {
      ::setenv(name.c_str(), value->c_str(), 1);  // NOLINT(concurrency-mt-unsafe): tests
    } else {
      ::unsetenv(name.c_str());  // NOLINT(concurrency-mt-unsafe): tests
    }
  }
}

ScopedEnv::~ScopedEnv() {
  for (const auto& [name, value] : saved_) {
    if (value) {
      ::setenv(name.c_str(), value->c_str(), 1);  // NOLINT(concurrency-mt-unsafe): tests
    } else {
      ::unsetenv(name.c_str());  // NOLINT(concurrency-mt-unsafe): tests
    }
  }
}

Outcome run_cli(const std::vector<std::string>& args, const RunContext& context) {
  std::vector<std::string> storage{"hecsctl"};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  argv.reserve(storage.size() + 1);
  for (std::string& arg : storage) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  std::ostringstream out, err;
  Outcome outcome;
  outcome.exit_code = run(static_cast<int>(storage.size()), argv.data(), out, err, context);
  outcome.out = out.str();
  outcome.err = err.str();
  return outcome;
}

CannedHttpServer::CannedHttpServer(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listen_fd_, 16) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("cannot listen on 127.0.0.1:0");
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

CannedHttpServer::~CannedHttpServer() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
}

std::string CannedHttpServer::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::vector<RecordedRequest> CannedHttpServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

void CannedHttpServer::serve() {
  while (!stop_) {
    pollfd pfd{listen_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, 20) <= 0) {
      continue;
    }
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
      answer(fd);
      ::close(fd);
    }
  }
}

namespace {

// Fills the request line and headers of `recorded` from the head; returns the Content-Length.
std::size_t parse_head(const std::string& head, RecordedRequest& recorded) {
  std::size_t content_length = 0;
  std::istringstream lines(head);
  std::getline(lines, recorded.request_line);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    auto value = [&](std::size_t name_length) {
      std::size_t start = line.find_first_not_of(' ', name_length);
      return start == std::string::npos ? std::string() : line.substr(start);
    };
    if (::strncasecmp(line.c_str(), "Authorization:", 14) == 0) {
      recorded.authorization = value(14);
    } else if (::strncasecmp(line.c_str(), "Content-Type:", 13) == 0) {
      recorded.content_type = value(13);
    } else if (::strncasecmp(line.c_str(), "Content-Length:", 15) == 0) {
      content_length = std::stoul(value(15));
    }
  }
  if (!recorded.request_line.empty() && recorded.request_line.back() == '\r') {
    recorded.request_line.pop_back();
  }
  std::size_t first_space = recorded.request_line.find(' ');
  recorded.method = recorded.request_line.substr(0, first_space);
  recorded.target = recorded.request_line.substr(
      first_space + 1, recorded.request_line.rfind(' ') - first_space - 1);
  return content_length;
}

}  // namespace

bool CannedHttpServer::read_more(int fd, std::string& request) {
  while (!stop_) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 20) <= 0) {
      continue;
    }
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) {
      return false;
    }
    request.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  return false;
}

void CannedHttpServer::answer(int fd) {
  std::string request;
  while (request.find("\r\n\r\n") == std::string::npos) {
    if (!read_more(fd, request)) {
      return;
    }
  }
  std::size_t header_end = request.find("\r\n\r\n") + 4;
  RecordedRequest recorded;
  std::size_t content_length = parse_head(request.substr(0, header_end), recorded);
  while (request.size() < header_end + content_length) {
    if (!read_more(fd, request)) {
      return;
    }
  }
  recorded.body = request.substr(header_end, content_length);
  std::string target = recorded.target;
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(recorded);
  }
  CannedResponse response = handler_(target);
  if (response.status == 0) {  // hold the connection silently until the client gives up
    for (char byte = 0; !stop_;) {
      pollfd pfd{fd, POLLIN, 0};
      if (::poll(&pfd, 1, 20) > 0 && ::read(fd, &byte, 1) <= 0) {
        return;
      }
    }
    return;
  }
  std::string wire = "HTTP/1.1 " + std::to_string(response.status) +
                     " Canned\r\nContent-Type: " + response.content_type +
                     "\r\nContent-Length: " + std::to_string(response.body.size()) + "\r\n";
  for (const std::string& header : response.headers) {
    wire += header + "\r\n";
  }
  wire += "Connection: close\r\n\r\n" + response.body;
  for (std::size_t sent = 0; sent < wire.size();) {
    ssize_t n = ::send(fd, wire.data() + sent, wire.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      return;
    }
    sent += static_cast<std::size_t>(n);
  }
}

}  // namespace hecs::cli::test
