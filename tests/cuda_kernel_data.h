// Data for the CUDA kernel tests (test_cuda_host_helpers.cpp, test_cuda_kernels.cpp): random data and
// pooling windows as engine/ops/pool.cpp builds them.
#pragma once
#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/pool_windows.h"

namespace ptl::test {

template <class T>
std::vector<T> random_vector(size_t n, uint32_t seed, double lo = -1, double hi = 1) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(dist(gen));
  return v;
}

// Fixed windows (kernel k, stride s, padding p, ceil mode), with count_include_pad divisors
// when avg; PyTorch's geometry, as engine/ops/pool.cpp.
inline PoolWindows fixed_pool_windows(int64_t H, int64_t W, int64_t k, int64_t s, int64_t p, bool ceil_mode,
                                      bool avg, bool include_pad) {
  auto pooled = [&](int64_t in) {
    const int64_t num = in + 2 * p - k;
    int64_t out = (ceil_mode ? (num + s - 1) / s : num / s) + 1;
    if (ceil_mode && (out - 1) * s >= in + p) --out;
    return out;
  };
  PoolWindows pw;
  pw.H = H;
  pw.W = W;
  pw.OH = pooled(H);
  pw.OW = pooled(W);
  std::vector<int64_t> hraw, wraw;
  for (int64_t i = 0; i < pw.OH; ++i) {
    const int64_t b = i * s - p, e = std::min(b + k, H + p);
    hraw.push_back(e - b);
    pw.h0.push_back(std::max<int64_t>(b, 0));
    pw.h1.push_back(std::min(e, H));
  }
  for (int64_t i = 0; i < pw.OW; ++i) {
    const int64_t b = i * s - p, e = std::min(b + k, W + p);
    wraw.push_back(e - b);
    pw.w0.push_back(std::max<int64_t>(b, 0));
    pw.w1.push_back(std::min(e, W));
  }
  if (avg)
    for (int64_t i = 0; i < pw.OH; ++i)
      for (int64_t j = 0; j < pw.OW; ++j)
        pw.divisor.push_back(include_pad ? static_cast<double>(hraw[i] * wraw[j])
                                         : static_cast<double>((pw.h1[i] - pw.h0[i]) * (pw.w1[j] - pw.w0[j])));
  return pw;
}

// Adaptive windows (PyTorch: start = floor(i * in / out), end = ceil((i + 1) * in / out)).
inline PoolWindows adaptive_pool_windows(int64_t H, int64_t W, int64_t OH, int64_t OW) {
  PoolWindows pw;
  pw.H = H;
  pw.W = W;
  pw.OH = OH;
  pw.OW = OW;
  for (int64_t i = 0; i < OH; ++i) {
    pw.h0.push_back(i * H / OH);
    pw.h1.push_back(((i + 1) * H + OH - 1) / OH);
  }
  for (int64_t i = 0; i < OW; ++i) {
    pw.w0.push_back(i * W / OW);
    pw.w1.push_back(((i + 1) * W + OW - 1) / OW);
  }
  for (int64_t i = 0; i < OH; ++i)
    for (int64_t j = 0; j < OW; ++j)
      pw.divisor.push_back(static_cast<double>((pw.h1[i] - pw.h0[i]) * (pw.w1[j] - pw.w0[j])));
  return pw;
}

}  // namespace ptl::test
