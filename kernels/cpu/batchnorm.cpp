#include "kernels/cpu/batchnorm.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "base/parallel.h"

namespace ptl::cpu {

namespace {
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
      sgx.v[j] += gv * (static_cast<double>(p[i + j]) - m);
    }
  for (int j = 0; i < S; ++i, ++j) {
    const double gv = static_cast<double>(g[i]);
    sg.v[j] += gv;
    sgx.v[j] += gv * (static_cast<double>(p[i]) - m);
  }
}
// out[i] = y[i] > 0 ? g[i] : 0, relu's backward (both loads unconditional, so it vectorises).
template <class T>
inline void mask_row(const T* g, const T* y, T* out, int64_t S) {
  for (int64_t i = 0; i < S; ++i) {
    const T gi = g[i], yi = y[i];
    out[i] = yi > T(0) ? gi : T(0);
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
  parallel_for(
      N * C, std::max<int64_t>(1, 4096 / std::max<int64_t>(S, 1)), [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          const int64_t c = r % C;
          const T scale = static_cast<T>(invstd[c] * (w ? static_cast<double>(w[c]) : 1.0));
          const T shift = static_cast<T>((b ? static_cast<double>(b[c]) : 0.0) -
                                         mean[c] * static_cast<double>(scale));
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
                     T* y, int64_t N, int64_t C, int64_t S, bool relu) {
  (relu ? apply_impl<T, true> : apply_impl<T, false>)(x, mean, invstd, w, b, y, N, C, S);
}

namespace {
// The rows of gy of one thread's channels; with `y` (the relu output) each is first masked to
// gy * (y > 0), as relu's backward does, into a scratch row, so the fused and the plain op run
// the very same arithmetic (bit-identical whatever the compiler contracts).
template <class T>
class GradRows {
 public:
  GradRows(const T* gy, const T* y, int64_t C, int64_t S)
      : gy_(gy), y_(y), C_(C), S_(S), masked_(y ? new T[static_cast<size_t>(S)] : nullptr) {}
  const T* operator()(int64_t n, int64_t c) const {
    const T* g = gy_ + (n * C_ + c) * S_;
    if (!y_) return g;
    mask_row(g, y_ + (n * C_ + c) * S_, masked_.get(), S_);
    return masked_.get();
  }

 private:
  const T *gy_, *y_;
  int64_t C_, S_;
  std::unique_ptr<T[]> masked_;
};

// Channel c's sums: sg = sum(gy), sgx = sum(gy * (x - mc)).
template <class T>
void channel_grad_sums(const GradRows<T>& gy, const T* x, double mc, int64_t N, int64_t C,
                       int64_t S, int64_t c, double& sg, double& sgx) {
  Lanes lg, lgx;
  for (int64_t n = 0; n < N; ++n) add_grad_row(lg, lgx, gy(n, c), x + (n * C + c) * S, S, mc);
  sg = lg.total();
  sgx = lgx.total();
}

// Channel c's rows of gx = k * (gy - a - (x - mc) * bcoef) in training, k * gy in evaluation.
template <class T>
void channel_grad_input(const GradRows<T>& gy, const T* x, double mc, double k, double a,
                        double bcoef, T* gx, int64_t N, int64_t C, int64_t S, int64_t c,
                        bool training) {
  for (int64_t n = 0; n < N; ++n) {
    const T* g = gy(n, c);
    const T* p = x + (n * C + c) * S;
    T* o = gx + (n * C + c) * S;
    if (training)
      for (int64_t i = 0; i < S; ++i) o[i] = static_cast<T>(k * (g[i] - a - (p[i] - mc) * bcoef));
    else
      for (int64_t i = 0; i < S; ++i) o[i] = static_cast<T>(k * g[i]);
  }
}

// k = invstd * w, a = mean(gy), bcoef = mean(gy * xhat) * invstd, from the sums over M values.
struct InputCoefficients {
  double k, a, bcoef;
  InputCoefficients(double invstd, double w, double sg, double sgx, double M)
      : k(invstd * w), a(sg / M), bcoef(sgx * invstd / M * invstd) {}
};
}  // namespace

template <class T>
void batchnorm_backward(const T* gy, const T* y, const T* x, const double* mean,
                        const double* invstd, const T* w, T* gx, T* gw, T* gb, int64_t N, int64_t C,
                        int64_t S, bool training) {
  const double M = static_cast<double>(N * S);
  parallel_for(C, 1, [&](int64_t c0, int64_t c1) {
    const GradRows<T> rows(gy, y, C, S);
    for (int64_t c = c0; c < c1; ++c) {
      double sg, sgx;
      channel_grad_sums(rows, x, mean[c], N, C, S, c, sg, sgx);
      if (gw) gw[c] = static_cast<T>(sgx * invstd[c]);
      if (gb) gb[c] = static_cast<T>(sg);
      if (!gx) continue;
      const InputCoefficients q(invstd[c], w ? static_cast<double>(w[c]) : 1.0, sg, sgx, M);
      channel_grad_input(rows, x, mean[c], q.k, q.a, q.bcoef, gx, N, C, S, c, training);
    }
  });
}

template <class T>
void batchnorm_grad_sums(const T* gy, const T* y, const T* x, const double* mean, int64_t N,
                         int64_t C, int64_t S, double* sg, double* sgx) {
  parallel_for(C, 1, [&](int64_t c0, int64_t c1) {
    const GradRows<T> rows(gy, y, C, S);
    for (int64_t c = c0; c < c1; ++c)
      channel_grad_sums(rows, x, mean[c], N, C, S, c, sg[c], sgx[c]);
  });
}

template <class T>
void batchnorm_grad_input(const T* gy, const T* y, const T* x, const double* mean,
                          const double* invstd, const T* w, const double* sg, const double* sgx,
                          T* gx, int64_t N, int64_t C, int64_t S) {
  const double M = static_cast<double>(N * S);
  parallel_for(C, 1, [&](int64_t c0, int64_t c1) {
    const GradRows<T> rows(gy, y, C, S);
    for (int64_t c = c0; c < c1; ++c) {
      const InputCoefficients q(invstd[c], w ? static_cast<double>(w[c]) : 1.0, sg[c], sgx[c], M);
      channel_grad_input(rows, x, mean[c], q.k, q.a, q.bcoef, gx, N, C, S, c, true);
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

#include "kernels/contract/batchnorm_instances.inc"
PTL_INSTANTIATE_BATCHNORM()

}  // namespace ptl::cpu
