// main() of every test executable (cmake/HecsModule.cmake), in place of gtest_main.
//
// When a suite's SetUpTestSuite fails (a server that did not start), GoogleTest marks each of
// its tests skipped and prints "[  SKIPPED ]". ctest, through the regex gtest_discover_tests
// sets, then reports them as skipped, not failed, and its run passes: a broken set-up would
// look like a green run. This listener turns each such test into a failure that names the
// cause, so GoogleTest prints "[  FAILED  ]" instead and ctest counts it failed. A test that
// skips itself (GTEST_SKIP) is still reported as skipped.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace {

class FailTestsOfAFailedSuiteSetUp : public ::testing::EmptyTestEventListener {
  void OnTestStart(const ::testing::TestInfo& test) override {
    const ::testing::TestSuite* suite = ::testing::UnitTest::GetInstance()->current_test_suite();
    // Failures outside any test of a suite, before its first test runs, are SetUpTestSuite's.
    if (suite != nullptr && suite->ad_hoc_test_result().Failed()) {
      ADD_FAILURE() << "not run: SetUpTestSuite of " << test.test_suite_name()
                    << " failed (the failure is printed above the first of its tests)";
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleMock(&argc, argv);
  ::testing::UnitTest::GetInstance()->listeners().Append(new FailTestsOfAFailedSuiteSetUp);
  return RUN_ALL_TESTS();
}
