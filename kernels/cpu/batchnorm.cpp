#include "kernels/cpu/batchnorm.h"

#include <algorithm>
#include <cmath>

#include "engine/parallel.h"

namespace ptl::cpu {

namespace {
// The products that the masked (fused relu) and plain variants share are written as explicit
// fma so both compile to the same rounding whatever the compiler contracts.
// Double-precision sums over float rows with kLanes independent partial sums (lane j takes the
// elements whose index in the row is j mod kLanes), combined in lane order at the end. The lanes
// let the compiler vectorise and hide the add latency; the order is fixed by the shape alone,
// so results do not depend on the thread count.
constexpr int kLanes = 8;

struct Lanes {
  double v[kLanes] = {};
  double total() const {
    double s = 0;
    for (int j = 0; j < kLanes; ++j) s += v[j];
    return s;
  }
};

// acc += sum of p[i]
template <class T>
inline void add_row(Lanes& acc, const T* p, int64_t S) {
  int64_t i = 0;
  for (; i + kLanes <= S; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc.v[j] += static_cast<double>(p[i + j]);
  for (int j = 0; i < S; ++i, ++j) acc.v[j] += static_cast<double>(p[i]);
}

// acc += sum of (p[i] - m)^2
template <class T>
inline void add_sq_row(Lanes& acc, const T* p, int64_t S, double m) {
  int64_t i = 0;
  for (; i + kLanes <= S; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const double d = static_cast<double>(p[i + j]) - m;
      acc.v[j] += d * d;
    }
  for (int j = 0; i < S; ++i, ++j) {
    const double d = static_cast<double>(p[i]) - m;
    acc.v[j] += d * d;
  }
}

// sg += sum of g[i], sgx += sum of g[i] * (p[i] - m)
template <class T>
inline void add_grad_row(Lanes& sg, Lanes& sgx, const T* g, const T* p, int64_t S, double m) {
  int64_t i = 0;
  for (; i + kLanes <= S; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const double gv = static_cast<double>(g[i + j]);
      sg.v[j] += gv;
      sgx.v[j] = std::fma(gv, static_cast<double>(p[i + j]) - m, sgx.v[j]);
    }
  for (int j = 0; i < S; ++i, ++j) {
    const double gv = static_cast<double>(g[i]);
    sg.v[j] += gv;
    sgx.v[j] = std::fma(gv, static_cast<double>(p[i]) - m, sgx.v[j]);
  }
}
// as add_grad_row with g[i] replaced by (y[i] > 0 ? g[i] : 0)
template <class T>
inline void add_grad_row_masked(Lanes& sg, Lanes& sgx, const T* g, const T* y, const T* p, int64_t S, double m) {
  int64_t i = 0;
  for (; i + kLanes <= S; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const double gv = static_cast<double>(y[i + j] > T(0) ? g[i + j] : T(0));
      sg.v[j] += gv;
      sgx.v[j] = std::fma(gv, static_cast<double>(p[i + j]) - m, sgx.v[j]);
    }
  for (int j = 0; i < S; ++i, ++j) {
    const double gv = static_cast<double>(y[i] > T(0) ? g[i] : T(0));
    sg.v[j] += gv;
    sgx.v[j] = std::fma(gv, static_cast<double>(p[i]) - m, sgx.v[j]);
  }
}
}  // namespace

template <class T>
void batchnorm_stats(const T* x, int64_t N, int64_t C, int64_t S, double* mean, double* var) {
  parallel_for(C, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      Lanes s, ss;
      for (int64_t n = 0; n < N; ++n) add_row(s, x + (n * C + c) * S, S);
      const double m = s.total() / static_cast<double>(N * S);
      for (int64_t n = 0; n < N; ++n) add_sq_row(ss, x + (n * C + c) * S, S, m);
      mean[c] = m;
      var[c] = ss.total() / static_cast<double>(N * S);
    }
  });
}

