#include "kernels/cpu/optim.h"

#include "kernels/cpu/isa.h"

namespace ptl::cpu {

namespace {
// Runs f(i) for every element of one slot, in parallel chunks.
template <class F>
void each(int64_t n, const F& f) {
  parallel_for_isa(n, 1 << 14, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) f(i);
  });
}
}  // namespace

template <class T>
void sgd_update(const std::vector<SgdSlot<T>>& slots) {
  for (const SgdSlot<T>& s : slots) {
    T unused = 0;  // without momentum the buffer is never read
    each(s.n, [&](int64_t i) { sgd_elem(s.p[i], s.buf ? s.buf[i] : unused, s.g[i], s.h); });
  }
}

template <class T>
void adam_update(const std::vector<AdamSlot<T>>& slots) {
  for (const AdamSlot<T>& s : slots) {
    T* vmax = s.vmax ? s.vmax : s.v;  // vmax is not read without AMSGrad
    each(s.n, [&](int64_t i) { adam_elem(s.p[i], s.m[i], s.v[i], vmax[i], s.g[i], s.h); });
  }
}

#include "kernels/contract/optim_instances.inc"
PTL_INSTANTIATE_OPTIM()

}  // namespace ptl::cpu
