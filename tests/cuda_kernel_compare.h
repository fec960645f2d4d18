// Comparison helpers of the CUDA kernel tests (tests/test_cuda_kernels_*.cpp, one file per
// kernel family): the hand-written kernels (kernels/cuda/*.cu) against their CPU twins
// (kernels/cpu/*.cpp), the same random inputs through ptl::cpu:: and ptl::cuda::, compared
// element by element (CHECK_WITHIN, CHECK_SAME_BITS: tests/compare.h). Tolerances: float rtol
// 1e-5 element-wise, 1e-4 reductions; exact for copies, fills, converts, indices, max pooling and
// the optimizer updates (-fmad=false, kernels/optim_math.h).
//
// Tagged [cuda]: `ctest -L cuda` on a GPU machine. Without a device every case skips
// (tests/skip.h; tests/main.cpp says so in one line); a CPU-only build does not compile the files'
// cases and tests/test_cuda_kernels_elementwise.cpp says so in one.
#pragma once
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/cuda/check.h"
#include "kernels/cuda/kernels.h"
#include "kernels/cuda/runtime.h"
#include "tests/compare.h"
#include "tests/cuda_device_vec.h"
#include "tests/cuda_kernel_data.h"
#include "tests/cuda_test_util.h"

namespace ptl::test {

// A (outer, size, inner) view of a tensor: `size` the dimension a kernel works along.
struct Dims3 {
  int64_t outer, size, inner;
};
// Row-wise kernels: warp rows (inner 1; short, long, of one element) and column loops (inner > 1).
inline const Dims3 kRowShapes[] = {{64, 751, 1}, {4, 10, 37}, {3, 5000, 1}, {5, 1, 1}, {2, 3, 4}};

// Tolerances by type: element-wise and reductions.
template <class T>
struct Tol;
template <>
struct Tol<float> {
  static constexpr double ew_r = 1e-5, ew_a = 1e-6, red_r = 1e-4, red_a = 1e-5;
};
template <>
struct Tol<double> {
  static constexpr double ew_r = 1e-12, ew_a = 1e-13, red_r = 1e-10, red_a = 1e-11;
};

inline int64_t numel(const std::vector<int64_t>& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

}  // namespace ptl::test
