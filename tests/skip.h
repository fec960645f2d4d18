// Skipping a test case that cannot run here (a dataset, a Python module, a GPU, a number of MPI
// processes missing), reported as skipped rather than passed: PTL_SKIP(reason) prints the reason,
// records it and ends the test case. tests/main.cpp then ends a run whose other tests all passed
// with kSkipExitCode and the list of skips, and the ctest groups that can meet one set
// SKIP_RETURN_CODE to it (tests/CMakeLists.txt), so ctest shows the group as skipped. Tests that
// need a missing resource live in groups of their own, so a skip never hides the others' results.
#pragma once
#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

namespace ptl::test {

constexpr int kSkipExitCode = 77;  // the autotools convention, as tests/on_mpi.sh uses

// "test case: reason" for every skip of this run.
inline std::vector<std::string>& skips() {
  static std::vector<std::string> all;
  return all;
}

}  // namespace ptl::test

#define PTL_SKIP(reason)                                                                   \
  do {                                                                                     \
    std::ostringstream why_;                                                               \
    why_ << reason;                                                                        \
    ::ptl::test::skips().push_back(Catch::getResultCapture().getCurrentTestName() + ": " + \
                                   why_.str());                                            \
    WARN("skipped: " << why_.str());                                                       \
    return;                                                                                \
  } while (0)
