#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <sys/stat.h>

#include "agent/uplink/uplink.h"
#include "common/crypto/crypto.h"
#include "common/log.h"
#include "support/tempdir.h"

namespace hecs::agent::uplink {
namespace {

constexpr std::string_view kDevice = "4f1c2b9e-8d3a-4c55-9b7e-2a6f0c1d3e5b";
constexpr std::int64_t kNow = 1'800'000'000;

crypto::Ed25519Key key_from(char fill) {
  return *crypto::Ed25519Key::from_seed(std::string(32, fill));
}

proto::Keys keys_of(std::initializer_list<std::pair<std::string, char>> entries) {
  proto::Keys keys;
  for (const auto& [kid, fill] : entries) {
    keys.keys.push_back({kid, key_from(fill).public_key()});
  }
  return keys;
}

std::string signed_command(std::uint64_t seq, std::string_view kid = "k1", char key = 'a',
                           std::string type = "task", boost::json::object body = {}) {
  proto::Command command;
  command.id = "6a1e0c52-3f4b-4d8e-9a7c-5b2d1e0f3a4c";
  command.type = std::move(type);
  command.sub = std::string(kDevice);
  command.seq = seq;
  command.iat = kNow - 5;
  command.exp = kNow + 300;
  command.body = std::move(body);
  return proto::sign_command(command, kid, key_from(key));
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

class CommandGateTest : public ::testing::Test {
 protected:
  std::unique_ptr<CommandGate> open_gate() {
    auto gate = CommandGate::open(dir_.path(), std::string(kDevice));
    EXPECT_TRUE(gate) << gate.error().message;
    return gate ? std::move(*gate) : nullptr;
  }
  std::unique_ptr<CommandGate> enrolled_gate() {
    auto gate = open_gate();
    EXPECT_TRUE(gate->set_keys(keys_of({{"k1", 'a'}})));
    return gate;
  }
  Error open_error() {
    auto gate = CommandGate::open(dir_.path(), std::string(kDevice));
    EXPECT_FALSE(gate);
    return gate ? Error{} : gate.error();
  }

  test::TempDir dir_{"command-gate"};
};

TEST_F(CommandGateTest, AcceptsASignedCommandAndRaisesItsSeq) {
  auto gate = enrolled_gate();
  auto command = gate->accept(signed_command(7), kNow);
  ASSERT_TRUE(command) << command.error().message;
  EXPECT_EQ(command->seq, 7U);
  EXPECT_EQ(gate->last_seq(), 7U);
  EXPECT_EQ(read_file(dir_.path() / "command-seq"), "7\n");
}

TEST_F(CommandGateTest, RefusesEveryCommandUntilItHasKeys) {
  auto gate = open_gate();
  EXPECT_TRUE(gate->keys().empty());
  auto command = gate->accept(signed_command(1), kNow);
  ASSERT_FALSE(command);
  EXPECT_EQ(command.error().reason, proto::Refusal::unknown_key);
}

TEST_F(CommandGateTest, CountsEachRefusalUnderItsReason) {
  auto gate = enrolled_gate();
  ASSERT_TRUE(gate->accept(signed_command(5), kNow));
  const std::string valid = signed_command(6);
  const std::string unsigned_part = valid.substr(0, valid.rfind('.') + 1);
  gate->accept("not a jws", kNow);                   // malformed
  gate->accept(unsigned_part, kNow);                 // unsigned
  gate->accept(R"({"v":1,"type":"ack"})", kNow);     // unsigned
  gate->accept(signed_command(6, "k1", 'z'), kNow);  // bad_signature
  gate->accept(signed_command(6, "k9"), kNow);       // unknown_key
  gate->accept(signed_command(6), kNow + 301);       // expired
  gate->accept(signed_command(5), kNow);             // replayed
  gate->accept(signed_command(4), kNow);             // replayed
  auto other = CommandGate::open(dir_.path(), "0b3d5f7a-1c2e-4a6b-8d9f-e0c1a2b3d4e5");
  ASSERT_TRUE(other);
  (*other)->accept(signed_command(9), kNow);  // misaddressed, other gate

  EXPECT_EQ(gate->refused(proto::Refusal::malformed), 1U);
  EXPECT_EQ(gate->refused(proto::Refusal::unsigned_msg), 2U);
  EXPECT_EQ(gate->refused(proto::Refusal::bad_signature), 1U);
  EXPECT_EQ(gate->refused(proto::Refusal::unknown_key), 1U);
  EXPECT_EQ(gate->refused(proto::Refusal::expired), 1U);
  EXPECT_EQ(gate->refused(proto::Refusal::replayed), 2U);
  EXPECT_EQ(gate->refused(proto::Refusal::misaddressed), 0U);
  EXPECT_EQ((*other)->refused(proto::Refusal::misaddressed), 1U);
  EXPECT_EQ(gate->last_seq(), 5U);  // no refusal moved it
}

TEST_F(CommandGateTest, LogsARefusalWithItsReasonAndQuotedDetail) {
  auto gate = enrolled_gate();
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  sink->set_pattern("%v");
  auto logger = log::get("agent.uplink");
  logger->sinks().push_back(sink);
  gate->accept(signed_command(6, "k1", 'z'), kNow);
  logger->sinks().pop_back();
  EXPECT_EQ(out.str(),
            "command.refused reason=bad_signature total=1 detail=\"signature: does not verify\"\n");
}

TEST_F(CommandGateTest, RefusesAReplayAfterARestart) {
  const std::string command = signed_command(7);
  {
    auto gate = enrolled_gate();
    ASSERT_TRUE(gate->accept(command, kNow));
  }
  auto gate = open_gate();
  EXPECT_EQ(gate->last_seq(), 7U);
  auto again = gate->accept(command, kNow);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().reason, proto::Refusal::replayed);
  EXPECT_TRUE(gate->accept(signed_command(8), kNow));
}

TEST_F(CommandGateTest, StoresTheSeqOfAnAckToo) {
  {
    auto gate = enrolled_gate();
    ASSERT_TRUE(gate->accept(signed_command(9, "k1", 'a', "ack"), kNow));
  }
  EXPECT_EQ(open_gate()->last_seq(), 9U);
}

TEST_F(CommandGateTest, RefusesToOpenOnADamagedSeqFile) {
  enrolled_gate();
  const std::vector<std::string> texts = {"",
                                          "\n",
                                          "x\n",
                                          "-1\n",
                                          "12",
                                          "12 \n",
                                          "18446744073709551616\n",
                                          std::string(20000, '1') + "\n"};
  for (const auto& text : texts) {
    write_file(dir_.path() / "command-seq", text);
    const Error error = open_error();
    EXPECT_EQ(error.code, Errc::corrupt) << text;
    EXPECT_NE(error.message.find("command-seq"), std::string::npos) << error.message;
  }
}

TEST_F(CommandGateTest, RefusesToOpenOnADamagedKeysFile) {
  enrolled_gate();
  const std::string pk = crypto::base64url_encode(key_from('a').public_key());
  const std::vector<std::string> texts = {
      "", "{", "[]", R"({"keys":[]})",
      R"({"keys":[{"kid":"k1","public_key":")" + pk.substr(1) + R"("}]})"};
  for (const auto& text : texts) {
    write_file(dir_.path() / "command-keys.json", text);
    EXPECT_EQ(open_error().code, Errc::corrupt) << text;
  }
}

TEST_F(CommandGateTest, RefusesToOpenWithKeysButNoSeq) {
  enrolled_gate();
  std::filesystem::remove(dir_.path() / "command-seq");
  EXPECT_EQ(open_error().code, Errc::corrupt);
}

TEST_F(CommandGateTest, StoresKeysPrivatelyAndReadsThemBack) {
  const auto keys = keys_of({{"k1", 'a'}, {"k2", 'b'}});
  ASSERT_TRUE(open_gate()->set_keys(keys));
  struct stat st {};
  ASSERT_EQ(::stat((dir_.path() / "command-keys.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  EXPECT_EQ(read_file(dir_.path() / "command-seq"), "0\n");
  EXPECT_EQ(open_gate()->keys(), keys.keys);
}

TEST_F(CommandGateTest, SetKeysRefusesAnInvalidSet) {
  auto gate = open_gate();
  EXPECT_EQ(gate->set_keys(proto::Keys{}).error().code, Errc::invalid_input);
  EXPECT_EQ(gate->set_keys(proto::Keys{{{"k1", "short"}}}).error().code, Errc::invalid_input);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "command-keys.json"));
}

TEST_F(CommandGateTest, AKeysCommandReplacesTheKeysForGood) {
  auto gate = enrolled_gate();
  const auto rotated = keys_of({{"k2", 'b'}});
  auto command = gate->accept(signed_command(3, "k1", 'a', "keys", proto::to_json(rotated)), kNow);
  ASSERT_TRUE(command) << command.error().message;
  EXPECT_EQ(gate->keys(), rotated.keys);

  auto old_key = gate->accept(signed_command(4, "k1", 'a'), kNow);
  ASSERT_FALSE(old_key);
  EXPECT_EQ(old_key.error().reason, proto::Refusal::unknown_key);
  EXPECT_TRUE(gate->accept(signed_command(5, "k2", 'b'), kNow));

  auto reopened = open_gate();
  EXPECT_EQ(reopened->keys(), rotated.keys);
  EXPECT_EQ(reopened->last_seq(), 5U);
}

TEST_F(CommandGateTest, RefusesAKeysCommandWithABadBodyAndKeepsItsKeys) {
  auto gate = enrolled_gate();
  auto command = gate->accept(
      signed_command(3, "k1", 'a', "keys", boost::json::parse(R"({"keys":[]})").as_object()), kNow);
  ASSERT_FALSE(command);
  EXPECT_EQ(command.error().reason, proto::Refusal::malformed);
  EXPECT_EQ(gate->refused(proto::Refusal::malformed), 1U);
  EXPECT_EQ(gate->keys(), keys_of({{"k1", 'a'}}).keys);
  EXPECT_EQ(gate->last_seq(), 0U);
}

}  // namespace
}  // namespace hecs::agent::uplink
