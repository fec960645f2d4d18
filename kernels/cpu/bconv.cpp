#include "kernels/cpu/bconv.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "base/parallel.h"
#include "kernels/bconv_math.h"
#include "kernels/cpu/simd_math.h"

namespace ptl::cpu {

namespace {
using simd::f32x4;

// Float elements go four at a time through simd_math.h's sigmoid and tanh (within 0.5 ulp,
// where glibc's tanhf is within 2.1); double ones through the shared StdGateMath.
struct SimdGateMath {
  static f32x4 apply_sigmoid(f32x4 x) { return simd::sigmoid(x); }
  static f32x4 apply_tanh(f32x4 x) { return simd::tanh(x); }
};
template <class T>
using GateMath = std::conditional_t<std::is_same_v<T, float>, SimdGateMath, StdGateMath>;

// Calls fn(s, n) over [0, S) in steps of n elements: n = 1 for double, n = 4 (the last step
// shorter) for float, whose element functions take f32x4. The full steps pass n as a constant,
// so their loads and stores compile to single vector moves.
template <class T, class Fn>
inline void for_each_step(int64_t S, Fn fn) {
  constexpr int64_t kStep = std::is_same_v<T, float> ? 4 : 1;
  int64_t s = 0;
  for (; s + kStep <= S; s += kStep) fn(s, kStep);
  if (s < S) fn(s, S - s);
}

// Loads and stores of n elements at p: a scalar for double, up to four lanes for float.
inline double load_at(const double* p, int64_t) {
  return *p;
}
inline f32x4 load_at(const float* p, int64_t n) {
  return simd::load(p, n);
}
inline void store_at(double v, double* p, int64_t) {
  *p = v;
}
inline void store_at(f32x4 v, float* p, int64_t n) {
  simd::store(v, p, n);
}
}  // namespace

template <class T>
void bconv_gates_forward(const T* z, const T* c_prev, T* h, T* c, int64_t N, int64_t C, int64_t S) {
  const int64_t plane = C * S;
  parallel_for(
      N * C, std::max<int64_t>(1, 8192 / std::max<int64_t>(S, 1)), [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          const int64_t n = r / C, ch = r % C;
          const T* zi = z + n * 4 * plane + ch * S;  // gate blocks are `plane` apart
          const int64_t o = r * S;
          for_each_step<T>(S, [&](int64_t s, int64_t k) {
            using V = decltype(load_at(z, k));
            V hv, cv;
            bconv_forward_elem<V, GateMath<T>>(
                load_at(zi + s, k), load_at(zi + plane + s, k), load_at(zi + 2 * plane + s, k),
                load_at(zi + 3 * plane + s, k), load_at(c_prev + o + s, k), &hv, &cv);
            store_at(hv, h + o + s, k);
            store_at(cv, c + o + s, k);
          });
        }
      });
}

template <class T>
void bconv_gates_backward(const T* z, const T* c_prev, const T* gh, T* gz, int64_t N, int64_t C,
                          int64_t S) {
  const int64_t plane = C * S;
  parallel_for(N * C, std::max<int64_t>(1, 8192 / std::max<int64_t>(S, 1)),
               [&](int64_t r0, int64_t r1) {
                 for (int64_t r = r0; r < r1; ++r) {
                   const int64_t n = r / C, ch = r % C;
                   const int64_t zo = n * 4 * plane + ch * S, o = r * S;
                   for_each_step<T>(S, [&](int64_t s, int64_t k) {
                     const int64_t a = zo + s;
                     using V = decltype(load_at(z, k));
                     V gi, gf, go, gg;
                     bconv_backward_elem<V, GateMath<T>>(
                         load_at(z + a, k), load_at(z + a + plane, k),
                         load_at(z + a + 2 * plane, k), load_at(z + a + 3 * plane, k),
                         load_at(c_prev + o + s, k), load_at(gh + o + s, k), &gi, &gf, &go, &gg);
                     store_at(gi, gz + a, k);
                     store_at(gf, gz + a + plane, k);
                     store_at(go, gz + a + 2 * plane, k);
                     store_at(gg, gz + a + 3 * plane, k);
                   });
                 }
               });
}

#include "kernels/contract/bconv_instances.inc"
PTL_INSTANTIATE_BCONV()

}  // namespace ptl::cpu
