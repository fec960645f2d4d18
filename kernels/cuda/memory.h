// CUDA device memory, pinned host memory and copies, all through caching allocators
// (base/caching_allocator.h). Free of CUDA headers, so CPU code (Storage, the data loader)
// may include it; compiled only when PTL_WITH_CUDA.
#pragma once
#include <cstddef>
#include <cstdint>

#include "base/caching_allocator.h"

namespace ptl::cuda {

// Device memory of `device` from its caching allocator, for use on the device's current stream
// (runtime.h): a freed block is reused only on that stream, so no synchronisation is needed.
// nullptr for 0 bytes. Out of memory: the cache is returned and the allocation retried once;
// then a ptl::Error names the bytes asked for, the allocator's holdings and cudaMemGetInfo.
// With PTL_NO_CUDA_MEMORY_CACHING=1 in the environment the allocator runs in its exact mode:
// exact-size cudaMalloc/cudaFree per tensor, for compute-sanitizer (caching_allocator.h).
void* device_alloc(size_t nbytes, int device);
// Returns `ptr` (from device_alloc on `device`) to the cache; work already queued on the
// current stream may still use it. nbytes is unused (the allocator knows the block's size).
void device_free(void* ptr, size_t nbytes, int device);
// The device allocator's statistics (allocated, peak, reserved bytes; raw allocations, hits).
AllocatorStats memory_stats(int device);
void reset_peak_memory(int device);
// Graph capture (graph.h): from begin_graph_capture until end_graph_capture, device memory asked
// on the current stream of `device` comes from the graph's private pool `pool`, which stays the
// graph's until release_graph_pool (CachingAllocator::begin_capture).
void begin_graph_capture(int device, uint64_t pool);
void end_graph_capture(int device);
void release_graph_pool(int device, uint64_t pool);
// Returns the cached (wholly free) device segments of every device and the free pinned
// segments to CUDA.
void empty_cache();

// Page-locked host memory (cudaHostAlloc, portable to every device) from a caching allocator.
// pinned_free may be called while async copies from or to the buffer are still queued: the
// buffer is reused only after an event recorded at pinned_free time on every ptl stream has
// completed (checked without waiting at the next pinned_alloc).
void* pinned_alloc(size_t nbytes);
void pinned_free(void* ptr);
AllocatorStats pinned_memory_stats();

// An owned pinned buffer, e.g. one batch of the data loader being copied to the device.
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  explicit PinnedBuffer(size_t nbytes) : data_(pinned_alloc(nbytes)), nbytes_(nbytes) {}
  ~PinnedBuffer();
  PinnedBuffer(PinnedBuffer&& o) noexcept : data_(o.data_), nbytes_(o.nbytes_) {
    o.data_ = nullptr;
    o.nbytes_ = 0;
  }
  PinnedBuffer& operator=(PinnedBuffer&& o) noexcept;
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;

  void* data() { return data_; }
  const void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }

 private:
  void reset() noexcept;
  void* data_ = nullptr;
  size_t nbytes_ = 0;
};

// Blocking copy (either side may be device memory; host memory may be pageable): queued on the
// current stream of `device` (the device of the device-side pointer; for device-to-device
// copies the source's), after the work already queued there, and waited for.
void copy(void* dst, bool dst_on_device, const void* src, bool src_on_device, size_t nbytes,
          int device);
// The same copy, queued on the current stream of `device` without waiting. The host side
// should be pinned memory; pageable host memory makes CUDA stage it, and the call may block.
void copy_async(void* dst, bool dst_on_device, const void* src, bool src_on_device, size_t nbytes,
                int device);
// Waits for all work queued on the current stream of `device`.
void synchronize(int device);

}  // namespace ptl::cuda
