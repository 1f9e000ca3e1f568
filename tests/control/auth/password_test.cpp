// Argon2id password hashes and the password policy (S40).
#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sys/resource.h>

#include "control/auth/auth.h"

namespace hecs::control::auth {
namespace {

constexpr std::string_view kCurrent = "$argon2id$v=19$m=19456,t=2,p=1$";

long max_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// The hash of `phc` with its parameters replaced by `params` ("m=…,t=…,p=…").
std::string with_params(const std::string& phc, const std::string& params) {
  const std::size_t start = std::string_view("$argon2id$v=19$").size();
  const std::size_t end = phc.find('$', start);
  return phc.substr(0, start) + params + phc.substr(end);
}

template <class F>
double median_ms(int runs, F&& f) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

TEST(Password, HashesWithArgon2idAtOwaspsParametersAndAFreshSalt) {
  const std::string a = hash_password("correct horse battery");
  const std::string b = hash_password("correct horse battery");
  EXPECT_TRUE(a.starts_with(kCurrent)) << a;
  EXPECT_NE(a, b) << "each hash has its own salt";
  EXPECT_EQ(std::count(a.begin(), a.end(), '$'), 5) << a;
}

TEST(Password, VerifiesTheRightPasswordAndRefusesAWrongOne) {
  const std::string phc = hash_password("correct horse battery");
  EXPECT_TRUE(verify_password("correct horse battery", phc));
  EXPECT_FALSE(verify_password("correct horse batterY", phc));
  EXPECT_FALSE(verify_password("", phc));
  EXPECT_FALSE(verify_password(std::string("correct horse battery\0x", 23), phc));
}

TEST(Password, RefusesStringsThatAreNotArgon2idHashes) {
  const std::string phc = hash_password("correct horse battery");
  for (const std::string& garbage :
       {std::string(), std::string("garbage"), std::string("$argon2id$"),
        std::string("$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA"),
        std::string("$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA"),
        with_params(phc, "m=19456,t=2"), with_params(phc, "t=2,m=19456,p=1"),
        with_params(phc, "m=,t=2,p=1"), with_params(phc, "m=-1,t=2,p=1"),
        with_params(phc, "m=99999999999,t=2,p=1"), phc.substr(0, phc.size() - 5), phc + "$extra"}) {
    EXPECT_FALSE(verify_password("correct horse battery", garbage)) << garbage;
  }
}

TEST(Password, RefusesAbsurdParametersWithoutSpendingTheMemoryTheyAskFor) {
  const std::string phc = hash_password("correct horse battery");
  const long rss_before = max_rss_kib();
  for (const std::string& absurd :
       {with_params(phc, "m=4294967295,t=2,p=1"), with_params(phc, "m=4194305,t=1,p=1"),
        with_params(phc, "m=19456,t=4294967295,p=1"), with_params(phc, "m=19456,t=2,p=0"),
        with_params(phc, "m=19456,t=2,p=4294967295")}) {
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(verify_password("correct horse battery", absurd)) << absurd;
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1)) << absurd;
  }
  EXPECT_LT(max_rss_kib() - rss_before, 256 * 1024) << "a 4 GiB allocation was attempted";
}

TEST(Password, AsksForARehashOfAWeakerHashOnly) {
  const std::string weak = hash_password(
      "correct horse battery", PasswordParams{.memory_kib = 8192, .iterations = 1, .lanes = 1});
  EXPECT_TRUE(weak.starts_with("$argon2id$v=19$m=8192,t=1,p=1$")) << weak;
  EXPECT_TRUE(verify_password("correct horse battery", weak)) << "still good for this login";
  EXPECT_TRUE(needs_rehash(weak));
  EXPECT_FALSE(needs_rehash(hash_password("correct horse battery")));
  EXPECT_TRUE(needs_rehash("garbage"));
  const std::string one_pass =
      hash_password("correct horse battery",
                    PasswordParams{.memory_kib = 19 * 1024, .iterations = 1, .lanes = 1});
  EXPECT_TRUE(needs_rehash(one_pass)) << "t below 2";
}

TEST(PasswordPolicy, WantsTwelveCharactersCountingUtf8AsCharacters) {
  EXPECT_EQ(check_password_policy("elevenchars").error().code, Errc::invalid_input);
  EXPECT_TRUE(check_password_policy("twelve chars"));
  // 11 characters in 22 bytes: still too short.
  EXPECT_FALSE(check_password_policy("ééééééééééé"));
  EXPECT_TRUE(check_password_policy("éééééééééééé"));
  EXPECT_TRUE(check_password_policy("密码密码密码密码密码密码"));
}

TEST(PasswordPolicy, RefusesControlCharactersAndOverlongPasswords) {
  for (const std::string& bad :
       {std::string("twelve chars\n"), std::string("twelve\tchars"),
        std::string("twelve chars\0", 13), std::string("twelve chars\x7f"),
        std::string("twelve chars\u0085"), std::string("twelve chars\u009b")}) {
    auto checked = check_password_policy(bad);
    ASSERT_FALSE(checked) << bad;
    EXPECT_EQ(checked.error().code, Errc::invalid_input);
    EXPECT_NE(checked.error().message.find("control"), std::string::npos)
        << checked.error().message;
  }
  EXPECT_TRUE(check_password_policy(std::string(kMaxPasswordBytes, 'a')));
  auto long_one = check_password_policy(std::string(kMaxPasswordBytes + 1, 'a'));
  ASSERT_FALSE(long_one);
  EXPECT_EQ(long_one.error().code, Errc::invalid_input);
}

TEST(PasswordPolicy, RefusesBytesThatAreNotUtf8) {
  for (const std::string& bad :
       {std::string(12, '\xff'), std::string(12, '\x80'), std::string("twelve chars\xc3"),
        std::string("twelve \xc0\xaf chars"), std::string("twelve chars \xed\xa0\x80")}) {
    auto checked = check_password_policy(bad);
    ASSERT_FALSE(checked) << bad;
    EXPECT_EQ(checked.error().code, Errc::invalid_input);
  }
}

TEST(Password, ADummyVerifyTakesAsLongAsARealOne) {
  const std::string phc = hash_password("correct horse battery");
  verify_dummy_password("warm up");  // the first call also makes the dummy hash
  // Interleaved, so that load from other tests hits the three alike; what this guards against
  // is a dummy that skips Argon2id (microseconds), so a quarter of the real time is the bar.
  std::vector<double> real, dummy, huge;
  for (int i = 0; i < 7; ++i) {
    real.push_back(median_ms(1, [&] { (void)verify_password("wrong password!!", phc); }));
    dummy.push_back(median_ms(1, [] { verify_dummy_password("wrong password!!"); }));
    huge.push_back(median_ms(1, [] { verify_dummy_password(std::string(100'000, 'a')); }));
  }
  for (auto* v : {&real, &dummy, &huge}) {
    std::sort(v->begin(), v->end());
  }
  EXPECT_GE(dummy[3], real[3] / 4) << "real " << real[3] << " ms, dummy " << dummy[3] << " ms";
  EXPECT_GE(huge[3], real[3] / 4) << "an overlong password must not answer faster";
}

}  // namespace
}  // namespace hecs::control::auth
