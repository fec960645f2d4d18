#include "kernels/cuda/memory.h"

#include <cstdio>
#include <mutex>
#include <vector>

#include "base/error.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/per_device.h"
#include "kernels/cuda/runtime.h"

namespace ptl::cuda {

namespace {

// Runs alloc(&p) (cudaMalloc, cudaHostAlloc) and returns p for the caching allocator: nullptr
// when out of memory (it then returns its cache and retries), a ptl::Error for any other
// failure. The call is made here, before p is read: passing `cudaMalloc(&p, n), p` as two
// arguments let the compiler read p first, and every allocation looked out of memory (the first
// GPU run found that).
template <class Alloc>
void* null_if_out_of_memory(const Alloc& alloc, const char* call) {
  void* p = nullptr;
  const cudaError_t err = alloc(&p);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clear it: a later launch check must not see it
    return nullptr;
  }
  check_runtime(err, call, __FILE__, __LINE__);
  return p;
}

std::string describe_device(int device) {
  DeviceGuard guard(device);
  size_t free_bytes = 0, total_bytes = 0;
  const cudaError_t err = cudaMemGetInfo(&free_bytes, &total_bytes);
  if (err != cudaSuccess) {
    cudaGetLastError();
    return str("cudaMemGetInfo failed: ", cudaGetErrorString(err));
  }
  return str("cudaMemGetInfo: ", free_bytes, " bytes free of ", total_bytes);
}

std::unique_ptr<CachingAllocator> make_device_allocator(int device) {
  AllocatorBackend backend;
  backend.alloc = [device](size_t n) {
    DeviceGuard guard(device);
    // A segment asked during a graph capture: cudaMalloc is no stream work (nothing is
    // captured), and the relaxed mode lets the capturing thread call it.
    cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
    PTL_CUDA_CHECK(cudaThreadExchangeStreamCaptureMode(&mode));
    void* p = null_if_out_of_memory([n](void** q) { return cudaMalloc(q, n); }, "cudaMalloc");
    PTL_CUDA_CHECK(cudaThreadExchangeStreamCaptureMode(&mode));
    return p;
  };
  backend.free = [device](void* p, size_t) {
    DeviceGuard guard(device);
    PTL_CUDA_CHECK(cudaFree(p));  // waits for the device: on empty_cache, out of memory, exact mode
  };
  backend.describe = [device] { return describe_device(device); };
  // PTL_NO_CUDA_MEMORY_CACHING=1: exact-size cudaMalloc/cudaFree per tensor, so compute-sanitizer
  // sees overruns a cached segment would hide (cudaFree waits for the device: slow).
  return std::make_unique<CachingAllocator>(str("cuda:", device), std::move(backend),
                                            env_flag("PTL_NO_CUDA_MEMORY_CACHING"));
}

PerDevice<CachingAllocator>& device_allocators() {
  static auto& allocators = *new PerDevice<CachingAllocator>;  // leaked: per_device.h
  return allocators;
}

CachingAllocator& device_allocator(int device) {
  return device_allocators().get(device, make_device_allocator);
}

// Pinned host memory: a caching allocator (one pool, stream id 0) and the freed buffers that
// wait for their events before going back to it.
struct PendingFree {
  void* ptr;
  std::vector<cudaEvent_t> events;  // one per ptl stream, recorded at pinned_free
};

struct Pinned {
  CachingAllocator allocator{"pinned host memory", backend()};
  std::mutex mu;
  std::vector<PendingFree> pending;

  static AllocatorBackend backend() {
    AllocatorBackend b;
    b.alloc = [](size_t n) {
      return null_if_out_of_memory(
          [n](void** p) { return cudaHostAlloc(p, n, cudaHostAllocPortable); }, "cudaHostAlloc");
    };
    b.free = [](void* p, size_t) { PTL_CUDA_CHECK(cudaFreeHost(p)); };
    return b;
  }

