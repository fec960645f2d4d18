// A caching allocator in the manner of PyTorch's CUDA caching allocator, independent of the
// device: it takes raw alloc/free callbacks (cudaMalloc/cudaFree for device memory,
// cudaHostAlloc/cudaFreeHost for pinned host memory, a fake backend in the tests).
//
// Requests round up to 512 bytes. Requests up to 1 MiB come from the small pool, carved out of
// 2 MiB segments; larger ones from the large pool, carved out of 20 MiB segments (requests
// under 10 MiB) or segments of their own size rounded up to 2 MiB. A request takes the smallest
// cached block of its pool and stream that fits (best fit), splitting off the rest when the rest
// is worth keeping (any rest in the small pool, more than 1 MiB in the large pool); a freed block
// merges with free neighbours of its segment. Blocks are stream-ordered: a block freed on
// stream S is only handed out again to requests on S, whose work queues after the work that used
// it, so no synchronisation is ever needed. Segments go back to the backend only when wholly free:
// on empty_cache(), when the backend runs out of memory (then the request is retried once), and
// at destruction. Thread-safe.
//
// Graph capture (CUDA graphs, kernels/cuda/graph.h): a captured graph replays the addresses its
// work used, so between begin_capture(stream, pool) and end_capture() requests on `stream` are
// served from a private pool (an id no stream has) whose segments stay until release_pool(pool),
// and a block from outside the pool freed during the capture (allocated before it: the graph
// may read it) is kept until release_pool too. Within the capture, freed pool blocks are reused:
// replays run the work in the captured order on one stream, as the capture did.
//
// Exact mode (constructed with exact = true; PTL_NO_CUDA_MEMORY_CACHING for device memory, as
// PyTorch's PYTORCH_NO_CUDA_MEMORY_CACHING): no rounding and no cache, every request is a backend
// allocation of exactly its size and every free goes straight back, so a memory checker sees a
// write past a block's last byte. Statistics count as usual (every allocation is a raw one).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace ptl {

struct AllocatorStats {
  size_t allocated = 0;       // bytes in blocks handed out (rounded sizes)
  size_t peak_allocated = 0;  // the highest `allocated` since construction or reset_peak()
  size_t reserved = 0;        // bytes held from the backend: blocks handed out and cached
  size_t raw_allocs = 0;      // backend allocations (segments)
  size_t raw_frees = 0;       // segments returned to the backend
  size_t cache_hits = 0;      // requests served from the cache without a backend allocation
};

struct AllocatorBackend {
  // Returns nullptr when the device is out of memory; throws ptl::Error on any other failure.
  std::function<void*(size_t nbytes)> alloc;
  std::function<void(void* ptr, size_t nbytes)> free;
  // Optional: what the device says about its memory, appended to out-of-memory messages.
  std::function<std::string()> describe;
};

class CachingAllocator {
 public:
  static constexpr size_t kRound = 512;
  static constexpr size_t kSmallRequest = size_t(1) << 20;    // largest small-pool request
  static constexpr size_t kSmallSegment = size_t(2) << 20;    // segment of the small pool
  static constexpr size_t kMinLargeAlloc = size_t(10) << 20;  // below: shared kLargeSegment
  static constexpr size_t kLargeSegment = size_t(20) << 20;
  static constexpr size_t kLargeRound = size_t(2) << 20;  // own segments round up to this

  // `name` starts error messages ("cuda:0 out of memory: ..."); `exact`: see the file comment.
  CachingAllocator(std::string name, AllocatorBackend backend, bool exact = false);
  // Returns every segment to the backend, including those of blocks never freed (their owner
  // outlives no allocator: the CUDA allocators are never destroyed).
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // nullptr for 0 bytes. `stream` is an opaque id of the stream the memory will be used on.
  void* allocate(size_t nbytes, uint64_t stream);
  // Returns a block to the cache (nullptr is ignored); throws for a pointer it did not hand out.
  void free(void* ptr);
  // Returns every wholly free segment to the backend, except those of pools not yet released.
  void empty_cache();
  // Starts serving requests on `stream` from `pool` (a private id, never a stream's) for a graph
  // capture; one capture at a time, never in exact mode (a graph cannot replay a cudaFree).
  void begin_capture(uint64_t stream, uint64_t pool);
  void end_capture();
  // The graph of `pool` is gone: the blocks kept for it are freed and its free segments may go
  // back to the backend.
  void release_pool(uint64_t pool);
  AllocatorStats stats() const;
  void reset_peak();

  static size_t round_size(size_t nbytes);
  // The segment a rounded request allocates from the backend when no cached block fits.
  static size_t segment_size(size_t rounded);

 private:
  struct Block;
  // Pools order blocks by (stream, size, address): lower_bound finds the best fit on a stream.
  struct BlockLess {
    bool operator()(const Block* a, const Block* b) const;
  };
  using Pool = std::set<Block*, BlockLess>;

  Pool& pool_of(const Block* b);
  Block* take_cached(Pool& pool, size_t size, uint64_t stream);
  // A backend allocation of `bytes` (a segment of the `small` or large pool) for a request of
  // `nbytes`; out of memory: the cache is returned and the allocation retried once.
  Block* new_segment(size_t bytes, bool small, size_t nbytes, uint64_t stream);
  void split(Block* b, size_t size);
  void merge(Block* b, Block* neighbour);
  void release_cached();            // mu_ held
  void release_block(Block* b);     // a block no longer in use back to its pool; mu_ held
  bool held(const Block* b) const;  // b's pool belongs to a live graph

  const std::string name_;
  const AllocatorBackend backend_;
  const bool exact_;
  mutable std::mutex mu_;
  Pool small_, large_;                        // free blocks
  std::unordered_map<void*, Block*> active_;  // blocks handed out, by address
  // Capture: requests on capture_stream_ take capture_pool_ (capturing_ true); the pools whose
  // graphs live, and the blocks freed during their captures from outside them.
  bool capturing_ = false;
  uint64_t capture_stream_ = 0, capture_pool_ = 0;
  std::set<uint64_t> held_pools_;
  std::unordered_map<uint64_t, std::vector<Block*>> kept_;
  AllocatorStats stats_;
};

}  // namespace ptl
