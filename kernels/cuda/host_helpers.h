// Host-side planning for the CUDA kernels, in plain C++ (no CUDA headers) so the CPU tests can
// check it (tests/test_cuda_host_helpers.cpp):
//   - StridedIndex<K>: a shape with K element-stride sets, dimensions of size 1 dropped and
//     neighbouring dimensions merged where every operand allows it; passed by value to kernels;
//   - PoolTable: the windows of a PoolWindows packed into one 8-byte-word table for upload;
//   - plan_chunks: (slot, begin) work items of the multi-tensor optimizer kernels;
//   - split_parts: how long reductions are cut into fixed pieces;
// and the host-device pieces of kernel logic that the CPU tests run as they are:
//   - extreme_takes_over: the (value, index) rule of the max/min tree reductions;
//   - PoolTableView, max_pool_gather, avg_pool_gather: the pooling backward as a gather.
#pragma once
#include <cstdint>
#include <cstring>
#include <vector>

#include "base/error.h"
#include "kernels/elementwise_math.h"  // PTL_HD
#include "kernels/pool_windows.h"

namespace ptl::cuda {

constexpr int kMaxDims = 8;

// Row-major index space of `size[0..nd)` with K operands, each with its element strides.
// nd == 0 is a single element at offset 0.
template <int K>
struct StridedIndex {
  int nd = 0;
  int64_t size[kMaxDims] = {};
  int64_t stride[K][kMaxDims] = {};

  // Offsets of the K operands at row-major linear index i (I: the index type, int32 when the
  // element count fits, int64 otherwise; the strides stay int64).
  template <class I>
  PTL_HD void offsets(I i, int64_t (&off)[K]) const {
    for (int k = 0; k < K; ++k) off[k] = 0;
    for (int d = nd - 1; d >= 0; --d) {
      const I n = static_cast<I>(size[d]);
      const I q = i / n;
      const int64_t r = static_cast<int64_t>(i - q * n);
      i = q;
      for (int k = 0; k < K; ++k) off[k] += r * stride[k][d];
    }
  }

  int64_t numel() const {
    int64_t n = 1;
    for (int d = 0; d < nd; ++d) n *= size[d];
    return n;
  }
  // True when every operand walks memory contiguously (one dimension of unit strides, or 0-d).
  bool contiguous() const {
    if (nd == 0) return true;
    if (nd > 1) return false;
    for (int k = 0; k < K; ++k)
      if (stride[k][0] != 1) return false;
    return true;
  }
};

// Builds the StridedIndex of `shape` with the K stride vectors (each of shape.size() entries):
// drops dimensions of size 1, and merges dimension d into d+1 when for every operand
// stride[d] == stride[d+1] * size[d+1] (negative strides included). A shape with a zero
// dimension gives numel() == 0.
template <int K>
StridedIndex<K> make_strided_index(const std::vector<int64_t>& shape,
                                   const std::vector<int64_t>* const (&strides)[K]) {
  PTL_CHECK(shape.size() <= static_cast<size_t>(kMaxDims), "CUDA kernels take at most ", kMaxDims,
            " dimensions, got ", shape.size());
  for (int k = 0; k < K; ++k)
    PTL_CHECK(strides[k]->size() == shape.size(), "stride vector ", k, " has ", strides[k]->size(),
              " entries for ", shape.size(), " dimensions");
  StridedIndex<K> ix;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 0) {  // empty: one zero-size dimension
      ix.nd = 1;
      ix.size[0] = 0;
      for (int k = 0; k < K; ++k) ix.stride[k][0] = 1;
      return ix;
    }
  }
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (ix.nd > 0) {
      const int last = ix.nd - 1;
      bool merge = true;
      for (int k = 0; k < K; ++k)
        if (ix.stride[k][last] != (*strides[k])[d] * shape[d]) merge = false;
      if (merge) {
        ix.size[last] *= shape[d];
        for (int k = 0; k < K; ++k) ix.stride[k][last] = (*strides[k])[d];
        continue;
      }
    }
    ix.size[ix.nd] = shape[d];
    for (int k = 0; k < K; ++k) ix.stride[k][ix.nd] = (*strides[k])[d];
    ++ix.nd;
  }
  return ix;
}

// Row-major strides of a contiguous tensor of `shape`.
inline std::vector<int64_t> row_major_strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size());
  int64_t acc = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