  // Returns the buffers whose events have all completed to the allocator, without waiting;
  // mu held. A buffer whose event query fails stays pending (never reused); the error is
  // thrown.
  void reclaim() {
    for (auto it = pending.begin(); it != pending.end();) {
      if (!completed(it->events)) {
        ++it;
        continue;
      }
      const PendingFree done = *it;
      it = pending.erase(it);  // first: a failure below must not see this entry again
      for (cudaEvent_t e : done.events) PTL_CUDA_CHECK(cudaEventDestroy(e));
      allocator.free(done.ptr);
    }
  }

  static bool completed(const std::vector<cudaEvent_t>& events) {
    for (cudaEvent_t e : events) {
      const cudaError_t err = cudaEventQuery(e);
      if (err == cudaErrorNotReady) {
        cudaGetLastError();  // not an error; keep it out of the next launch check
        return false;
      }
      PTL_CUDA_CHECK(err);
    }
    return true;
  }
};

Pinned& pinned() {
  static auto& p = *new Pinned;  // leaked: per_device.h
  return p;
}

// Events recorded now on every ptl stream: they complete once the work queued so far is done.
std::vector<cudaEvent_t> record_events() {
  std::vector<cudaEvent_t> events;
  try {
    for (const auto& [device, stream] : created_streams()) {
      DeviceGuard guard(device);  // an event is recorded on a stream of its own device
      cudaEvent_t e = nullptr;
      PTL_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
      events.push_back(e);
      PTL_CUDA_CHECK(cudaEventRecord(e, stream));
    }
  } catch (...) {
    for (cudaEvent_t e : events) cudaEventDestroy(e);
    throw;
  }
  return events;
}

}  // namespace

void* device_alloc(size_t nbytes, int device) {
  CachingAllocator& allocator = device_allocator(device);  // checks the device exists
  if (nbytes == 0) return nullptr;
  return allocator.allocate(nbytes, stream_id(current_stream(device)));
}

void device_free(void* ptr, size_t, int device) {
  if (ptr) device_allocator(device).free(ptr);
}

void begin_graph_capture(int device, uint64_t pool) {
  device_allocator(device).begin_capture(stream_id(current_stream(device)), pool);
}

void end_graph_capture(int device) {
  device_allocator(device).end_capture();
}

void release_graph_pool(int device, uint64_t pool) {
  device_allocator(device).release_pool(pool);
}

AllocatorStats memory_stats(int device) {
  return device_allocator(device).stats();
}

void reset_peak_memory(int device) {
  device_allocator(device).reset_peak();
}

void empty_cache() {
  device_allocators().for_each([](int, CachingAllocator& a) { a.empty_cache(); });
  Pinned& p = pinned();
  std::lock_guard<std::mutex> lock(p.mu);
  p.reclaim();
  p.allocator.empty_cache();
}

void* pinned_alloc(size_t nbytes) {
  Pinned& p = pinned();
  {
    std::lock_guard<std::mutex> lock(p.mu);
    p.reclaim();
  }
  return p.allocator.allocate(nbytes, 0);
}

void pinned_free(void* ptr) {
  if (!ptr) return;
  std::vector<cudaEvent_t> events = record_events();  // a failure leaves ptr out of the cache
  Pinned& p = pinned();
  std::lock_guard<std::mutex> lock(p.mu);
  p.pending.push_back({ptr, std::move(events)});
  p.reclaim();
}

AllocatorStats pinned_memory_stats() {
  return pinned().allocator.stats();
}

PinnedBuffer::~PinnedBuffer() {
  reset();
}

PinnedBuffer& PinnedBuffer::operator=(PinnedBuffer&& o) noexcept {
  if (this != &o) {
    reset();
    data_ = o.data_;
    nbytes_ = o.nbytes_;
    o.data_ = nullptr;
    o.nbytes_ = 0;
  }
  return *this;
}

void PinnedBuffer::reset() noexcept {
  try {
    pinned_free(data_);
  } catch (const std::exception& e) {
    // Called from a destructor: report, and leave the buffer out of the cache (never reused).
    std::fprintf(stderr, "ptl: pinned buffer not returned to the cache: %s\n", e.what());
  }
  data_ = nullptr;
  nbytes_ = 0;
}

}  // namespace ptl::cuda
