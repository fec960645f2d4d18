#include "kernels/cpu/reduce.h"

#include <cmath>
#include <vector>

#include "base/parallel.h"

namespace ptl::cpu {

template <class T>
void sum_dim(const T* x, T* out, int64_t outer, int64_t size, int64_t inner) {
  if (inner == 1 && outer == 1) {
    // One long sum: fixed chunks summed in parallel, partials combined in order.
    constexpr int64_t kChunk = 1 << 16;
    const int64_t chunks = (size + kChunk - 1) / kChunk;
    std::vector<double> part(static_cast<size_t>(chunks > 0 ? chunks : 1), 0.0);
    parallel_for(chunks, 1, [&](int64_t b, int64_t e) {
      for (int64_t c = b; c < e; ++c) {
        double s = 0;
        const int64_t end = std::min(size, (c + 1) * kChunk);
        for (int64_t i = c * kChunk; i < end; ++i) s += x[i];
        part[c] = s;
      }
    });
    double s = 0;
    for (double p : part) s += p;
    out[0] = static_cast<T>(s);
    return;
  }
  const int64_t grain = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, size * inner));
  parallel_for(outer, grain, [&](int64_t b, int64_t e) {
    std::vector<double> acc(static_cast<size_t>(inner));
    for (int64_t o = b; o < e; ++o) {
      std::fill(acc.begin(), acc.end(), 0.0);
      const T* p = x + o * size * inner;
      for (int64_t s = 0; s < size; ++s)
        for (int64_t i = 0; i < inner; ++i) acc[i] += p[s * inner + i];
      for (int64_t i = 0; i < inner; ++i) out[o * inner + i] = static_cast<T>(acc[i]);
    }
  });
}

template <class T>
void extreme_dim(const T* x, T* val, int64_t* idx, int64_t outer, int64_t size, int64_t inner,
                 bool is_max) {
  parallel_for(outer * inner, 1024, [&](int64_t b, int64_t e) {
    for (int64_t oi = b; oi < e; ++oi) {
      const int64_t o = oi / inner, i = oi % inner;
      const T* p = x + o * size * inner + i;
      T best = p[0];
      int64_t bi = 0;
      for (int64_t s = 1; s < size && !std::isnan(best); ++s) {
        T v = p[s * inner];
        if (std::isnan(v) || (is_max ? v > best : v < best)) {
          best = v;
          bi = s;
        }
      }
      val[oi] = best;
      idx[oi] = bi;
    }
  });
}

template <class T>
void extreme_dim_backward(const T* g, const int64_t* idx, T* gx, int64_t outer, int64_t size,
                          int64_t inner) {
  for (int64_t oi = 0; oi < outer * inner; ++oi) {
    const int64_t o = oi / inner, i = oi % inner;
    gx[(o * size + idx[oi]) * inner + i] += g[oi];
  }
}

template <class T>
void sum_slices(const T* parts, int64_t slices, int64_t chunk, T* out) {
  for (int64_t i = 0; i < chunk; ++i) {
    T s = parts[i];
    for (int64_t r = 1; r < slices; ++r) s += parts[r * chunk + i];
    out[i] = s;
  }
}

#include "kernels/contract/reduce_instances.inc"
PTL_INSTANTIATE_REDUCE()

}  // namespace ptl::cpu