namespace {
// y = x * scale[c] + shift[c], then max(y, 0) when Relu (NaN kept, as relu()).
template <class T, bool Relu>
void apply_impl(const T* x, const double* mean, const double* invstd, const T* w, const T* b, T* y,
                int64_t N, int64_t C, int64_t S) {
  parallel_for(N * C, std::max<int64_t>(1, 4096 / std::max<int64_t>(S, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t c = r % C;
      const T scale = static_cast<T>(invstd[c] * (w ? static_cast<double>(w[c]) : 1.0));
      const T shift = static_cast<T>((b ? static_cast<double>(b[c]) : 0.0) - mean[c] * static_cast<double>(scale));
      const T* p = x + r * S;
      T* q = y + r * S;
      for (int64_t i = 0; i < S; ++i) {
        const T v = p[i] * scale + shift;
        q[i] = Relu ? (v <= T(0) ? T(0) : v) : v;
      }
    }
  });
}
}  // namespace

template <class T>
void batchnorm_apply(const T* x, const double* mean, const double* invstd, const T* w, const T* b,
                     T* y, int64_t N, int64_t C, int64_t S) {
  apply_impl<T, false>(x, mean, invstd, w, b, y, N, C, S);
}

template <class T>
void batchnorm_apply_relu(const T* x, const double* mean, const double* invstd, const T* w, const T* b,
                          T* y, int64_t N, int64_t C, int64_t S) {
  apply_impl<T, true>(x, mean, invstd, w, b, y, N, C, S);
}

namespace {
// With `y` (the relu output), gy is first masked to gy * (y > 0), as relu's backward does.
template <class T>
void backward_impl(const T* gy, const T* y, const T* x, const double* mean, const double* invstd,
                   const T* w, T* gx, T* gw, T* gb, int64_t N, int64_t C, int64_t S, bool training) {
  const double M = static_cast<double>(N * S);
  parallel_for(C, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      // sum(gy) and sum(gy * xhat) for the channel.
      Lanes lg, lgx;
      for (int64_t n = 0; n < N; ++n)
        if (y)
          add_grad_row_masked(lg, lgx, gy + (n * C + c) * S, y + (n * C + c) * S, x + (n * C + c) * S, S, mean[c]);
        else
          add_grad_row(lg, lgx, gy + (n * C + c) * S, x + (n * C + c) * S, S, mean[c]);
      const double sg = lg.total(), sgx = lgx.total() * invstd[c];
      if (gw) gw[c] = static_cast<T>(sgx);
      if (gb) gb[c] = static_cast<T>(sg);
      if (!gx) continue;
      const double k = invstd[c] * (w ? static_cast<double>(w[c]) : 1.0);
      for (int64_t n = 0; n < N; ++n) {
        const T* g = gy + (n * C + c) * S;
        const T* p = x + (n * C + c) * S;
        T* o = gx + (n * C + c) * S;
        const T* q = y ? y + (n * C + c) * S : nullptr;
        if (training) {
          // dx = k * (gy - mean(gy) - xhat * mean(gy * xhat))
          const double a = sg / M, bcoef = sgx / M * invstd[c], mc = mean[c];
          if (q)
            for (int64_t i = 0; i < S; ++i)
              o[i] = static_cast<T>(k * std::fma(mc - p[i], bcoef, static_cast<double>(q[i] > T(0) ? g[i] : T(0)) - a));
          else
            for (int64_t i = 0; i < S; ++i) o[i] = static_cast<T>(k * std::fma(mc - p[i], bcoef, static_cast<double>(g[i]) - a));
        } else {
          if (q)
            for (int64_t i = 0; i < S; ++i) o[i] = static_cast<T>(k * (q[i] > T(0) ? g[i] : T(0)));
          else
            for (int64_t i = 0; i < S; ++i) o[i] = static_cast<T>(k * g[i]);
        }
      }
    }
  });
}

}  // namespace

template <class T>
void batchnorm_backward(const T* gy, const T* x, const double* mean, const double* invstd,
                        const T* w, T* gx, T* gw, T* gb, int64_t N, int64_t C, int64_t S,
                        bool training) {
  backward_impl<T>(gy, nullptr, x, mean, invstd, w, gx, gw, gb, N, C, S, training);
}

template <class T>
void batchnorm_backward_relu(const T* gy, const T* y, const T* x, const double* mean, const double* invstd,
                             const T* w, T* gx, T* gw, T* gb, int64_t N, int64_t C, int64_t S,
                             bool training) {
  backward_impl<T>(gy, y, x, mean, invstd, w, gx, gw, gb, N, C, S, training);
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

#include "kernels/contract/batchnorm_instances.inc"
PTL_INSTANTIATE_BATCHNORM()

}  // namespace ptl::cpu
