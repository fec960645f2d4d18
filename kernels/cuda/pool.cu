// CUDA 2-d pooling through PoolWindows (kernels/contract/pool.inc).
//
// The host-side windows become one table (host_helpers.h: PoolTable) uploaded once per window
// geometry and device, and kept in a small cache: later calls with the same geometry launch
// without any copy and without synchronising the host.
//
// Forward: one thread per output. Backward: one thread per input element, gathering from the
// outputs whose window contains it (their range comes from the table), in increasing output
// order, i.e. the CPU's scatter order: the same sums bit for bit, no atomics.
#include <map>
#include <mutex>
#include <vector>

#include "kernels/cuda/extreme_rule.h"
#include "kernels/cuda/kernels.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/pool_table.h"

namespace ptl::cuda {

namespace {

// Uploaded tables by (device, geometry). Never destroyed (the CUDA context may be gone at exit).
struct TableCache {
  struct Entry {
    void* ptr;
    size_t bytes;
    int device;
  };
  std::mutex mu;
  std::map<std::vector<int64_t>, Entry> entries;
};

TableCache& table_cache() {
  static TableCache* cache = new TableCache;
  return *cache;
}

constexpr size_t kMaxCachedTables = 512;

PoolTableView upload(const PoolWindows& pw) {
  const PoolTable t = make_pool_table(pw);
  const int dev = current_device();
  std::vector<int64_t> key = {dev, t.H, t.W, t.OH, t.OW, t.has_divisor ? 1 : 0};
  key.insert(key.end(), t.words.begin(), t.words.end());

  TableCache& cache = table_cache();
  std::lock_guard<std::mutex> lock(cache.mu);
  auto it = cache.entries.find(key);
  if (it == cache.entries.end()) {
    if (cache.entries.size() >= kMaxCachedTables) {
      // Rare (that many distinct geometries): start over. device_free is stream-ordered with
      // respect to kernels still reading a table (cudaFree synchronises; the caching allocator
      // reuses a block only on its stream).
      for (auto& e : cache.entries) device_free(e.second.ptr, e.second.bytes, e.second.device);
      cache.entries.clear();
    }
    const size_t bytes = t.words.size() * sizeof(int64_t);
    void* ptr = device_alloc(bytes, dev);
    it = cache.entries.emplace(std::move(key), TableCache::Entry{ptr, bytes, dev}).first;
    // The source is the cache's own key (alive as long as the entry), so the asynchronous copy
    // may still be in flight when this returns.
    const int64_t* src = it->first.data() + 6;
    PTL_CUDA_CHECK(cudaMemcpyAsync(ptr, src, bytes, cudaMemcpyHostToDevice, stream()));
  }
  return view_pool_table(t, static_cast<const int64_t*>(it->second.ptr));
}

template <class T>
__global__ void max_pool_forward_kernel(const T* __restrict__ x, T* __restrict__ y,
                                        int64_t* __restrict__ idx, int64_t planes,
                                        PoolTableView pv) {
  const int64_t out = pv.OH * pv.OW, in = pv.H * pv.W;
  PTL_GRID_LOOP(int64_t, e, planes * out) {
    const int64_t p = e / out, o = e % out, oh = o / pv.OW, ow = o % pv.OW;
    const T* xp = x + p * in;
    const int64_t h0 = pv.h0[oh], h1 = pv.h1[oh], w0 = pv.w0[ow], w1 = pv.w1[ow];
    T best = -static_cast<T>(INFINITY);
    int64_t bi = h0 * pv.W + w0;
    bool nan_found = false;
    for (int64_t h = h0; h < h1 && !nan_found; ++h)
      for (int64_t w = w0; w < w1; ++w) {
        const T v = xp[h * pv.W + w];
        if (v > best || is_nan(v)) {
          best = v;
          bi = h * pv.W + w;
          if (is_nan(v)) {  // the first NaN is the maximum
            nan_found = true;
            break;
          }
        }
      }
    y[e] = best;
    idx[e] = bi;
  }
}

// gx[p, h, w] gathered from the outputs pointing at it (host_helpers.h: max_pool_gather).
template <class T>
__global__ void max_pool_backward_kernel(const T* __restrict__ gy, const int64_t* __restrict__ idx,
                                         T* __restrict__ gx, int64_t planes, PoolTableView pv) {
  const int64_t out = pv.OH * pv.OW, in = pv.H * pv.W;
  PTL_GRID_LOOP(int64_t, e, planes * in) {
    const int64_t p = e / in, k = e % in;
    gx[e] = max_pool_gather(pv, idx + p * out, gy + p * out, k / pv.W, k % pv.W);
  }
}

template <class T>
__global__ void avg_pool_forward_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t planes,
                                        PoolTableView pv) {
  const int64_t out = pv.OH * pv.OW, in = pv.H * pv.W;
  PTL_GRID_LOOP(int64_t, e, planes * out) {
    const int64_t p = e / out, o = e % out, oh = o / pv.OW, ow = o % pv.OW;
    const T* xp = x + p * in;
    double s = 0;
    for (int64_t h = pv.h0[oh]; h < pv.h1[oh]; ++h)
      for (int64_t w = pv.w0[ow]; w < pv.w1[ow]; ++w) s += static_cast<double>(xp[h * pv.W + w]);
    y[e] = static_cast<T>(s / pv.divisor[o]);
  }
}

// gx[p, h, w] gathered from the outputs whose window holds it (host_helpers.h: avg_pool_gather).
template <class T>
__global__ void avg_pool_backward_kernel(const T* __restrict__ gy, T* __restrict__ gx,
                                         int64_t planes, PoolTableView pv) {
  const int64_t out = pv.OH * pv.OW, in = pv.H * pv.W;
  PTL_GRID_LOOP(int64_t, e, planes * in) {
    const int64_t p = e / in, k = e % in;
    gx[e] = avg_pool_gather(pv, gy + p * out, k / pv.W, k % pv.W);
  }
}

// Runs kernel(args..., tables) over n elements with pw's tables uploaded; nothing for n == 0. For
// an average pool, `avg` names the caller and pw's divisors are checked first (null otherwise).
template <class Kernel, class... Args>
void launch_pool(const char* avg, int64_t n, const PoolWindows& pw, Kernel kernel, Args... args) {
  if (n == 0) return;
  if (avg)
    PTL_CHECK(static_cast<int64_t>(pw.divisor.size()) == pw.OH * pw.OW, avg, ": ",
              pw.divisor.size(), " divisors for ", pw.OH * pw.OW, " outputs");
  const PoolTableView pv = upload(pw);
  kernel<<<grid_for(n), kBlock, 0, stream()>>>(args..., pv);
  PTL_CUDA_CHECK_LAUNCH();
}

}  // namespace

template <class T>
void max_pool_forward(const T* x, T* y, int64_t* idx, int64_t planes, const PoolWindows& pw) {
  launch_pool(nullptr, planes * pw.OH * pw.OW, pw, max_pool_forward_kernel<T>, x, y, idx, planes);
}

template <class T>
void max_pool_backward(const T* gy, const int64_t* idx, T* gx, int64_t planes,
                       const PoolWindows& pw) {
  launch_pool(nullptr, planes * pw.H * pw.W, pw, max_pool_backward_kernel<T>, gy, idx, gx, planes);
}

template <class T>
void avg_pool_forward(const T* x, T* y, int64_t planes, const PoolWindows& pw) {
  launch_pool("avg_pool_forward", planes * pw.OH * pw.OW, pw, avg_pool_forward_kernel<T>, x, y,
              planes);
}

template <class T>
void avg_pool_backward(const T* gy, T* gx, int64_t planes, const PoolWindows& pw) {
  launch_pool("avg_pool_backward", planes * pw.H * pw.W, pw, avg_pool_backward_kernel<T>, gy, gx,
              planes);
}

#include "kernels/contract/pool_instances.inc"
PTL_INSTANTIATE_POOL()

}  // namespace ptl::cuda
