// doctest entry point. ctest runs each test case by name (doctest_discover_tests); a name
// that no longer matches would otherwise "pass" by running nothing, so a run whose filters
// select no test case fails. DSV4_TARGET pins SIMD dispatch for the whole run, as it does for
// `dsv4` (tests/CMakeLists.txt runs the golden tests once per target this way); a target this
// CPU lacks fails the run.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "simd/targets.h"

namespace {

std::atomic<int> g_test_cases{0};

struct CountingListener : doctest::IReporter {
  explicit CountingListener(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override { ++g_test_cases; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

REGISTER_LISTENER("counting", 1, CountingListener);

}  // namespace

int main(int argc, char** argv) {
  if (const char* pinned = std::getenv("DSV4_TARGET"); pinned != nullptr && *pinned != '\0') {
    try {
      dsv4::simd::pin_target(pinned);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "DSV4_TARGET: %s\n", e.what());
      return 1;
    }
    std::fprintf(stderr, "SIMD dispatch pinned to %s (DSV4_TARGET)\n",
                 dsv4::simd::active_target().c_str());
  }
  doctest::Context context(argc, argv);
  const int status = context.run();
  if (context.shouldExit()) return status;
  if (g_test_cases == 0) {
    std::fprintf(stderr, "no test case matched the given filters\n");
    return 1;
  }
  return status;
}
