#include "base/parallel.h"

#include <omp.h>

#include <cstdlib>

namespace ptl {

namespace {
int default_threads() {
  if (const char* env = std::getenv("PTL_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  return omp_get_num_procs();
}
int g_threads = 0;
}  // namespace

int num_threads() {
  if (g_threads <= 0) g_threads = default_threads();
  return g_threads;
}

void set_num_threads(int n) {
  g_threads = n > 0 ? n : default_threads();
}

}  // namespace ptl
