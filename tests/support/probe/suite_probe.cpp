// Not a test of the project: the program tests/support/CMakeLists.txt runs to check that
// test_main.cpp reports the tests of a failed SetUpTestSuite as failed, and a test that skips
// itself as skipped.
#include <gtest/gtest.h>

namespace {

class BrokenSetUp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { FAIL() << "probe: the server did not start"; }
};

TEST_F(BrokenSetUp, NeverRuns) { SUCCEED(); }

TEST(SkipsItself, Skips) { GTEST_SKIP() << "probe: skipped on purpose"; }

}  // namespace
