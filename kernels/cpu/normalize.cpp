#include "kernels/cpu/normalize.h"

#include <algorithm>
#include <cmath>

#include "base/parallel.h"

namespace ptl::cpu {

template <class T>
void l2_normalize_forward(const T* x, T* y, T* norm, int64_t outer, int64_t size, int64_t inner,
                          double eps) {
  parallel_for(outer * inner, 64, [&](int64_t b, int64_t e) {
    for (int64_t oi = b; oi < e; ++oi) {
      const int64_t base = (oi / inner) * size * inner + oi % inner;
      double ss = 0;
      for (int64_t s = 0; s < size; ++s) {
        const double v = x[base + s * inner];
        ss += v * v;
      }
      const double n = std::sqrt(ss), denom = std::max(n, eps);
      norm[oi] = static_cast<T>(n);
      for (int64_t s = 0; s < size; ++s)
        y[base + s * inner] = static_cast<T>(x[base + s * inner] / denom);
    }
  });
}

template <class T>
void l2_normalize_backward(const T* g, const T* y, const T* norm, T* gx, int64_t outer,
                           int64_t size, int64_t inner, double eps) {
  parallel_for(outer * inner, 64, [&](int64_t b, int64_t e) {
    for (int64_t oi = b; oi < e; ++oi) {
      const int64_t base = (oi / inner) * size * inner + oi % inner;
      const double n = norm[oi];
      if (n > eps) {
        double dot = 0;
        for (int64_t s = 0; s < size; ++s)
          dot += static_cast<double>(g[base + s * inner]) * y[base + s * inner];
        for (int64_t s = 0; s < size; ++s) {
          const int64_t k = base + s * inner;
          gx[k] = static_cast<T>((g[k] - y[k] * dot) / n);
        }
      } else {
        for (int64_t s = 0; s < size; ++s) {
          const int64_t k = base + s * inner;
          gx[k] = static_cast<T>(g[k] / eps);
        }
      }
    }
  });
}

#include "kernels/contract/normalize_instances.inc"
PTL_INSTANTIATE_NORMALIZE()

}  // namespace ptl::cpu
