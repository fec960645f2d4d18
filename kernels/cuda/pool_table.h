// Pooling on CUDA: the windows of a PoolWindows packed into one table of 8-byte words for
// upload, its device view, and the backward pass as a gather from the input side that adds in
// the CPU scatter's order. Plain C++ with host-device functions, so the CPU tests run the
// gathers as they are (tests/test_cuda_host_helpers.cpp).
#pragma once
#include <cstdint>
#include <cstring>
#include <vector>

#include "base/error.h"
#include "kernels/elementwise_math.h"  // PTL_HD
#include "kernels/pool_windows.h"

namespace ptl::cuda {

// The windows of a PoolWindows as one table of 8-byte words, uploaded once per geometry:
//   [h0 (OH) | h1 (OH) | w0 (OW) | w1 (OW) | hlo (H) | hhi (H) | wlo (W) | whi (W) | divisor
//   (OH*OW, doubles)]
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
  PTL_CHECK(static_cast<int64_t>(pw.h0.size()) == pw.OH &&
                static_cast<int64_t>(pw.h1.size()) == pw.OH &&
                static_cast<int64_t>(pw.w0.size()) == pw.OW &&
                static_cast<int64_t>(pw.w1.size()) == pw.OW,
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
PTL_HD T max_pool_gather(const PoolTableView& v, const int64_t* idx, const T* gy, int64_t h,
                         int64_t w) {
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

}  // namespace ptl::cuda
