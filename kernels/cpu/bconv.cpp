#include "kernels/cpu/bconv.h"

#include "engine/parallel.h"
#include "kernels/bconv_math.h"

namespace ptl::cpu {

template <class T>
void bconv_gates_forward(const T* z, const T* c_prev, T* h, T* c, int64_t N, int64_t C, int64_t S) {
  const int64_t plane = C * S;
  parallel_for(N * C, std::max<int64_t>(1, 8192 / std::max<int64_t>(S, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / C, ch = r % C;
      const T* zi = z + n * 4 * plane + ch * S;  // gate blocks are `plane` apart
      const int64_t o = r * S;
      for (int64_t s = 0; s < S; ++s)
        bconv_forward_elem(zi[s], zi[plane + s], zi[2 * plane + s], zi[3 * plane + s], c_prev[o + s],
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
        bconv_backward_elem(z[zo + s], z[zo + plane + s], z[zo + 2 * plane + s], z[zo + 3 * plane + s],
                            c_prev[o + s], gh[o + s], &gz[zo + s], &gz[zo + plane + s],
                            &gz[zo + 2 * plane + s], &gz[zo + 3 * plane + s]);
    }
  });
}

#include "kernels/contract/bconv_instances.inc"
PTL_INSTANTIATE_BCONV()

}  // namespace ptl::cpu
