// Sets ptl's thread count for a scope and restores the default (PTL_NUM_THREADS or all cores)
// at its end, also when a REQUIRE throws out of it.
#pragma once
#include "base/parallel.h"

namespace ptl::test {

struct ThreadScope {
  explicit ThreadScope(int n) { set_num_threads(n); }
  ~ThreadScope() { set_num_threads(0); }
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;
};

}  // namespace ptl::test
