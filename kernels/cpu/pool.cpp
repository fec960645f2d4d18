#include "kernels/cpu/pool.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/cpu/isa.h"

namespace ptl::cpu {

template <class T>
void max_pool_forward(const T* x, T* y, int64_t* idx, int64_t planes, const PoolWindows& pw) {
  const int64_t in = pw.H * pw.W, out = pw.OH * pw.OW;
  parallel_for_isa(planes, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const T* xp = x + p * in;
      for (int64_t oh = 0; oh < pw.OH; ++oh)
        for (int64_t ow = 0; ow < pw.OW; ++ow) {
          T best = -std::numeric_limits<T>::infinity();
          int64_t bi = pw.h0[oh] * pw.W + pw.w0[ow];
          for (int64_t h = pw.h0[oh]; h < pw.h1[oh]; ++h)
            for (int64_t w = pw.w0[ow]; w < pw.w1[ow]; ++w) {
              const T v = xp[h * pw.W + w];
              if (v > best || std::isnan(v)) {
                best = v;
                bi = h * pw.W + w;
                if (std::isnan(v)) goto done;
              }
            }
        done:
          y[p * out + oh * pw.OW + ow] = best;
          idx[p * out + oh * pw.OW + ow] = bi;
        }
    }
  });
}

template <class T>
void max_pool_backward(const T* gy, const int64_t* idx, T* gx, int64_t planes,
                       const PoolWindows& pw) {
  const int64_t in = pw.H * pw.W, out = pw.OH * pw.OW;
  parallel_for_isa(planes, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      T* g = gx + p * in;
      std::memset(g, 0, sizeof(T) * in);
      for (int64_t o = 0; o < out; ++o) g[idx[p * out + o]] += gy[p * out + o];
    }
  });
}

template <class T>
void avg_pool_forward(const T* x, T* y, int64_t planes, const PoolWindows& pw) {
  const int64_t in = pw.H * pw.W, out = pw.OH * pw.OW;
  parallel_for_isa(planes, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const T* xp = x + p * in;
      for (int64_t oh = 0; oh < pw.OH; ++oh)
        for (int64_t ow = 0; ow < pw.OW; ++ow) {
          double s = 0;
          for (int64_t h = pw.h0[oh]; h < pw.h1[oh]; ++h)
            for (int64_t w = pw.w0[ow]; w < pw.w1[ow]; ++w) s += xp[h * pw.W + w];
          y[p * out + oh * pw.OW + ow] = static_cast<T>(s / pw.divisor[oh * pw.OW + ow]);
        }
    }
  });
}

template <class T>
void avg_pool_backward(const T* gy, T* gx, int64_t planes, const PoolWindows& pw) {
  const int64_t in = pw.H * pw.W, out = pw.OH * pw.OW;
  parallel_for_isa(planes, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      T* g = gx + p * in;
      std::memset(g, 0, sizeof(T) * in);
      for (int64_t oh = 0; oh < pw.OH; ++oh)
        for (int64_t ow = 0; ow < pw.OW; ++ow) {
          const T v = static_cast<T>(gy[p * out + oh * pw.OW + ow] / pw.divisor[oh * pw.OW + ow]);
          for (int64_t h = pw.h0[oh]; h < pw.h1[oh]; ++h)
            for (int64_t w = pw.w0[ow]; w < pw.w1[ow]; ++w) g[h * pw.W + w] += v;
        }
    }
  });
}

#include "kernels/contract/pool_instances.inc"
PTL_INSTANTIATE_POOL()

}  // namespace ptl::cpu
