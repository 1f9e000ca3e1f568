#include <string>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "common/crypto/crypto.h"
#include "proto/proto.h"

namespace hecs::proto {
namespace {

constexpr std::string_view kDevice = "4f1c2b9e-8d3a-4c55-9b7e-2a6f0c1d3e5b";
constexpr std::string_view kOtherDevice = "0b3d5f7a-1c2e-4a6b-8d9f-e0c1a2b3d4e5";
constexpr std::int64_t kNow = 1'800'000'000;

crypto::Ed25519Key key_from(char fill) {
  return *crypto::Ed25519Key::from_seed(std::string(32, fill));
}

struct Fixture {
  crypto::Ed25519Key key = key_from('a');
  std::vector<VerifyKey> keys{{"k1", key.public_key()}};
  VerifyContext context{kDevice, kNow, /*last_seq=*/10, kDefaultMaxMessageBytes};
};

Command make_command(std::uint64_t seq = 11) {
  Command command;
  command.id = "6a1e0c52-3f4b-4d8e-9a7c-5b2d1e0f3a4c";
  command.type = "ack";
  command.sub = std::string(kDevice);
  command.seq = seq;
  command.iat = kNow - 5;
  command.exp = kNow + 300;
  command.body =
      boost::json::parse(R"({"ids":["8e2f1a3b-5c4d-4e6f-a7b8-c9d0e1f2a3b4"]})").as_object();
  return command;
}

// A token with exactly these header and payload bytes, signed correctly: what a sender with
// the key (a buggy control plane) could produce, to reach the checks after the signature.
std::string sign_raw(std::string_view header, std::string_view payload,
                     const crypto::Ed25519Key& key) {
  std::string input = crypto::base64url_encode(header) + "." + crypto::base64url_encode(payload);
  return input + "." + crypto::base64url_encode(key.sign(input));
}

constexpr std::string_view kHeader = R"({"alg":"EdDSA","kid":"k1"})";

std::string payload_json(std::string_view fields_before_body, std::string_view body = "{}") {
  return std::string("{") + std::string(fields_before_body) + R"(,"body":)" + std::string(body) +
         "}";
}

constexpr std::string_view kFields =
    R"("v":1,"id":"6a1e0c52-3f4b-4d8e-9a7c-5b2d1e0f3a4c","type":"ack",)"
    R"("sub":"4f1c2b9e-8d3a-4c55-9b7e-2a6f0c1d3e5b","seq":11,"iat":1799999995,"exp":1800000300)";

Refusal refusal_of(const tl::expected<Command, Refused>& result) {
  EXPECT_FALSE(result) << "accepted";
  return result ? Refusal::malformed : result.error().reason;
}

TEST(VerifyCommand, AcceptsAFreshCommandForThisDeviceSignedWithAKnownKey) {
  Fixture f;
  const Command sent = make_command();
  auto got = verify_command(sign_command(sent, "k1", f.key), f.keys, f.context);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->v, 1);
  EXPECT_EQ(got->id, sent.id);
  EXPECT_EQ(got->type, "ack");
  EXPECT_EQ(got->sub, kDevice);
  EXPECT_EQ(got->seq, 11U);
  EXPECT_EQ(got->iat, sent.iat);
  EXPECT_EQ(got->exp, sent.exp);
  EXPECT_EQ(got->body, sent.body);
}

TEST(VerifyCommand, FindsTheKeyByKidAmongSeveral) {
  Fixture f;
  const auto second = key_from('b');
  f.keys.push_back({"k2", second.public_key()});
  EXPECT_TRUE(verify_command(sign_command(make_command(), "k2", second), f.keys, f.context));
}

TEST(VerifyCommand, RefusesSomethingThatIsNotAJwsAsMalformed) {
  Fixture f;
  for (std::string_view text : {"", "abc", "a.b", "a.b.c.d", "..", "a..", "!!.e30.AA"}) {
    EXPECT_EQ(refusal_of(verify_command(text, f.keys, f.context)), Refusal::malformed) << text;
  }
}

TEST(VerifyCommand, RefusesPlainJsonAsUnsigned) {
  Fixture f;
  auto got = verify_command(payload_json(kFields), f.keys, f.context);
  EXPECT_EQ(refusal_of(got), Refusal::unsigned_msg);
  EXPECT_EQ(refusal_of(verify_command("  {\"v\":1}", f.keys, f.context)), Refusal::unsigned_msg);
}

TEST(VerifyCommand, RefusesAlgNoneAsUnsigned) {
  Fixture f;
  const std::string token = crypto::base64url_encode(R"({"alg":"none"})") + "." +
                            crypto::base64url_encode(payload_json(kFields)) + ".";
  EXPECT_EQ(refusal_of(verify_command(token, f.keys, f.context)), Refusal::unsigned_msg);
}

TEST(VerifyCommand, RefusesAnEmptySignatureAsUnsigned) {
  Fixture f;
  const std::string token = sign_command(make_command(), "k1", f.key);
  const std::string stripped = token.substr(0, token.rfind('.') + 1);
  EXPECT_EQ(refusal_of(verify_command(stripped, f.keys, f.context)), Refusal::unsigned_msg);
}

TEST(VerifyCommand, RefusesAnUnknownKid) {
  Fixture f;
  auto got = verify_command(sign_command(make_command(), "k9", f.key), f.keys, f.context);
  EXPECT_EQ(refusal_of(got), Refusal::unknown_key);
}

TEST(VerifyCommand, RefusesASignatureFromAnotherKeyUnderAKnownKid) {
  Fixture f;
  auto got = verify_command(sign_command(make_command(), "k1", key_from('z')), f.keys, f.context);
  EXPECT_EQ(refusal_of(got), Refusal::bad_signature);
}

TEST(VerifyCommand, RefusesATamperedPayloadUnderTheOriginalSignature) {
  Fixture f;
  const std::string token = sign_command(make_command(), "k1", f.key);
  const auto dot1 = token.find('.');
  const auto dot2 = token.rfind('.');
  Command forged = make_command();
  forged.type = "task";
  forged.body = boost::json::parse(R"({"run":"rm -rf /"})").as_object();
  const std::string forged_token = sign_command(forged, "k1", key_from('z'));
  const std::string forged_payload = forged_token.substr(
      forged_token.find('.') + 1, forged_token.rfind('.') - forged_token.find('.') - 1);
  const std::string spliced =
      token.substr(0, dot1 + 1) + forged_payload + token.substr(dot2);  // original signature
  EXPECT_EQ(refusal_of(verify_command(spliced, f.keys, f.context)), Refusal::bad_signature);
}

TEST(VerifyCommand, RefusesASignatureOfTheWrongLengthOrEncoding) {
  Fixture f;
  const std::string token = sign_command(make_command(), "k1", f.key);
  const std::string unsigned_part = token.substr(0, token.rfind('.') + 1);
  for (std::size_t n : {1, 63, 65, 128}) {
    auto got = verify_command(unsigned_part + crypto::base64url_encode(std::string(n, 'x')), f.keys,
                              f.context);
    EXPECT_EQ(refusal_of(got), Refusal::bad_signature) << n;
  }
  EXPECT_EQ(refusal_of(verify_command(token + "+", f.keys, f.context)), Refusal::malformed);
}

TEST(VerifyCommand, RefusesAnExpiredCommand) {
  Fixture f;
  Command command = make_command();
  command.iat = kNow - 600;
  command.exp = kNow - 1;
  auto got = verify_command(sign_command(command, "k1", f.key), f.keys, f.context);
  EXPECT_EQ(refusal_of(got), Refusal::expired);
}

TEST(VerifyCommand, AcceptsACommandInItsLastSecond) {
  Fixture f;
  Command command = make_command();
  command.exp = kNow;
  EXPECT_TRUE(verify_command(sign_command(command, "k1", f.key), f.keys, f.context));
}

TEST(VerifyCommand, RefusesASeqItHasAlreadyPassed) {
  Fixture f;
  EXPECT_EQ(
      refusal_of(verify_command(sign_command(make_command(10), "k1", f.key), f.keys, f.context)),
      Refusal::replayed);
  EXPECT_EQ(
      refusal_of(verify_command(sign_command(make_command(3), "k1", f.key), f.keys, f.context)),
      Refusal::replayed);
}

TEST(VerifyCommand, RefusesACommandForAnotherDevice) {
  Fixture f;
  Command command = make_command();
  command.sub = std::string(kOtherDevice);
  command.exp = kNow - 1;  // also expired: misaddressed is the reason that says more
  auto got = verify_command(sign_command(command, "k1", f.key), f.keys, f.context);
  EXPECT_EQ(refusal_of(got), Refusal::misaddressed);
}

TEST(VerifyCommand, RefusesAHeaderWithAnExtraField) {
  Fixture f;
  auto got = verify_command(
      sign_raw(R"({"alg":"EdDSA","kid":"k1","crit":["b64"]})", payload_json(kFields), f.key),
      f.keys, f.context);
  EXPECT_EQ(refusal_of(got), Refusal::malformed);
  EXPECT_EQ(got.error().message, "header: expected exactly alg and kid");
}

TEST(VerifyCommand, RefusesAnotherAlgorithmOrABadKid) {
  Fixture f;
  for (std::string_view header :
       {R"({"alg":"HS256","kid":"k1"})", R"({"alg":"EdDSA","kid":""})", R"({"alg":"EdDSA"})",
        R"({"alg":"EdDSA","kid":7})", R"(["EdDSA","k1"])", R"({"alg":"eddsa","kid":"k1"})"}) {
    auto got = verify_command(sign_raw(header, payload_json(kFields), f.key), f.keys, f.context);
    EXPECT_EQ(refusal_of(got), Refusal::malformed) << header;
  }
  const std::string long_kid(65, 'k');
  auto got = verify_command(sign_command(make_command(), long_kid, f.key), f.keys, f.context);
  EXPECT_EQ(refusal_of(got), Refusal::malformed);
}

TEST(VerifyCommand, RefusesDuplicateKeysInHeaderAndPayload) {
  Fixture f;
  auto header_dup = verify_command(
      sign_raw(R"({"alg":"EdDSA","kid":"k1","kid":"k1"})", payload_json(kFields), f.key), f.keys,
      f.context);
  EXPECT_EQ(refusal_of(header_dup), Refusal::malformed);
  EXPECT_EQ(header_dup.error().message, "header: duplicate key");
  auto payload_dup =
      verify_command(sign_raw(kHeader, payload_json(std::string(kFields) + R"(,"seq":99)"), f.key),
                     f.keys, f.context);
  EXPECT_EQ(refusal_of(payload_dup), Refusal::malformed);
  EXPECT_EQ(payload_dup.error().message, "payload: duplicate key");
  auto body_dup = verify_command(
      sign_raw(kHeader, payload_json(kFields, R"({"a":{"x":1,"x":2}})"), f.key), f.keys, f.context);
  EXPECT_EQ(refusal_of(body_dup), Refusal::malformed);
  EXPECT_EQ(body_dup.error().message, "payload: duplicate key");
}

TEST(VerifyCommand, DoesNotCareAboutTheOrderOfPayloadFields) {
  Fixture f;
  const std::string shuffled =
      R"({"body":{},"exp":1800000300,"seq":11,"sub":"4f1c2b9e-8d3a-4c55-9b7e-2a6f0c1d3e5b",)"
      R"("iat":1799999995,"type":"ack","id":"6a1e0c52-3f4b-4d8e-9a7c-5b2d1e0f3a4c","v":1})";
  auto got = verify_command(sign_raw(kHeader, shuffled, f.key), f.keys, f.context);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->seq, 11U);
}

