#include "kernels/cpu/bconv.h"

#include <cmath>

#include "engine/parallel.h"
#include "kernels/bconv_math.h"

namespace ptl::cpu {

namespace {
// float tanh through one double exp: glibc's tanhf goes through expm1f and took about half of a
// BConv-Cell's forward+backward time (5 tanh per element). Evaluated in double and rounded once,
// it is within one float ulp of tanhf; NaN propagates, +-inf give +-1.
inline float tanh_cpu(float xf) {
  const double x = xf, ax = std::fabs(x);
  if (ax < 1e-4) return static_cast<float>(x - x * x * x / 3);  // next term 2x^5/15 < 1e-20 relative
  if (ax > 20) return x > 0 ? 1.0f : -1.0f;                       // 1 - tanh(20) = 8e-18
  const double e = std::exp(2 * ax), t = (e - 1) / (e + 1);
  return static_cast<float>(x < 0 ? -t : t);
}
inline double tanh_cpu(double x) { return std::tanh(x); }

// kernels/bconv_math.h's bconv_forward_elem / bconv_backward_elem with tanh_cpu (the formulas
// are the same; float32 uses the faster tanh, float64 the shared functions' std::tanh).
template <class T>
inline void forward_elem(T zi, T zf, T zo, T zg, T c_prev, T* h, T* c) {
  const T i = sigmoid_of(zi), f = sigmoid_of(zf), o = sigmoid_of(zo), g = tanh_cpu(zg);
  *c = f * c_prev + i * g;
  *h = o * tanh_cpu(*c);
}
template <class T>
inline void backward_elem(T zi, T zf, T zo, T zg, T c_prev, T gh, T* gi, T* gf, T* go, T* gg) {
  const T i = sigmoid_of(zi), f = sigmoid_of(zf), o = sigmoid_of(zo), g = tanh_cpu(zg);
  const T tc = tanh_cpu(f * c_prev + i * g);
  const T gc = gh * o * (T(1) - tc * tc);
  *go = gh * tc * o * (T(1) - o);
  *gi = gc * g * i * (T(1) - i);
  *gf = gc * c_prev * f * (T(1) - f);
  *gg = gc * i * (T(1) - g * g);
}
}  // namespace

template <class T>
void bconv_gates_forward(const T* z, const T* c_prev, T* h, T* c, int64_t N, int64_t C, int64_t S) {
  const int64_t plane = C * S;
  parallel_for(N * C, std::max<int64_t>(1, 8192 / std::max<int64_t>(S, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / C, ch = r % C;
      const T* zi = z + n * 4 * plane + ch * S;  // gate blocks are `plane` apart
      const int64_t o = r * S;
      for (int64_t s = 0; s < S; ++s)
        forward_elem(zi[s], zi[plane + s], zi[2 * plane + s], zi[3 * plane + s], c_prev[o + s],
                           &h[o + s], &c[o + s]);
    }
  });
}

template <class T>
void bconv_gates_backward(const T* z, const T* c_prev, const T* gh, T* gz, int64_t N, int64_t C, int64_t S) {
  const int64_t plane = C * S;
  parallel_for(N * C, std::max<int64_t>(1, 8192 / std::max<int64_t>(S, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / C, ch = r % C;
      const int64_t zo = n * 4 * plane + ch * S, o = r * S;
      for (int64_t s = 0; s < S; ++s)
        backward_elem(z[zo + s], z[zo + plane + s], z[zo + 2 * plane + s], z[zo + 3 * plane + s],
                            c_prev[o + s], gh[o + s], &gz[zo + s], &gz[zo + plane + s],
                            &gz[zo + 2 * plane + s], &gz[zo + 3 * plane + s]);
    }
  });
}

#include "kernels/contract/bconv_instances.inc"
PTL_INSTANTIATE_BCONV()

}  // namespace ptl::cpu
