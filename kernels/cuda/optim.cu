// CUDA multi-tensor optimizer updates (kernels/contract/optim.inc), per-element math from
// kernels/optim_math.h (the CPU's functions).
//
// The slot table and a list of work items (slot, first element; host_helpers.h: plan_chunks)
// are uploaded in one allocation; one launch then updates every slot: each block takes work
// items and runs its chunk of one slot. Elements are independent, so the result does not depend
// on the split.
//
// Compiled with -fmad=false (cmake/cuda.cmake): the explicit fma calls of optim_math.h stay
// fused, every other multiply and add is rounded on its own, as on the CPU (-ffp-contract=off)
// and in PyTorch.
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/cuda/kernels.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/work_split.h"

namespace ptl::cuda {

namespace {

constexpr int64_t kChunk = 1 << 14;  // elements per work item

// One element of a slot: SGD (optim_math.h: sgd_elem) and Adam (adam_elem).
struct SgdElem {
  template <class Slot>
  __device__ void operator()(const Slot& s, int64_t i) const {
    using T = typename std::remove_pointer<decltype(Slot::p)>::type;
    T p = s.p[i];
    T buf = s.buf ? s.buf[i] : T(0);  // without momentum the buffer is never read
    sgd_elem(p, buf, s.g[i], s.h);
    s.p[i] = p;
    if (s.buf) s.buf[i] = buf;
  }
};

struct AdamElem {
  template <class Slot>
  __device__ void operator()(const Slot& s, int64_t i) const {
    using T = typename std::remove_pointer<decltype(Slot::p)>::type;
    T p = s.p[i], m = s.m[i], v = s.v[i];
    T vmax = s.vmax ? s.vmax[i] : T(0);  // not read without AMSGrad
    adam_elem(p, m, v, vmax, s.g[i], s.h);
    s.p[i] = p;
    s.m[i] = m;
    s.v[i] = v;
    if (s.vmax) s.vmax[i] = vmax;
  }
};

// Each block takes work items and applies Elem to every element of the item's chunk.
template <class Slot, class Elem>
__global__ void multi_tensor_kernel(const Slot* __restrict__ slots,
                                    const ChunkItem* __restrict__ items, int64_t n_items) {
  for (int64_t b = blockIdx.x; b < n_items; b += gridDim.x) {
    const ChunkItem item = items[b];
    const Slot s = slots[item.slot];
    const int64_t end = min(s.n, item.begin + kChunk);
    for (int64_t i = item.begin + threadIdx.x; i < end; i += blockDim.x) Elem{}(s, i);
  }
}

// Uploads slots and their work items in one allocation and runs `kernel` over them; the table is
// freed after the launch (stream-ordered: runtime.h).
template <class Slot, class Kernel>
void launch_multi_tensor(const std::vector<Slot>& slots, Kernel kernel) {
  if (slots.empty()) return;
  std::vector<int64_t> ns(slots.size());
  for (size_t i = 0; i < slots.size(); ++i) ns[i] = slots[i].n;
  const std::vector<ChunkItem> items = plan_chunks(ns, kChunk);
  if (items.empty()) return;

  const size_t slot_bytes = (sizeof(Slot) * slots.size() + 15) / 16 * 16;
  const size_t item_bytes = sizeof(ChunkItem) * items.size();
  std::vector<unsigned char> host(slot_bytes + item_bytes);
  std::memcpy(host.data(), slots.data(), sizeof(Slot) * slots.size());
  std::memcpy(host.data() + slot_bytes, items.data(), item_bytes);

  const int dev = current_device();
  cudaStream_t st = stream();
  unsigned char* table = static_cast<unsigned char*>(device_alloc(host.size(), dev));
  // From pageable memory the copy is staged before cudaMemcpyAsync returns, so `host` may go.
  PTL_CUDA_CHECK(cudaMemcpyAsync(table, host.data(), host.size(), cudaMemcpyHostToDevice, st));
  const int64_t n_items = static_cast<int64_t>(items.size());
  kernel<<<grid_for(n_items, 1), kBlock, 0, st>>>(
      reinterpret_cast<const Slot*>(table), reinterpret_cast<const ChunkItem*>(table + slot_bytes),
      n_items);
  PTL_CUDA_CHECK_LAUNCH();
  device_free(table, host.size(), dev);
}

}  // namespace

template <class T>
void sgd_update(const std::vector<SgdSlot<T>>& slots) {
  launch_multi_tensor(slots, multi_tensor_kernel<SgdSlot<T>, SgdElem>);
}

template <class T>
void adam_update(const std::vector<AdamSlot<T>>& slots) {
  launch_multi_tensor(slots, multi_tensor_kernel<AdamSlot<T>, AdamElem>);
}

#include "kernels/contract/optim_instances.inc"
PTL_INSTANTIATE_OPTIM()

}  // namespace ptl::cuda