// The windows of a PoolWindows as one table of 8-byte words, uploaded once per geometry:
//   [h0 (OH) | h1 (OH) | w0 (OW) | w1 (OW) | hlo (H) | hhi (H) | wlo (W) | whi (W) | divisor (OH*OW, doubles)]
// hlo[h]..hhi[h] (inclusive) bound the output rows whose window contains input row h (hlo > hhi
// when none does); likewise wlo/whi for columns. The backward kernels gather through them.
// The divisor part is empty when pw.divisor is.
struct PoolTable {
  int64_t H = 0, W = 0, OH = 0, OW = 0;
  std::vector<int64_t> words;
  bool has_divisor = false;
  // Word offsets of each part.
  int64_t h0() const { return 0; }
  int64_t h1() const { return OH; }
  int64_t w0() const { return 2 * OH; }
  int64_t w1() const { return 2 * OH + OW; }
  int64_t hlo() const { return 2 * OH + 2 * OW; }
  int64_t hhi() const { return 2 * OH + 2 * OW + H; }
  int64_t wlo() const { return 2 * OH + 2 * OW + 2 * H; }
  int64_t whi() const { return 2 * OH + 2 * OW + 2 * H + W; }
  int64_t divisor() const { return 2 * OH + 2 * OW + 2 * H + 2 * W; }
};

inline PoolTable make_pool_table(const PoolWindows& pw) {
  PTL_CHECK(static_cast<int64_t>(pw.h0.size()) == pw.OH && static_cast<int64_t>(pw.h1.size()) == pw.OH &&
                static_cast<int64_t>(pw.w0.size()) == pw.OW && static_cast<int64_t>(pw.w1.size()) == pw.OW,
            "pool windows: ", pw.h0.size(), "/", pw.h1.size(), " row and ", pw.w0.size(), "/",
            pw.w1.size(), " column windows for a ", pw.OH, "x", pw.OW, " output");
  PTL_CHECK(pw.divisor.empty() || static_cast<int64_t>(pw.divisor.size()) == pw.OH * pw.OW,
            "pool windows: ", pw.divisor.size(), " divisors for a ", pw.OH, "x", pw.OW, " output");
  PoolTable t;
  t.H = pw.H;
  t.W = pw.W;
  t.OH = pw.OH;
  t.OW = pw.OW;
  t.has_divisor = !pw.divisor.empty();
  t.words.assign(static_cast<size_t>(t.divisor() + (t.has_divisor ? pw.OH * pw.OW : 0)), 0);
  int64_t* w = t.words.data();
  // Which outputs cover each input row/column: [lo, hi], or lo > hi for none.
  auto cover = [](const std::vector<int64_t>& a, const std::vector<int64_t>& b, int64_t in,
                  int64_t* lo, int64_t* hi) {
    const int64_t out = static_cast<int64_t>(a.size());
    for (int64_t i = 0; i < in; ++i) {
      lo[i] = out;
      hi[i] = -1;
    }
    for (int64_t o = 0; o < out; ++o)
      for (int64_t i = a[o] < 0 ? 0 : a[o]; i < b[o] && i < in; ++i) {
        if (o < lo[i]) lo[i] = o;
        if (o > hi[i]) hi[i] = o;
      }
  };
  for (int64_t o = 0; o < pw.OH; ++o) {
    w[t.h0() + o] = pw.h0[o];
    w[t.h1() + o] = pw.h1[o];
  }
  for (int64_t o = 0; o < pw.OW; ++o) {
    w[t.w0() + o] = pw.w0[o];
    w[t.w1() + o] = pw.w1[o];
  }
  cover(pw.h0, pw.h1, pw.H, w + t.hlo(), w + t.hhi());
  cover(pw.w0, pw.w1, pw.W, w + t.wlo(), w + t.whi());
  if (t.has_divisor)
    std::memcpy(w + t.divisor(), pw.divisor.data(), pw.divisor.size() * sizeof(double));
  return t;
}

// Pointers into a PoolTable's words (host or device memory), passed to kernels by value.
struct PoolTableView {
  int64_t H, W, OH, OW;
  const int64_t *h0, *h1, *w0, *w1, *hlo, *hhi, *wlo, *whi;
  const double* divisor;  // null when the table has none
};

