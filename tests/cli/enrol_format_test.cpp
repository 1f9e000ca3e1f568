// Human output of enrolment: tokens, the node's enrolment file, signing keys.
#include "cli/enrol_format.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace hecs::cli {
namespace {

namespace json = boost::json;

constexpr std::int64_t kNow = 1795633200000;  // 2026-11-25T19:00:00Z

// An active token as the server lists it, with members replaced by `changes`.
json::value token(const json::object& changes = {}) {
  json::object t{{"id", "0b6e2f7a-3c1d-4e5f-8a9b-1c2d3e4f5a6b"},
                 {"prefix", "hecs_et_Ab3dE9"},
                 {"description", "berlin rack 2"},
                 {"tags", json::array{"site=berlin", "rack=2"}},
                 {"auto_approve", false},
                 {"max_uses", 20},
                 {"uses", 3},
                 {"created_at", "2026-11-25T18:00:00.000Z"},
                 {"expires_at", "2026-11-26T19:00:00.000Z"},
                 {"revoked_at", nullptr}};
  for (const auto& [key, value] : changes) {
    t[key] = value;
  }
  return t;
}

TEST(TokenState, IsActiveUntilItExpiresIsUsedUpOrRevoked) {
  EXPECT_EQ(token_state(token(), kNow), "active");
  EXPECT_EQ(token_state(token({{"expires_at", "2026-11-25T18:59:59.000Z"}}), kNow), "expired");
  EXPECT_EQ(token_state(token({{"uses", 20}}), kNow), "used up");
  EXPECT_EQ(token_state(token({{"revoked_at", "2026-11-25T18:30:00.000Z"}}), kNow), "revoked");
}

TEST(TokenState, RevokedWinsOverExpiredAndExpiredOverUsedUp) {
  EXPECT_EQ(token_state(token({{"revoked_at", "2026-11-25T18:30:00.000Z"},
                               {"expires_at", "2026-11-25T18:40:00.000Z"}}),
                        kNow),
            "revoked");
  EXPECT_EQ(token_state(token({{"uses", 20}, {"expires_at", "2026-11-25T18:40:00.000Z"}}), kNow),
            "expired");
}

TEST(TokenState, IsADashWhenTheServerLeftOutWhatItNeeds) {
  json::value partial = token();
  partial.as_object().erase("uses");
  EXPECT_EQ(token_state(partial, kNow), "-");
}

TEST(TokenTable, ShowsUsesExpiryTagsAndState) {
  json::array items{token(), token({{"id", "9c1d"},
                                    {"prefix", "hecs_et_Zz9y8X"},
                                    {"tags", json::array{}},
                                    {"auto_approve", true},
                                    {"max_uses", 1},
                                    {"uses", 1}})};
  EXPECT_EQ(format_token_table(items, kNow),
            "ID                                     PREFIX           USES   EXPIRES   AUTO-APPROVE"
            "   TAGS                  STATE\n"
            "0b6e2f7a-3c1d-4e5f-8a9b-1c2d3e4f5a6b   hecs_et_Ab3dE9   3/20   in 1d     no          "
            "   site=berlin, rack=2   active\n"
            "9c1d                                   hecs_et_Zz9y8X   1/1    in 1d     yes         "
            "   -                     used up\n");
}

TEST(TokenTable, EscapesAHostileTag) {
  std::string table =
      format_token_table(json::array{token({{"tags", json::array{"\x1b[2J"}}})}, kNow);
  EXPECT_EQ(table.find('\x1b'), std::string::npos) << table;
}

TEST(EnrolmentFile, ReadsBackAsTheThreeStrings) {
  // A fingerprint of digits only would read as a number if it were not quoted.
  std::string fingerprint(64, '7');
  std::string text = enrolment_file("hecs_et_secret", "https://control.lan:8080", fingerprint);
  YAML::Node file = YAML::Load(text);
  EXPECT_EQ(file.size(), 3u);
  EXPECT_EQ(file["token"].as<std::string>(), "hecs_et_secret");
  EXPECT_EQ(file["control_url"].as<std::string>(), "https://control.lan:8080");
  EXPECT_EQ(file["ca_sha256"].Tag(), "!");  // quoted: a string, not an integer
  EXPECT_EQ(file["ca_sha256"].as<std::string>(), fingerprint);
}

TEST(NewToken, ShowsTheTokenOnceWithAWarningAndTheEnrolmentFile) {
  json::value made = token({{"uses", 0}, {"token", "hecs_et_Ab3dE9rest"}, {"ca_sha256", "ab12"}});
  EXPECT_EQ(format_new_token(made, "https://control.lan:8080", kNow),
            "Enrollment token (shown only now: hecs-control keeps just its hash and cannot show "
            "it again):\n"
            "\n"
            "  hecs_et_Ab3dE9rest\n"
            "\n"
            "ID:            0b6e2f7a-3c1d-4e5f-8a9b-1c2d3e4f5a6b\n"
            "Expires:       2026-11-26T19:00:00.000Z (in 1d)\n"
            "Uses:          0/20\n"
            "Auto-approve:  no: accept each device with hecsctl devices accept ID\n"
            "Tags:          site=berlin, rack=2\n"
            "Description:   berlin rack 2\n"
            "CA SHA-256:    ab12\n"
            "\n"
            "Save this as hecs-enroll.yaml on the node's boot partition:\n"
            "\n"
            "token: hecs_et_Ab3dE9rest\n"
            "control_url: https://control.lan:8080\n"
            "ca_sha256: ab12\n");
}

TEST(LoopbackUrl, IsToldApartFromAnAddressNodesCanReach) {
  EXPECT_TRUE(is_loopback_url("https://localhost:8080"));
  EXPECT_TRUE(is_loopback_url("http://127.0.0.1:8080/hecs"));
  EXPECT_TRUE(is_loopback_url("https://[::1]:8080"));
  EXPECT_FALSE(is_loopback_url("https://control.lan:8080"));
  EXPECT_FALSE(is_loopback_url("https://localhost.example.org"));
  EXPECT_FALSE(is_loopback_url("https://10.0.0.2"));
}

TEST(KeyTable, ListsEveryKeyWithItsState) {
  json::array keys{
      json::object{{"kid", "k1"},
                   {"public_key", "pubA"},
                   {"state", "active"},
                   {"created_at", "2026-11-20T19:00:00.000Z"}},
      json::object{
          {"kid", "k2"}, {"public_key", "pubB"}, {"state", "next"}, {"created_at", "bad"}}};
  EXPECT_EQ(format_key_table(keys, kNow),
            "KID   STATE    CREATED   PUBLIC KEY\n"
            "k1    active   5d ago    pubA\n"
            "k2    next     -         pubB\n");
  EXPECT_EQ(key_in_state(keys, "next"), "k2");
  EXPECT_EQ(key_in_state(keys, "retired"), "");
}

}  // namespace
}  // namespace hecs::cli
