#include "kernels/cpu/triplet.h"

#include <cmath>
#include <limits>

#include "base/parallel.h"
#include "kernels/triplet_math.h"

namespace ptl::cpu {

template <class T>
void batch_hard_mine(const T* dist, const int64_t* labels, T* pos_value, int64_t* pos_index,
                     T* neg_value, int64_t* neg_index, int64_t N) {
  parallel_for(N, 16, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const T* row = dist + i * N;
      MinedPair<T> pos, neg;
      for (int64_t j = 0; j < N; ++j) {
        if (labels[j] == labels[i]) {
          if (j != i) pos.template offer<true>(row[j], j);
        } else {
          neg.template offer<false>(row[j], j);
        }
      }
      pos_value[i] = pos.value();
      pos_index[i] = pos.index;
      neg_value[i] = neg.value();
      neg_index[i] = neg.index;
    }
  });
}

template <class T>
void gather_pairs_forward(const T* x, const int64_t* index, T* out, int64_t N, int64_t M) {
  for (int64_t i = 0; i < N; ++i) {
    const int64_t j = index[i];
    out[i] = j >= 0 && j < M ? x[i * M + j] : std::numeric_limits<T>::quiet_NaN();
  }
}

template <class T>
void gather_pairs_backward(const T* g, const int64_t* index, T* gx, int64_t N, int64_t M) {
  parallel_for(N, 64, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      for (int64_t j = 0; j < M; ++j) gx[i * M + j] = j == index[i] ? g[i] : T(0);
  });
}

#include "kernels/contract/triplet_instances.inc"
PTL_INSTANTIATE_TRIPLET()

}  // namespace ptl::cpu
