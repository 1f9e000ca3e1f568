#include "control/targets/targets.h"

#include <string>
#include <string_view>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hecs::control::targets {
namespace {

using ::testing::HasSubstr;

// ---- tags ----------------------------------------------------------------------------------

struct TagCase {
  std::string text;
  Tag tag;
};

TEST(TargetsParseTag, AcceptsKeysAndValuesOfTheAllowedCharacters) {
  const std::vector<TagCase> cases = {
      {"site=haguenau", {"site", "haguenau"}},
      {"gpu", {"gpu", ""}},
      {"gpu=", {"gpu", ""}},
      {"hecs.io/role=gateway", {"hecs.io/role", "gateway"}},
      {"a", {"a", ""}},
      {"A1.b_c-d=X.y_z-0", {"A1.b_c-d", "X.y_z-0"}},
      {"9=9", {"9", "9"}},
      {std::string(63, 'k') + "=" + std::string(63, 'v'),
       {std::string(63, 'k'), std::string(63, 'v')}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto tag = parse_tag(c.text);
    ASSERT_TRUE(tag) << tag.error().message;
    EXPECT_EQ(*tag, c.tag);
    EXPECT_EQ(parse_tag(to_string(*tag)).value(), *tag);
  }
  EXPECT_EQ(to_string(Tag{"site", "haguenau"}), "site=haguenau");
  EXPECT_EQ(to_string(Tag{"gpu", ""}), "gpu");
}

struct InvalidCase {
  std::string text;
  std::string_view message;
};

TEST(TargetsParseTag, RefusesMalformedTagsNamingThePart) {
  const std::vector<InvalidCase> cases = {
      {"", "tag \"\": key: empty"},
      {"=v", "tag \"=v\": key: empty"},
      {"-site=x", "key: must start and end with a letter or digit"},
      {"site-=x", "key: must start and end with a letter or digit"},
      {"/site", "key: must start and end with a letter or digit"},
      {"site/", "key: must start and end with a letter or digit"},
      {"si te", "tag \"si te\": key: invalid ' ' at column 3"},
      {"site\x01", "tag \"site\\x01\": key: invalid byte 0x01 at column 5"},
      {std::string(64, 'k'), "key: longer than 63 characters"},
      {"site=a/b", "value: invalid '/' at column 2"},
      {"site=a=b", "value: invalid '=' at column 2"},
      {"site=-a", "value: must start and end with a letter or digit"},
      {"site=a.", "value: must start and end with a letter or digit"},
      {"site=" + std::string(64, 'v'), "value: longer than 63 characters"},
      {"site=caf\xc3\xa9", "value: invalid byte 0xc3 at column 4"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto tag = parse_tag(c.text);
    ASSERT_FALSE(tag);
    EXPECT_EQ(tag.error().code, Errc::invalid_input);
    EXPECT_THAT(tag.error().message, HasSubstr(c.message));
  }
}

TEST(TargetsParseTag, CutsLongInputInItsMessage) {
  auto tag = parse_tag(std::string(5000, '-'));
  ASSERT_FALSE(tag);
  EXPECT_LT(tag.error().message.size(), 200U);
}

TEST(TargetsParseTags, KeepsTheOrderOfADevicesTags) {
  auto tags = parse_tags({"site=haguenau", "gpu", "role=gateway"});
  ASSERT_TRUE(tags) << tags.error().message;
  EXPECT_EQ(*tags, (std::vector<Tag>{{"site", "haguenau"}, {"gpu", ""}, {"role", "gateway"}}));
  EXPECT_TRUE(parse_tags({}));
}

TEST(TargetsParseTags, RefusesADuplicateKey) {
  auto tags = parse_tags({"site=a", "gpu", "site=b"});
  ASSERT_FALSE(tags);
  EXPECT_EQ(tags.error().code, Errc::invalid_input);
  EXPECT_THAT(tags.error().message, HasSubstr("tags: duplicate key \"site\""));
  EXPECT_FALSE(parse_tags({"gpu", "gpu="}));
}

TEST(TargetsParseTags, AcceptsSixtyFourTagsAndRefusesMore) {
  std::vector<std::string> texts;
  texts.reserve(65);
  for (int i = 0; i < 64; ++i) {
    texts.push_back("k" + std::to_string(i));
  }
  EXPECT_TRUE(parse_tags(texts));
  texts.push_back("k64");
  auto tags = parse_tags(texts);
  ASSERT_FALSE(tags);
  EXPECT_THAT(tags.error().message, HasSubstr("tags: 65 tags, at most 64"));
}

TEST(TargetsParseTags, PassesOnTheErrorOfABadTag) {
  auto tags = parse_tags({"site=a", "bad tag"});
  ASSERT_FALSE(tags);
  EXPECT_THAT(tags.error().message, HasSubstr("tag \"bad tag\": key: invalid ' '"));
}

// ---- selectors -----------------------------------------------------------------------------

struct SelectorCase {
  std::string_view text;
  std::string_view canonical;
};

const std::vector<SelectorCase> kValidSelectors = {
    {"site=haguenau", "site=haguenau"},
    {"site==haguenau", "site=haguenau"},
    {" env != lab ", "env!=lab"},
    {"site in (b, a, b)", "site in (a,b)"},
    {"site notin(a,b)", "site notin (a,b)"},
    {"site\tin\t(\ta\t)", "site in (a)"},
    {"gpu", "gpu"},
    {"! gpu", "!gpu"},
    {"role=gateway,env!=lab", "env!=lab,role=gateway"},
    {"site in (a,b),gpu,!lab", "gpu,!lab,site in (a,b)"},
    {"k=", "k="},
    {"k!=", "k!="},
    {"gpu,gpu", "gpu"},
    {"in in (in)", "in in (in)"},
    {"notin", "notin"},
    {"hecs.io/role=gw", "hecs.io/role=gw"},
    {"a=1 ,\tb=2", "a=1,b=2"},
    {"a=1,a!=2,a,a in (3),a notin (4),!a", "a=1,a!=2,a in (3),a notin (4),a,!a"},
};

TEST(TargetsParseSelector, AcceptsTheKubernetesGrammarAndPrintsItCanonically) {
  for (const auto& c : kValidSelectors) {
    SCOPED_TRACE(c.text);
    auto selector = parse_selector(c.text);
    ASSERT_TRUE(selector) << selector.error().message;
    EXPECT_EQ(to_string(*selector), c.canonical);
  }
}

TEST(TargetsParseSelector, ReadsBackItsCanonicalFormUnchanged) {
  for (const auto& c : kValidSelectors) {
    SCOPED_TRACE(c.text);
    auto selector = parse_selector(c.text);
    ASSERT_TRUE(selector);
    auto again = parse_selector(to_string(*selector));
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(*again, *selector);
    EXPECT_EQ(to_string(*again), c.canonical);
  }
}

TEST(TargetsParseSelector, ParsesEachOperator) {
  auto selector = parse_selector("a=1,b!=2,c in (x,y),d notin (z),e,!f");
  ASSERT_TRUE(selector);
  const std::vector<Requirement> expected = {
      {"a", Op::equals, {"1"}}, {"b", Op::not_equals, {"2"}}, {"c", Op::in, {"x", "y"}},
      {"d", Op::not_in, {"z"}}, {"e", Op::exists, {}},        {"f", Op::not_exists, {}},
  };
  EXPECT_EQ(selector->requirements, expected);
}

std::string requirements(std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += (i == 0 ? "k" : ",k") + std::to_string(i);
  }
  return out;
}

std::string set_of(std::size_t n) {
  std::string out = "k in (";
  for (std::size_t i = 0; i < n; ++i) {
    out += (i == 0 ? "v" : ",v") + std::to_string(i);
  }
  return out + ")";
}

TEST(TargetsParseSelector, AcceptsTheLimits) {
  EXPECT_TRUE(parse_selector(requirements(32)));
  EXPECT_TRUE(parse_selector(set_of(64)));
  std::string longest = "k=" + std::string(63, 'v');
  longest += std::string(kMaxSelectorBytes - longest.size(), ' ');
  EXPECT_TRUE(parse_selector(longest));
}

TEST(TargetsParseSelector, RefusesMalformedSelectorsNamingTheRequirement) {
  const std::vector<InvalidCase> cases = {
      {"", "selector: empty"},
      {" \t ", "selector: empty"},
      {"k=v" + std::string(1022, ' '), "selector: longer than 1024 bytes"},
      {requirements(33), "selector: more than 32 requirements"},
      {set_of(65), "selector: requirement 1 at column "},
      {set_of(65), "more than 64 values in the set"},
      {"=x", "selector: requirement 1 at column 1: unexpected \"=\", expected a key"},
      {",site=a", "requirement 1 at column 1: unexpected \",\", expected a key"},
      {"site=a,", "requirement 2 at column 8: unexpected end, expected a key"},
      {"a,b,,c", "requirement 3 at column 5: unexpected \",\", expected a key"},
      {"site=a b", "requirement 1 at column 8: unexpected \"b\", expected ',' or the end"},
      {"site=a/b", "requirement 1 at column 7: unexpected \"/\", expected ',' or the end"},
      {"site=a=b", "unexpected \"=\", expected ',' or the end"},
      {"!gpu=x", "requirement 1 at column 5: unexpected \"=\", expected ',' or the end"},
      {"!", "requirement 1 at column 2: unexpected end, expected a key"},
      {"site in ()", "requirement 1 at column 10: unexpected \")\", expected a value"},
      {"site in (a,)", "unexpected \")\", expected a value"},
      {"site in (a", "unexpected end, expected ',' or ')' in the set"},
      {"site in (a b)", "unexpected \"b\", expected ',' or ')' in the set"},
      {"site in a", "requirement 1 at column 9: unexpected \"a\", expected '(' after in"},
      {"site notin", "unexpected end, expected '(' after notin"},
      {"site like (a)", "unexpected \"l\" after key \"site\", expected =, ==, !=, in or notin"},
      {"site IN (a)", "unexpected \"I\" after key \"site\""},
      {"site!a", "unexpected \"!\" after key \"site\""},
      {"site=(a)", "unexpected \"(\", expected ',' or the end"},
      {"-site=a", "requirement 1 at column 1: key \"-site\": must start and end with a letter"},
      {"a=1, site/=a", "requirement 2 at column 6: key \"site/\": must start and end"},
      {"k=-v", "requirement 1 at column 3: value \"-v\": must start and end"},
      {"k in (a,v_)", "requirement 1 at column 9: value \"v_\": must start and end"},
      {"k=" + std::string(64, 'v'), "value \"vvvv"},
      {"k=" + std::string(64, 'v'), "longer than 63 characters"},
      {std::string(64, 'k'), "longer than 63 characters"},
      {"site\x01", "requirement 1 at column 5: unexpected \"\\x01\" after key \"site\""},
      {"site=\xc3\xa9t\xc3\xa9", "unexpected \"\\xc3\", expected ',' or the end"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto selector = parse_selector(c.text);
    ASSERT_FALSE(selector);
    EXPECT_EQ(selector.error().code, Errc::invalid_input);
    EXPECT_THAT(selector.error().message, HasSubstr(c.message));
  }
}

// ---- matching ------------------------------------------------------------------------------

const std::vector<Tag> kGateway = {{"site", "haguenau"}, {"role", "gateway"}, {"gpu", ""}};
const std::vector<Tag> kLab = {{"site", "paris"}, {"env", "lab"}};
const std::vector<Tag> kBare = {};

struct MatchCase {
  std::string_view selector;
  bool gateway;
  bool lab;
  bool bare;  // a device without tags
};

TEST(TargetsMatches, AppliesEachRequirementToADevicesTags) {
  const std::vector<MatchCase> cases = {
      {"site=haguenau", true, false, false},
      {"site==paris", false, true, false},
      {"site!=haguenau", false, true, true},
      {"env!=lab", true, false, true},  // a device without env matches
      {"site in (haguenau,paris)", true, true, false},
      {"site in (lyon)", false, false, false},
      {"site notin (paris)", true, false, true},
      {"env notin (lab,prod)", true, false, true},  // a device without env matches
      {"gpu", true, false, false},
      {"!gpu", false, true, true},
      {"gpu=", true, false, false},  // the bare tag has the empty value
      {"site=", false, false, false},
      {"role=gateway,env!=lab", true, false, false},
      {"!env,!gpu", false, false, true},
      {"env notin (lab),site", true, false, false},
      {"site,site!=paris,site notin (lyon)", true, false, false},
      {"Site=haguenau", false, false, false},  // keys are case-sensitive
      {"site=Haguenau", false, false, false},  // and so are values
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.selector);
    auto selector = parse_selector(c.selector);
    ASSERT_TRUE(selector) << selector.error().message;
    EXPECT_EQ(matches(*selector, kGateway), c.gateway) << "gateway";
    EXPECT_EQ(matches(*selector, kLab), c.lab) << "lab";
    EXPECT_EQ(matches(*selector, kBare), c.bare) << "bare";
  }
}

}  // namespace
}  // namespace hecs::control::targets
