#include "base/caching_allocator.h"

#include <algorithm>
#include <tuple>
#include <vector>

#include "base/error.h"

namespace ptl {

// A piece of a segment. The blocks of one segment form a doubly linked list in address order;
// a segment is wholly free when its one block has no neighbours and is not in use.
struct CachingAllocator::Block {
  char* ptr;
  size_t size;
  uint64_t stream;
  bool small;  // small pool
  bool in_use = false;
  Block* prev = nullptr;
  Block* next = nullptr;
};

bool CachingAllocator::BlockLess::operator()(const Block* a, const Block* b) const {
  return std::make_tuple(a->stream, a->size, reinterpret_cast<uintptr_t>(a->ptr)) <
         std::make_tuple(b->stream, b->size, reinterpret_cast<uintptr_t>(b->ptr));
}

namespace {
size_t round_up(size_t n, size_t to) {
  return (n + to - 1) / to * to;
}
}  // namespace

size_t CachingAllocator::round_size(size_t nbytes) {
  return nbytes < kRound ? kRound : round_up(nbytes, kRound);
}

size_t CachingAllocator::segment_size(size_t rounded) {
  if (rounded <= kSmallRequest) return kSmallSegment;
  if (rounded < kMinLargeAlloc) return kLargeSegment;
  return round_up(rounded, kLargeRound);
}

CachingAllocator::CachingAllocator(std::string name, AllocatorBackend backend, bool exact)
    : name_(std::move(name)), backend_(std::move(backend)), exact_(exact) {
  PTL_CHECK(backend_.alloc && backend_.free, name_, ": allocator backend needs alloc and free");
}

CachingAllocator::~CachingAllocator() {
  std::vector<Block*> all(small_.begin(), small_.end());
  all.insert(all.end(), large_.begin(), large_.end());
  for (const auto& [ptr, b] : active_) all.push_back(b);
  for (Block* head : all) {
    if (head->prev) continue;
    size_t bytes = 0;
    for (Block* b = head; b; b = b->next) bytes += b->size;
    try {
      backend_.free(head->ptr, bytes);
    } catch (const std::exception&) {
      // A destructor cannot report it; the memory goes back with the process.
    }
  }
  for (Block* b : all) delete b;
}

void* CachingAllocator::allocate(size_t nbytes, uint64_t stream) {
  if (nbytes == 0) return nullptr;
  std::lock_guard<std::mutex> lock(mu_);
  if (capturing_ && stream == capture_stream_) stream = capture_pool_;
  Block* b = nullptr;
  if (exact_) {
    b = new_segment(nbytes, false, nbytes, stream);
  } else {
    const size_t size = round_size(nbytes);
    const bool small = size <= kSmallRequest;
    b = take_cached(small ? small_ : large_, size, stream);
    if (b)
      ++stats_.cache_hits;
    else
      b = new_segment(segment_size(size), small, nbytes, stream);
    split(b, size);
  }
  b->in_use = true;
  active_.emplace(b->ptr, b);
  stats_.allocated += b->size;
  stats_.peak_allocated = std::max(stats_.peak_allocated, stats_.allocated);
  return b->ptr;
}

void CachingAllocator::free(void* ptr) {
  if (!ptr) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = active_.find(ptr);
  PTL_CHECK(it != active_.end(), name_, ": free of ", ptr,
            ", which this allocator did not hand out or which was already freed");
  Block* b = it->second;
  active_.erase(it);
  if (capturing_ && b->stream != capture_pool_) {  // the graph may read it at every replay
    kept_[capture_pool_].push_back(b);
    return;
  }
  release_block(b);
}

void CachingAllocator::release_block(Block* b) {
  b->in_use = false;
  stats_.allocated -= b->size;
  if (exact_) {  // straight back to the backend: the block is its own segment
    backend_.free(b->ptr, b->size);
    ++stats_.raw_frees;
    stats_.reserved -= b->size;
    delete b;
    return;
  }
  merge(b, b->prev);
  merge(b, b->next);
  pool_of(b).insert(b);
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  release_cached();
}

void CachingAllocator::begin_capture(uint64_t stream, uint64_t pool) {
  std::lock_guard<std::mutex> lock(mu_);
  PTL_CHECK(!exact_, name_,
            ": a graph cannot be captured in exact mode (PTL_NO_CUDA_MEMORY_CACHING frees with "
            "cudaFree, which a graph cannot replay); unset it or turn graphs off");
  PTL_CHECK(!capturing_, name_, ": a graph capture is already under way (one at a time)");
  PTL_CHECK(pool != stream && held_pools_.count(pool) == 0, name_, ": graph pool ", pool,
            " is a stream's id or belongs to a live graph");
  capturing_ = true;
  capture_stream_ = stream;
  capture_pool_ = pool;
  held_pools_.insert(pool);
}

void CachingAllocator::end_capture() {
  std::lock_guard<std::mutex> lock(mu_);
  capturing_ = false;
}

void CachingAllocator::release_pool(uint64_t pool) {
  std::lock_guard<std::mutex> lock(mu_);
  PTL_CHECK(!capturing_ || capture_pool_ != pool, name_, ": graph pool ", pool,
            " released during its capture");
  held_pools_.erase(pool);
  auto it = kept_.find(pool);
  if (it == kept_.end()) return;
  for (Block* b : it->second) release_block(b);
  kept_.erase(it);
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.peak_allocated = stats_.allocated;
}

CachingAllocator::Pool& CachingAllocator::pool_of(const Block* b) {
  return b->small ? small_ : large_;
}

CachingAllocator::Block* CachingAllocator::take_cached(Pool& pool, size_t size, uint64_t stream) {
  Block key{nullptr, size, stream, false};
  auto it = pool.lower_bound(&key);
  if (it == pool.end() || (*it)->stream != stream) return nullptr;
  Block* b = *it;
  pool.erase(it);
  return b;
}

CachingAllocator::Block* CachingAllocator::new_segment(size_t bytes, bool small, size_t nbytes,
                                                       uint64_t stream) {
  void* p = backend_.alloc(bytes);
  if (!p && capturing_) {  // returning segments would be a cudaFree inside the capture
    const std::string device = backend_.describe ? "; " + backend_.describe() : "";
    fail(str(name_, " out of memory while capturing a graph: asked for ", nbytes,
             " bytes; this allocator holds ", stats_.allocated, " bytes allocated and ",
             stats_.reserved, " reserved", device,
             ". Turn graphs off (train.cuda_graphs) or lower the batch"));
  }
  if (!p) {  // out of memory: give the cached segments back and try once more
    release_cached();
    p = backend_.alloc(bytes);
  }
  if (!p) {
    const std::string device = backend_.describe ? "; " + backend_.describe() : "";
    fail(str(name_, " out of memory: asked for ", nbytes, " bytes (a ", bytes,
             "-byte segment); this allocator holds ", stats_.allocated, " bytes allocated and ",
             stats_.reserved, " reserved after returning its free segments", device));
  }
  ++stats_.raw_allocs;
  stats_.reserved += bytes;
  return new Block{static_cast<char*>(p), bytes, stream, small};
}

void CachingAllocator::split(Block* b, size_t size) {
  const size_t rest = b->size - size;
  if (b->small ? rest < kRound : rest <= kSmallRequest) return;
  Block* r = new Block{b->ptr + size, rest, b->stream, b->small};
  r->prev = b;
  r->next = b->next;
  if (b->next) b->next->prev = r;
  b->next = r;
  b->size = size;
  pool_of(r).insert(r);
}

// Absorbs `neighbour` (b->prev or b->next) into b when it is free; b is in no pool.
void CachingAllocator::merge(Block* b, Block* neighbour) {
  if (!neighbour || neighbour->in_use) return;
  pool_of(neighbour).erase(neighbour);
  if (neighbour == b->prev) {
    b->ptr = neighbour->ptr;
    b->prev = neighbour->prev;
    if (b->prev) b->prev->next = b;
  } else {
    b->next = neighbour->next;
    if (b->next) b->next->prev = b;
  }
  b->size += neighbour->size;
  delete neighbour;
}

bool CachingAllocator::held(const Block* b) const {
  return held_pools_.count(b->stream) != 0;
}

void CachingAllocator::release_cached() {
  for (Pool* pool : {&small_, &large_})
    for (auto it = pool->begin(); it != pool->end();) {
      Block* b = *it;
      if (b->prev || b->next || held(b)) {
        ++it;
        continue;
      }
      backend_.free(b->ptr, b->size);
      ++stats_.raw_frees;
      stats_.reserved -= b->size;
      it = pool->erase(it);
      delete b;
    }
}

}  // namespace ptl