inline PoolTableView view_pool_table(const PoolTable& t, const int64_t* words) {
  PoolTableView v;
  v.H = t.H;
  v.W = t.W;
  v.OH = t.OH;
  v.OW = t.OW;
  v.h0 = words + t.h0();
  v.h1 = words + t.h1();
  v.w0 = words + t.w0();
  v.w1 = words + t.w1();
  v.hlo = words + t.hlo();
  v.hhi = words + t.hhi();
  v.wlo = words + t.wlo();
  v.whi = words + t.whi();
  v.divisor = t.has_divisor ? reinterpret_cast<const double*>(words + t.divisor()) : nullptr;
  return v;
}

// f(o) for every output o = oh * OW + ow of one plane whose window holds the input (h, w), in
// increasing o: the outputs that the CPU's scatter adds into (h, w), in its order.
template <class F>
PTL_HD void for_each_window_over(const PoolTableView& v, int64_t h, int64_t w, F f) {
  for (int64_t oh = v.hlo[h]; oh <= v.hhi[h]; ++oh) {
    if (h < v.h0[oh] || h >= v.h1[oh]) continue;
    for (int64_t ow = v.wlo[w]; ow <= v.whi[w]; ++ow) {
      if (w < v.w0[ow] || w >= v.w1[ow]) continue;
      f(oh * v.OW + ow);
    }
  }
}

// Max-pool input gradient at (h, w) of one plane: the sum of gy over the outputs whose window
// holds (h, w) and whose argmax idx is h * W + w, added in increasing output order from 0: the
// CPU's scatter (kernels/cpu/pool.cpp) seen from the input side, bit for bit.
template <class T>
PTL_HD T max_pool_gather(const PoolTableView& v, const int64_t* idx, const T* gy, int64_t h, int64_t w) {
  const int64_t k = h * v.W + w;
  T acc = T(0);
  for_each_window_over(v, h, w, [&](int64_t o) {
    if (idx[o] == k) acc += gy[o];
  });
  return acc;
}

// Avg-pool input gradient at (h, w) of one plane: sum of T(gy / divisor) over the outputs whose
// window holds (h, w), in increasing output order (the CPU's scatter order).
template <class T>
PTL_HD T avg_pool_gather(const PoolTableView& v, const T* gy, int64_t h, int64_t w) {
  T acc = T(0);
  for_each_window_over(v, h, w, [&](int64_t o) {
    acc += static_cast<T>(static_cast<double>(gy[o]) / v.divisor[o]);
  });
  return acc;
}

// One block's work in a multi-tensor launch: elements [begin, min(begin + chunk, n)) of `slot`.
struct ChunkItem {
  int32_t slot;
  int64_t begin;
};

// Splits slots of sizes ns into fixed chunks of `chunk` elements, slot by slot (empty slots
// give no item).
inline std::vector<ChunkItem> plan_chunks(const std::vector<int64_t>& ns, int64_t chunk) {
  PTL_CHECK(chunk > 0, "plan_chunks: chunk must be positive");
  std::vector<ChunkItem> items;
  for (size_t s = 0; s < ns.size(); ++s)
    for (int64_t b = 0; b < ns[s]; b += chunk) items.push_back({static_cast<int32_t>(s), b});
  return items;
}

// Pieces for `reductions` independent sums of `size` elements each: 1 when there are at least
// `enough` of them or they are short; else enough pieces to reach `enough`, each of at least
// `min_chunk` elements, at most 1024. The split depends only on the shape (deterministic).
inline int64_t split_parts(int64_t reductions, int64_t size, int64_t enough, int64_t min_chunk) {
  if (reductions >= enough || size <= 2 * min_chunk) return 1;
  int64_t parts = (enough + reductions - 1) / reductions;
  if (parts > size / min_chunk) parts = size / min_chunk;
  if (parts > 1024) parts = 1024;
  return parts < 1 ? 1 : parts;
}

template <class T>
PTL_HD bool is_nan(T x) {
  return x != x;
}

// Whether candidate (av, ai) replaces (bv, bi) in a max (is_max) or min reduction with the CPU's
// sequential rule (kernels/cpu/reduce.cpp: the first strictly better value wins, the first NaN
// wins and stops the scan): a NaN beats any number and a later NaN; else a strictly better value
// wins, an equal one only at a smaller index. Commutative and associative, so every reduction
// tree gives the sequential answer.
template <class T>
PTL_HD bool extreme_takes_over(T av, int64_t ai, T bv, int64_t bi, bool is_max) {
  const bool an = is_nan(av), bn = is_nan(bv);
  if (an || bn) return an && (!bn || ai < bi);
  if (is_max ? av > bv : av < bv) return true;
  return av == bv && ai < bi;
}

}  // namespace ptl::cuda