TEST(VerifyCommand, RefusesASignedPayloadWithWrongFieldsAsMalformed) {
  Fixture f;
  const std::string sub = R"("sub":"4f1c2b9e-8d3a-4c55-9b7e-2a6f0c1d3e5b")";
  const std::string id = R"("id":"6a1e0c52-3f4b-4d8e-9a7c-5b2d1e0f3a4c")";
  const std::string times = R"("iat":1799999995,"exp":1800000300)";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"v":2})", "payload.v: unsupported version 2"},
      {payload_json(std::string(kFields) + R"(,"extra":1)"), R"(payload: unknown field "extra")"},
      {R"({"v":1,)" + id + R"(,"type":"ack",)" + sub + R"(,"seq":11,)" + times + "}",
       "payload.body: missing"},
      {payload_json(R"("v":1,)" + id + R"(,"type":"ack",)" + sub + R"(,"seq":0,)" + times),
       "payload.seq: expected at least 1"},
      {payload_json(R"("v":1,)" + id + R"(,"type":"ack",)" + sub + R"(,"seq":-1,)" + times),
       "payload.seq: expected an unsigned integer"},
      {payload_json(R"("v":1,)" + id + R"(,"type":"ack",)" + sub + R"(,"seq":"11",)" + times),
       "payload.seq: expected an unsigned integer"},
      {payload_json(R"("v":1,)" + id + R"(,"type":"Ack",)" + sub + R"(,"seq":11,)" + times),
       "payload.type: expected 1 to 32 characters of a-z and _"},
      {payload_json(R"("v":1,)" + id + R"(,"type":"",)" + sub + R"(,"seq":11,)" + times),
       "payload.type: expected 1 to 32 characters of a-z and _"},
      {payload_json(R"("v":1,)" + id + R"(,"type":")" + std::string(33, 'a') + R"(",)" + sub +
                    R"(,"seq":11,)" + times),
       "payload.type: expected 1 to 32 characters of a-z and _"},
      {payload_json(R"("v":1,"id":"x","type":"ack",)" + sub + R"(,"seq":11,)" + times),
       "payload.id: expected a lower-case uuid"},
      {payload_json(R"("v":1,)" + id +
                    R"(,"type":"ack","sub":"4F1C2B9E-8D3A-4C55-9B7E-2A6F0C1D3E5B",)"
                    R"("seq":11,)" +
                    times),
       "payload.sub: expected a lower-case uuid"},
      {payload_json(R"("v":1,)" + id + R"(,"type":"ack",)" + sub +
                    R"(,"seq":11,"iat":1800000300,"exp":1800000300)"),
       "payload.exp: expected later than iat"},
      {payload_json(R"("v":1,)" + id + R"(,"type":"ack",)" + sub +
                    R"(,"seq":11,"iat":1.5,"exp":1800000300)"),
       "payload.iat: expected an integer"},
      {payload_json(kFields, "[]"), "payload.body: expected an object"},
      {payload_json(kFields, R"({"x":1e999})"), "payload: number out of range"},
      {"[1]", "payload: expected an object"},
      {"not json", "payload: not valid json: syntax error"},
  };
  for (const auto& [payload, reason] : cases) {
    auto got = verify_command(sign_raw(kHeader, payload, f.key), f.keys, f.context);
    ASSERT_EQ(refusal_of(got), Refusal::malformed) << payload;
    EXPECT_EQ(got.error().message, reason);
  }
}

