#include "kernels/cpu/softmax.h"

#include <cmath>
#include <limits>
#include <vector>

#include "base/parallel.h"

namespace ptl::cpu {

template <class T>
void log_softmax_forward(const T* x, T* y, int64_t outer, int64_t size, int64_t inner) {
  parallel_for(outer * inner, 64, [&](int64_t b, int64_t e) {
    for (int64_t oi = b; oi < e; ++oi) {
      const int64_t o = oi / inner, i = oi % inner;
      const T* p = x + o * size * inner + i;
      T* q = y + o * size * inner + i;
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t s = 0; s < size; ++s) m = std::max(m, static_cast<double>(p[s * inner]));
      double z = 0;
      for (int64_t s = 0; s < size; ++s) z += std::exp(p[s * inner] - m);
      const double lse = m + std::log(z);
      for (int64_t s = 0; s < size; ++s) q[s * inner] = static_cast<T>(p[s * inner] - lse);
    }
  });
}

template <class T>
void log_softmax_backward(const T* g, const T* y, T* gx, int64_t outer, int64_t size,
                          int64_t inner) {
  parallel_for(outer * inner, 64, [&](int64_t b, int64_t e) {
    for (int64_t oi = b; oi < e; ++oi) {
      const int64_t base = (oi / inner) * size * inner + oi % inner;
      double sg = 0;
      for (int64_t s = 0; s < size; ++s) sg += g[base + s * inner];
      for (int64_t s = 0; s < size; ++s) {
        const int64_t k = base + s * inner;
        gx[k] = static_cast<T>(g[k] - std::exp(static_cast<double>(y[k])) * sg);
      }
    }
  });
}

template <class T>
void cross_entropy_forward(const T* logits, const int64_t* target, T* prob, T* loss, int64_t N,
                           int64_t K, double eps) {
  std::vector<double> row_loss(static_cast<size_t>(N));
  parallel_for(N, 16, [&](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; ++n) {
      const T* x = logits + n * K;
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t k = 0; k < K; ++k) m = std::max(m, static_cast<double>(x[k]));
      double z = 0, sum_logp = 0;
      for (int64_t k = 0; k < K; ++k) z += std::exp(x[k] - m);
      const double lse = m + std::log(z);
      for (int64_t k = 0; k < K; ++k) {
        const double lp = x[k] - lse;
        sum_logp += lp;
        prob[n * K + k] = static_cast<T>(std::exp(lp));
      }
      const bool valid = target[n] >= 0 && target[n] < K;
      row_loss[n] =
          !valid ? std::numeric_limits<double>::quiet_NaN()
                 : -(1 - eps) * (x[target[n]] - lse) - eps / static_cast<double>(K) * sum_logp;
    }
  });
  double total = 0;
  for (double l : row_loss) total += l;
  loss[0] = static_cast<T>(total / static_cast<double>(N));
}

template <class T>
void cross_entropy_backward(const T* prob, const int64_t* target, const T* g, T* gx, int64_t N,
                            int64_t K, double eps) {
  const double scale = static_cast<double>(g[0]) / static_cast<double>(N);
  const double uniform = eps / static_cast<double>(K);
  parallel_for(N, 16, [&](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; ++n)
      for (int64_t k = 0; k < K; ++k) {
        const double t = (k == target[n] ? 1 - eps : 0.0) + uniform;
        gx[n * K + k] = static_cast<T>(scale * (prob[n * K + k] - t));
      }
  });
}

#include "kernels/contract/softmax_instances.inc"
PTL_INSTANTIATE_SOFTMAX()

}  // namespace ptl::cpu
