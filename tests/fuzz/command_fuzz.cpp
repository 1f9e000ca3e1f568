// Fuzz target for signed down-messages (CONVENTIONS §9): whatever arrives on down/cmd,
// verify_command and parse_keys return a value and never crash, and what verify_command
// accepts is for this device, fresh and not replayed.
//
// Each input goes three ways:
//  1. as a whole message, through verify_command with a fixed keyring (what a broker could send);
//  2. as a payload, signed here with the fixed key first, so the fuzzer reaches the payload
//     parser that a forged message never reaches (what a buggy control plane could send);
//  3. as JSON, through parse_keys when it is an object.
//
// Built twice by CMakeLists.txt: by clang with libFuzzer (command_fuzz) and by g++ with
// replay_main.cpp (fuzz_replay_command, which runs the stored corpus in every unit test run).
// The corpus's signed tokens use the key below, device kDevice, seq 6 and exp 1800000300.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/parse.hpp>

#include "common/crypto/crypto.h"
#include "proto/proto.h"

namespace {

constexpr std::string_view kDevice = "4f1c2b9e-8d3a-4c55-9b7e-2a6f0c1d3e5b";
constexpr std::int64_t kNow = 1'800'000'000;
constexpr std::uint64_t kLastSeq = 5;

// A broken invariant, not an input problem: make libFuzzer keep the input and stop.
[[noreturn]] void invariant_broken() { std::abort(); }

const hecs::crypto::Ed25519Key& signing_key() {
  static const auto key = *hecs::crypto::Ed25519Key::from_seed(std::string(32, 'B'));
  return key;
}

const std::vector<hecs::proto::VerifyKey>& keyring() {
  static const std::vector<hecs::proto::VerifyKey> keys = {
      {"k1", signing_key().public_key()},
      {"k2", hecs::crypto::Ed25519Key::from_seed(std::string(32, 'C'))->public_key()},
  };
  return keys;
}

void check_keys(const boost::json::object& body) {
  auto keys = hecs::proto::parse_keys(body);
  if (!keys) {
    return;
  }
  auto again = hecs::proto::parse_keys(hecs::proto::to_json(*keys));
  if (!again || !(*again == *keys)) {
    invariant_broken();
  }
}

void check_message(std::string_view message) {
  const hecs::proto::VerifyContext context{kDevice, kNow, kLastSeq,
                                           hecs::proto::kDefaultMaxMessageBytes};
  auto command = hecs::proto::verify_command(message, keyring(), context);
  if (!command) {
    return;
  }
  if (command->sub != kDevice || command->seq <= kLastSeq || command->exp < kNow ||
      command->exp <= command->iat) {
    invariant_broken();
  }
  // What was accepted, signed again by us, is accepted again with the same fields.
  auto again = hecs::proto::verify_command(hecs::proto::sign_command(*command, "k1", signing_key()),
                                           keyring(),
                                           {kDevice, kNow, kLastSeq, static_cast<std::size_t>(-1)});
  if (!again || again->id != command->id || again->type != command->type ||
      again->seq != command->seq || again->iat != command->iat || again->exp != command->exp) {
    invariant_broken();
  }
  if (command->type == "keys") {
    check_keys(command->body);
  }
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  check_message(input);

  std::string signed_payload = hecs::crypto::base64url_encode(R"({"alg":"EdDSA","kid":"k1"})") +
                               "." + hecs::crypto::base64url_encode(input);
  const std::string signature = signing_key().sign(signed_payload);
  signed_payload += "." + hecs::crypto::base64url_encode(signature);
  check_message(signed_payload);

  boost::system::error_code ec;
  const boost::json::value value = boost::json::parse(input, ec);
  if (!ec && value.is_object()) {
    check_keys(value.get_object());
  }
  return 0;
}