TEST(VerifyCommand, RefusesAnOversizedMessageBeforeLookingAtIt) {
  Fixture f;
  const std::string token = sign_command(make_command(), "k1", f.key);
  f.context.max_bytes = token.size() - 1;
  auto got = verify_command(token, f.keys, f.context);
  EXPECT_EQ(refusal_of(got), Refusal::malformed);
  EXPECT_NE(got.error().message.find("limit"), std::string::npos);
  f.context.max_bytes = token.size();
  EXPECT_TRUE(verify_command(token, f.keys, f.context));
}

TEST(VerifyCommand, RefusesEveryTruncationOfAValidTokenWithoutCrashing) {
  Fixture f;
  const std::string token = sign_command(make_command(), "k1", f.key);
  for (std::size_t n = 0; n < token.size(); ++n) {
    EXPECT_FALSE(verify_command(token.substr(0, n), f.keys, f.context)) << n;
    EXPECT_FALSE(verify_command(token.substr(n + 1), f.keys, f.context)) << n;
  }
}

TEST(VerifyCommand, RefusesEveryChangedCharacterOfAValidToken) {
  Fixture f;
  const std::string token = sign_command(make_command(), "k1", f.key);
  for (std::size_t i = 0; i < token.size(); ++i) {
    std::string changed = token;
    changed[i] = changed[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(verify_command(changed, f.keys, f.context)) << i;
  }
}

TEST(RefusalName, NamesEveryReasonForTheMetric) {
  EXPECT_EQ(refusal_name(Refusal::malformed), "malformed");
  EXPECT_EQ(refusal_name(Refusal::unsigned_msg), "unsigned");
  EXPECT_EQ(refusal_name(Refusal::bad_signature), "bad_signature");
  EXPECT_EQ(refusal_name(Refusal::unknown_key), "unknown_key");
  EXPECT_EQ(refusal_name(Refusal::expired), "expired");
  EXPECT_EQ(refusal_name(Refusal::replayed), "replayed");
  EXPECT_EQ(refusal_name(Refusal::misaddressed), "misaddressed");
}

TEST(ParseKeys, SurvivesARoundTripThroughJson) {
  Keys keys{{{"k1", key_from('a').public_key()}, {"k2", key_from('b').public_key()}}};
  const auto text = boost::json::serialize(to_json(keys));
  auto parsed = parse_keys(boost::json::parse(text).as_object());
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, keys);
}

