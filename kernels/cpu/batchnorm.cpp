#include "kernels/cpu/batchnorm.h"

#include <algorithm>
#include <cmath>

#include "engine/parallel.h"

namespace ptl::cpu {

template <class T>
void batchnorm_stats(const T* x, int64_t N, int64_t C, int64_t S, double* mean, double* var) {
  parallel_for(C, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      double s = 0, ss = 0;
      for (int64_t n = 0; n < N; ++n) {
        const T* p = x + (n * C + c) * S;
        for (int64_t i = 0; i < S; ++i) s += p[i];
      }
      const double m = s / static_cast<double>(N * S);
      for (int64_t n = 0; n < N; ++n) {
        const T* p = x + (n * C + c) * S;
        for (int64_t i = 0; i < S; ++i) {
          const double d = p[i] - m;
          ss += d * d;
        }
      }
      mean[c] = m;
      var[c] = ss / static_cast<double>(N * S);
    }
  });
}

template <class T>
void batchnorm_apply(const T* x, const double* mean, const double* invstd, const T* w, const T* b,
                     T* y, int64_t N, int64_t C, int64_t S) {
  parallel_for(N * C, std::max<int64_t>(1, 4096 / std::max<int64_t>(S, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t c = r % C;
      const T scale = static_cast<T>(invstd[c] * (w ? static_cast<double>(w[c]) : 1.0));
      const T shift = static_cast<T>((b ? static_cast<double>(b[c]) : 0.0) - mean[c] * static_cast<double>(scale));
      const T* p = x + r * S;
      T* q = y + r * S;
      for (int64_t i = 0; i < S; ++i) q[i] = p[i] * scale + shift;
    }
  });
}

template <class T>
void batchnorm_backward(const T* gy, const T* x, const double* mean, const double* invstd,
                        const T* w, T* gx, T* gw, T* gb, int64_t N, int64_t C, int64_t S,
                        bool training) {
  const double M = static_cast<double>(N * S);
  parallel_for(C, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      // sum(gy) and sum(gy * xhat) for the channel.
      double sg = 0, sgx = 0;
      for (int64_t n = 0; n < N; ++n) {
        const T* g = gy + (n * C + c) * S;
        const T* p = x + (n * C + c) * S;
        for (int64_t i = 0; i < S; ++i) {
          sg += g[i];
          sgx += g[i] * (p[i] - mean[c]);
        }
      }
      sgx *= invstd[c];
      if (gw) gw[c] = static_cast<T>(sgx);
      if (gb) gb[c] = static_cast<T>(sg);
      if (!gx) continue;
      const double k = invstd[c] * (w ? static_cast<double>(w[c]) : 1.0);
      for (int64_t n = 0; n < N; ++n) {
        const T* g = gy + (n * C + c) * S;
        const T* p = x + (n * C + c) * S;
        T* o = gx + (n * C + c) * S;
        if (training) {
          // dx = k * (gy - mean(gy) - xhat * mean(gy * xhat))
          const double a = sg / M, bcoef = sgx / M * invstd[c];
          for (int64_t i = 0; i < S; ++i)
            o[i] = static_cast<T>(k * (g[i] - a - (p[i] - mean[c]) * bcoef));
        } else {
          for (int64_t i = 0; i < S; ++i) o[i] = static_cast<T>(k * g[i]);
        }
      }
    }
  });
}

template <class T>
void batchnorm_prepare(bool training, double* mean, double* var, T* rm, T* rv, int64_t C,
                       double momentum, double unbias, double eps) {
  for (int64_t c = 0; c < C; ++c) {
    if (training) {
      if (rm && rv) {
        rm[c] = static_cast<T>((1 - momentum) * rm[c] + momentum * mean[c]);
        rv[c] = static_cast<T>((1 - momentum) * rv[c] + momentum * var[c] * unbias);
      }
    } else {
      mean[c] = rm[c];
      var[c] = rv[c];
    }
    var[c] = 1.0 / std::sqrt(var[c] + eps);
  }
}

#define PTL_INSTANTIATE(T)                                                                       \
  template void batchnorm_prepare<T>(bool, double*, double*, T*, T*, int64_t, double, double,   \
                                     double);                                                    \
  template void batchnorm_stats<T>(const T*, int64_t, int64_t, int64_t, double*, double*);      \
  template void batchnorm_apply<T>(const T*, const double*, const double*, const T*, const T*,  \
                                   T*, int64_t, int64_t, int64_t);                               \
  template void batchnorm_backward<T>(const T*, const T*, const double*, const double*,         \
                                      const T*, T*, T*, T*, int64_t, int64_t, int64_t, bool);
PTL_INSTANTIATE(float)
PTL_INSTANTIATE(double)
#undef PTL_INSTANTIATE

}  // namespace ptl::cpu
