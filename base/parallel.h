// Threading: OpenMP with a process-wide thread count from PTL_NUM_THREADS or the CLI.
// Results never depend on the thread count: work is split into fixed-size chunks whose
// boundaries depend only on the problem size, and reductions combine chunks in a fixed order.
#pragma once
#include <cstdint>

namespace ptl {

int num_threads();
void set_num_threads(int n);  // n <= 0 restores the default (PTL_NUM_THREADS or all cores)

// Runs body(begin, end) over [0, n) in chunks of `grain` (the last may be shorter), in parallel.
template <class F>
void parallel_for(int64_t n, int64_t grain, const F& body) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  const int64_t chunks = (n + grain - 1) / grain;
  if (chunks == 1 || num_threads() == 1) {
    for (int64_t c = 0; c < chunks; ++c)
      body(c * grain, c * grain + grain < n ? c * grain + grain : n);
    return;
  }
#pragma omp parallel for schedule(dynamic, 1) num_threads(num_threads())
  for (int64_t c = 0; c < chunks; ++c)
    body(c * grain, c * grain + grain < n ? c * grain + grain : n);
}

}  // namespace ptl