TEST(ParseKeys, RefusesBadKeySets) {
  const std::string pk = crypto::base64url_encode(key_from('a').public_key());
  const std::string entry = R"({"kid":"k1","public_key":")" + pk + R"("})";
  std::string nine = R"({"keys":[)";
  for (int i = 0; i < 9; ++i) {
    nine += std::string(i ? "," : "") + R"({"kid":"k)" + std::to_string(i) + R"(","public_key":")" +
            pk + R"("})";
  }
  nine += "]}";
  const std::vector<std::string> bodies = {
      R"({})",
      R"({"keys":[]})",
      R"({"keys":{}})",
      nine,
      R"({"keys":[)" + entry + "," + entry + "]}",
      R"({"keys":[)" + entry + R"(],"extra":1})",
      R"({"keys":[{"kid":"k1","public_key":")" + pk + R"(","alg":"x"}]})",
      R"({"keys":[{"kid":"","public_key":")" + pk + R"("}]})",
      R"({"keys":[{"kid":"k1","public_key":")" + pk.substr(0, 42) + R"("}]})",
      R"({"keys":[{"kid":"k1","public_key":")" + pk + R"(="}]})",
      R"({"keys":[{"kid":"k1","public_key":7}]})",
      R"({"keys":["k1"]})",
  };
  for (const auto& body : bodies) {
    auto parsed = parse_keys(boost::json::parse(body).as_object());
    ASSERT_FALSE(parsed) << body;
    EXPECT_EQ(parsed.error().code, Errc::invalid_input);
  }
}

}  // namespace
}  // namespace hecs::proto
