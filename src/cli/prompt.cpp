#include "cli/prompt.h"

#include <array>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <iostream>

#include <fcntl.h>
#include <fmt/format.h>
#include <termios.h>
#include <unistd.h>

namespace hecs::cli {
namespace {

constexpr std::size_t kMaxSecretBytes = 4096;  // above the server's password limit
constexpr std::array kRestoringSignals{SIGINT, SIGTERM, SIGHUP, SIGQUIT};

// What a signal handler needs to give the terminal its echo back before hecsctl dies: a
// handler can reach nothing but globals.
// NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables)
volatile std::sig_atomic_t g_tty_fd = -1;
// NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables)
termios g_saved_termios{};

extern "C" void restore_terminal_and_reraise(int sig) {
  if (g_tty_fd >= 0) {
    ::tcsetattr(g_tty_fd, TCSAFLUSH, &g_saved_termios);  // async-signal-safe
  }
  (void)::signal(sig, SIG_DFL);  // nothing to do if these fail: we are on the way out
  (void)::raise(sig);
}

class Tty {
 public:
  explicit Tty(int fd) : fd_(fd) {}
  Tty(const Tty&) = delete;
  Tty& operator=(const Tty&) = delete;
  Tty(Tty&&) = delete;
  Tty& operator=(Tty&&) = delete;
  ~Tty() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

// Echo off for the lifetime of the object, and back on when a signal ends the process.
class EchoOff {
 public:
  explicit EchoOff(int fd) : fd_(fd) {
    if (::tcgetattr(fd, &saved_) != 0) {
      return;
    }
    g_saved_termios = saved_;
    g_tty_fd = fd;
    struct sigaction restore {};
    restore.sa_handler = &restore_terminal_and_reraise;
    sigemptyset(&restore.sa_mask);
    for (std::size_t i = 0; i < kRestoringSignals.size(); ++i) {
      ::sigaction(kRestoringSignals[i], &restore, &old_actions_[i]);
    }
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;  // the newline still shows, so the next output starts a line
    active_ = ::tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;
  EchoOff(EchoOff&&) = delete;
  EchoOff& operator=(EchoOff&&) = delete;
  ~EchoOff() {
    if (g_tty_fd < 0) {
      return;
    }
    if (active_) {
      ::tcsetattr(fd_, TCSAFLUSH, &saved_);
    }
    g_tty_fd = -1;
    for (std::size_t i = 0; i < kRestoringSignals.size(); ++i) {
      ::sigaction(kRestoringSignals[i], &old_actions_[i], nullptr);
    }
  }

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
  std::array<struct sigaction, kRestoringSignals.size()> old_actions_{};
};

}  // namespace

Result<std::string> read_secret_from_terminal(std::string_view prompt,
                                              std::string_view stdin_flag) {
  Tty tty(::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (tty.fd() < 0) {
    return fail(
        Errc::invalid_input,
        fmt::format("no terminal to ask for the password on: pass {} and pipe it in", stdin_flag));
  }
  if (::write(tty.fd(), prompt.data(), prompt.size()) < 0) {
    return fail(Errc::invalid_input, "cannot write to the terminal");
  }
  std::string line;
  bool ended = false;
  {
    EchoOff quiet(tty.fd());
    char c = 0;
    while (line.size() <= kMaxSecretBytes) {
      ssize_t n = ::read(tty.fd(), &c, 1);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0 || c == '\n') {
        ended = n == 1;
        break;
      }
      line += c;
    }
  }
  if (!ended && line.empty()) {
    return fail(Errc::invalid_input, "no password given");
  }
  if (line.size() > kMaxSecretBytes) {
    return fail(Errc::invalid_input, "the password is too long");
  }
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }
  return line;
}

Result<std::string> read_line(std::istream& in, std::string_view what) {
  std::string line;
  if (!std::getline(in, line)) {
    return fail(Errc::invalid_input, fmt::format("no {}: stdin ended", what));
  }
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }
  return line;
}

Result<bool> read_yes_no_from_terminal(std::string_view question) {
  Tty tty(::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (tty.fd() < 0 || ::write(tty.fd(), question.data(), question.size()) < 0) {
    return fail(Errc::invalid_input, "no terminal to ask on");
  }
  std::string line;
  char c = 0;
  while (line.size() < 64) {  // an answer, not a document
    ssize_t n = ::read(tty.fd(), &c, 1);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0 || c == '\n') {
      break;
    }
    line += c;
  }
  return !line.empty() && (line[0] == 'y' || line[0] == 'Y');
}

Result<bool> ask_yes_no(const RunContext& context, std::string_view question) {
  if (context.ask_yes_no) {
    return context.ask_yes_no(question);
  }
  if (!context.stderr_is_terminal) {
    return fail(Errc::invalid_input, "no terminal to ask on");
  }
  return read_yes_no_from_terminal(question);
}

std::istream& input_of(const RunContext& context) {
  return context.in != nullptr ? *context.in : std::cin;
}

Result<std::string> ask_secret(const RunContext& context, std::string_view prompt,
                               std::string_view stdin_flag) {
  auto secret = context.prompt_secret ? context.prompt_secret(prompt)
                                      : read_secret_from_terminal(prompt, stdin_flag);
  if (secret && secret->empty()) {
    return fail(Errc::invalid_input, "no password given");
  }
  return secret;
}

Result<std::string> ask_new_password(const RunContext& context, bool from_stdin,
                                     std::string_view whose, std::string_view stdin_flag) {
  if (from_stdin) {
    auto line = read_line(input_of(context), fmt::format("{} on stdin", whose));
    if (line && line->empty()) {
      return fail(Errc::invalid_input, fmt::format("{} on stdin is empty", whose));
    }
    return line;
  }
  std::string prompt(whose);
  if (!prompt.empty()) {
    prompt[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(prompt[0])));
  }
  auto first = ask_secret(context, prompt + ": ", stdin_flag);
  if (!first) {
    return first;
  }
  auto again = ask_secret(context, prompt + " again: ", stdin_flag);
  if (!again) {
    return again;
  }
  if (*first != *again) {
    return fail(Errc::invalid_input, "the two passwords differ");
  }
  return first;
}

}  // namespace hecs::cli
