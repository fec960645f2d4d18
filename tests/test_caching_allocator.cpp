// The caching allocator (base/caching_allocator.h) driven by a fake backend of host memory.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "base/caching_allocator.h"
#include "base/error.h"

namespace {

using ptl::CachingAllocator;
constexpr size_t MiB = size_t(1) << 20;

// Host memory with a capacity: alloc returns nullptr past it, like cudaMalloc out of memory.
struct FakeBackend {
  size_t capacity = size_t(1) << 30;
  size_t held = 0;
  std::map<void*, size_t> live;  // address -> size
  std::vector<size_t> alloc_sizes;

  ptl::AllocatorBackend backend() {
    return {[this](size_t n) -> void* {
              if (held + n > capacity) return nullptr;
              void* p = std::malloc(n);
              live[p] = n;
              held += n;
              alloc_sizes.push_back(n);
              return p;
            },
            [this](void* p, size_t n) {
              REQUIRE(live.count(p) == 1);
              REQUIRE(live[p] == n);  // a segment goes back whole, with its own size
              live.erase(p);
              held -= n;
              std::free(p);
            },
            [this] { return ptl::str("fake device: ", capacity - held, " bytes free"); }};
  }
};

// The fixture of most cases: a caching allocator `a` named "fake" over the FakeBackend `fake`.
struct FakeAllocator {
  FakeBackend fake;
  CachingAllocator a{"fake", fake.backend()};
};

}  // namespace

TEST_CASE_METHOD(FakeAllocator, "allocator rounds sizes and picks the pool's segment size",
                 "[allocator]") {
  CHECK(CachingAllocator::round_size(1) == 512);
  CHECK(CachingAllocator::round_size(512) == 512);
  CHECK(CachingAllocator::round_size(513) == 1024);
  CHECK(CachingAllocator::segment_size(512) == 2 * MiB);  // small pool
  CHECK(CachingAllocator::segment_size(1 * MiB) == 2 * MiB);
  CHECK(CachingAllocator::segment_size(1 * MiB + 512) == 20 * MiB);  // large, shared segment
  CHECK(CachingAllocator::segment_size(10 * MiB) == 10 * MiB);
  CHECK(CachingAllocator::segment_size(11 * MiB + 512) == 12 * MiB);  // own segment, 2 MiB steps

  CHECK(a.allocate(0, 0) == nullptr);
  void* p = a.allocate(100, 0);
  CHECK(a.stats().allocated == 512);
  CHECK(a.stats().reserved == 2 * MiB);
  CHECK(fake.alloc_sizes == std::vector<size_t>{2 * MiB});
  a.free(p);
  a.free(nullptr);
  CHECK(a.stats().allocated == 0);
}

TEST_CASE_METHOD(FakeAllocator, "allocator reuses freed blocks, best fit, splitting small segments",
                 "[allocator]") {
  // Three small blocks share one 2 MiB segment, side by side.
  char* p1 = static_cast<char*>(a.allocate(1000, 0));
  char* p2 = static_cast<char*>(a.allocate(3000, 0));
  char* p3 = static_cast<char*>(a.allocate(512, 0));
  CHECK(p2 == p1 + 1024);
  CHECK(p3 == p2 + 3072);
  CHECK(a.stats().raw_allocs == 1);

  // Best fit: a 2 KiB request takes p2's 3 KiB hole, not the rest of the segment.
  a.free(p2);
  void* r = a.allocate(2000, 0);
  CHECK(r == p2);
  a.free(r);   // merges with the 1 KiB it left: p2's hole again
  a.free(p1);  // merges with p2's hole: one 4 KiB hole before p3
  void* q = a.allocate(4096, 0);
  CHECK(q == p1);  // the merged hole fits exactly
  a.free(q);
  a.free(p3);  // the whole segment is one free block again

  // A step of a training loop: the same sizes again are all cache hits.
  const size_t hits = a.stats().cache_hits;
  for (int step = 0; step < 3; ++step) {
    std::vector<void*> blocks;
    for (size_t n : {4 * MiB, 300 * size_t(1024), 64 * MiB, size_t(4)})
      blocks.push_back(a.allocate(n, 0));
    for (void* b : blocks) a.free(b);
  }
  const auto s = a.stats();
  CHECK(s.raw_allocs == 3);  // the small segment, one 20 MiB segment, one 64 MiB segment
  CHECK(s.cache_hits == hits + 4 * 3 - 2);
  CHECK(s.allocated == 0);
  CHECK(s.reserved == 2 * MiB + 20 * MiB + 64 * MiB);
}

TEST_CASE_METHOD(FakeAllocator, "allocator splits large segments only for rests above 1 MiB",
                 "[allocator]") {
  char* p = static_cast<char*>(a.allocate(2 * MiB, 0));         // 20 MiB segment, 18 MiB rest
  char* q = static_cast<char*>(a.allocate(17 * MiB + 512, 0));  // fits the rest: 1 MiB - 512 left
  CHECK(q == p + 2 * MiB);
  CHECK(a.stats().raw_allocs == 1);
  CHECK(a.stats().allocated == 2 * MiB + 18 * MiB);  // q keeps the unsplittable tail
  a.free(p);
  a.free(q);
  CHECK(a.stats().allocated == 0);
  a.empty_cache();  // merged back into one free segment, so it goes back whole
  CHECK(fake.live.empty());
}

TEST_CASE_METHOD(FakeAllocator, "allocator reuses a block only on the stream that freed it",
                 "[allocator]") {
  void* p = a.allocate(4 * MiB, /*stream*/ 1);
  a.free(p);
  void* q = a.allocate(4 * MiB, /*stream*/ 2);  // stream 2 must not get stream 1's memory
  CHECK(q != p);
  CHECK(a.stats().raw_allocs == 2);
  void* r = a.allocate(4 * MiB, /*stream*/ 1);
  CHECK(r == p);
  a.free(q);
  a.free(r);
  CHECK(a.stats().cache_hits == 1);
}

TEST_CASE_METHOD(FakeAllocator, "allocator statistics: allocated, peak, reserved", "[allocator]") {
  void* p = a.allocate(3 * MiB, 0);
  void* q = a.allocate(5 * MiB, 0);
  auto s = a.stats();
  CHECK(s.allocated == 8 * MiB);
  CHECK(s.peak_allocated == 8 * MiB);
  CHECK(s.reserved == 20 * MiB);
  a.free(q);
  s = a.stats();
  CHECK(s.allocated == 3 * MiB);
  CHECK(s.peak_allocated == 8 * MiB);
  a.reset_peak();
  CHECK(a.stats().peak_allocated == 3 * MiB);
  a.free(p);
  CHECK(a.stats().reserved == 20 * MiB);  // cached, not returned
}

TEST_CASE_METHOD(FakeAllocator, "allocator empty_cache returns only wholly free segments",
                 "[allocator]") {
  void* small = a.allocate(1000, 0);
  void* big = a.allocate(30 * MiB, 0);
  void* other = a.allocate(12 * MiB, 0);
  a.free(big);
  a.empty_cache();
  CHECK(fake.live.size() == 2);  // the small segment and `other` are in use
  CHECK(a.stats().reserved == 2 * MiB + 12 * MiB);
  CHECK(a.stats().raw_frees == 1);
  a.free(small);
  a.free(other);
  a.empty_cache();
  CHECK(fake.live.empty());
  CHECK(a.stats().reserved == 0);
  // Memory is allocated again afterwards.
  void* again = a.allocate(1000, 0);
  CHECK(again != nullptr);
  a.free(again);
}

TEST_CASE("allocator out of memory: frees the cache, retries, then names the sizes",
          "[allocator]") {
  FakeBackend fake;
  fake.capacity = 64 * MiB;
  CachingAllocator a("cuda:7", fake.backend());
  void* p = a.allocate(40 * MiB, 0);
  a.free(p);                          // 40 MiB cached
  void* q = a.allocate(50 * MiB, 0);  // fits only once the cached 40 MiB are returned
  CHECK(q != nullptr);
  CHECK(a.stats().raw_frees == 1);
  CHECK(a.stats().reserved == 50 * MiB);
  try {
    a.allocate(30 * MiB, 0);
    FAIL("expected out of memory");
  } catch (const ptl::Error& e) {
    const std::string msg = e.what();
    CHECK_THAT(msg, Catch::Contains("cuda:7 out of memory"));
    CHECK_THAT(msg, Catch::Contains("asked for 31457280 bytes"));
    CHECK_THAT(msg, Catch::Contains("52428800 bytes allocated and 52428800 reserved"));
    CHECK_THAT(msg, Catch::Contains("fake device: 14680064 bytes free"));
  }
  CHECK(a.stats().allocated == 50 * MiB);  // the failure changed nothing
  a.free(q);
}

TEST_CASE_METHOD(FakeAllocator, "allocator rejects pointers it did not hand out and double frees",
                 "[allocator]") {
  int local = 0;
  CHECK_THROWS_WITH(a.free(&local), Catch::Contains("did not hand out"));
  void* p = a.allocate(100, 0);
  a.free(p);
  CHECK_THROWS_WITH(a.free(p), Catch::Contains("already freed"));
}

TEST_CASE("allocator returns every segment at destruction", "[allocator]") {
  FakeBackend fake;
  {
    CachingAllocator a("fake", fake.backend());
    a.allocate(100, 0);  // never freed
    a.free(a.allocate(3 * MiB, 0));
    a.allocate(2 * MiB, 0);  // splits the cached 20 MiB segment, never freed
    a.free(a.allocate(40 * MiB, 1));
    CHECK(fake.live.size() == 3);
  }
  CHECK(fake.live.empty());
  CHECK(fake.held == 0);
}

TEST_CASE_METHOD(FakeAllocator, "allocator is thread-safe", "[allocator]") {
  auto work = [this](uint64_t stream) {
    for (int i = 0; i < 2000; ++i) {
      void* p = a.allocate(512 * size_t(1 + i % 7), stream);
      void* q = a.allocate(2 * MiB + 4096 * size_t(i % 3), stream);
      a.free(p);
      a.free(q);
    }
  };
  std::vector<std::thread> threads;
  for (uint64_t t = 0; t < 4; ++t) threads.emplace_back(work, t % 2);
  for (auto& t : threads) t.join();
  CHECK(a.stats().allocated == 0);
  a.empty_cache();
  CHECK(fake.live.empty());
}

TEST_CASE(
    "allocator in exact mode: one backend allocation of the exact size per request, freed at once",
    "[allocator]") {
  FakeBackend fake;
  CachingAllocator a{"fake", fake.backend(), /*exact=*/true};
  void* p = a.allocate(100, 0);
  void* q = a.allocate(3 * MiB + 7, 0);
  CHECK(fake.alloc_sizes == std::vector<size_t>{100, 3 * MiB + 7});  // no rounding, no segments
  CHECK(fake.live.at(p) == 100);
  CHECK(a.stats().allocated == 3 * MiB + 107);
  a.free(p);
  CHECK(fake.live.count(p) == 0);  // back to the backend, not cached
  void* r = a.allocate(100, 0);
  CHECK(fake.alloc_sizes.size() == 3);  // a new backend allocation, no cache hit
  const ptl::AllocatorStats s = a.stats();
  CHECK(s.cache_hits == 0);
  CHECK(s.raw_allocs == 3);
  CHECK(s.raw_frees == 1);
  CHECK(s.reserved == 3 * MiB + 107);
  CHECK(s.peak_allocated == 3 * MiB + 107);
  a.free(q);
  a.free(r);
  CHECK(fake.live.empty());
  CHECK(a.stats().allocated == 0);
  CHECK_THROWS_WITH(a.free(r), Catch::Contains("did not hand out or which was already freed"));
}

// Graph capture: the addresses a captured graph replays must stay its own while it lives.
TEST_CASE_METHOD(FakeAllocator,
                 "allocator in a graph capture: a private pool kept until the graph is released",
                 "[allocator]") {
  constexpr uint64_t stream = 8, pool = 9;
  void* before = a.allocate(100, stream);  // e.g. the carried state the graph reads
  a.free(a.allocate(100, stream));         // a cached block of the stream: not for the capture
  a.begin_capture(stream, pool);
  void* t = a.allocate(100, stream);
  CHECK(fake.live.size() == 2);  // served from the pool's own segment
  a.free(t);
  CHECK(a.allocate(100, stream) == t);  // reused within the capture, in stream order
  void* other = a.allocate(100, 7);     // other streams are not captured
  CHECK(fake.live.size() == 3);
  a.free(before);                         // read by the graph: kept
  CHECK(a.stats().allocated == 3 * 512);  // the kept block still counts
  a.end_capture();
  a.free(other);
  void* after = a.allocate(100, stream);
  CHECK(after != before);  // nothing the graph uses is handed out again
  CHECK(after != t);
  CHECK_THROWS_WITH(a.free(before), Catch::Contains("already freed"));
  a.free(t);
  a.free(after);
  a.empty_cache();  // the pool's free segment stays while its graph lives; `before` holds its own
  CHECK(fake.live.size() == 2);
  CHECK(a.stats().allocated == 512);
  a.release_pool(pool);
  CHECK(a.stats().allocated == 0);
  a.empty_cache();
  CHECK(fake.live.empty());
}

TEST_CASE("allocator in a graph capture: refusals and out of memory without returning the cache",
          "[allocator]") {
  FakeBackend fake;
  fake.capacity = 4 * MiB;
  CachingAllocator a{"fake", fake.backend()};
  a.free(a.allocate(100, 1));  // a cached 2 MiB segment a cudaFree could return
  a.begin_capture(1, 3);
  CHECK_THROWS_WITH(a.begin_capture(1, 5), Catch::Contains("already under way"));
  a.allocate(100, 1);  // a second 2 MiB segment
  CHECK_THROWS_WITH(a.allocate(2 * MiB, 1),
                    Catch::Contains("out of memory while capturing a graph") &&
                        Catch::Contains("train.cuda_graphs"));
  CHECK(fake.live.size() == 2);  // nothing was returned inside the capture
  CHECK_THROWS_WITH(a.release_pool(3), Catch::Contains("released during its capture"));
  a.end_capture();
  CHECK_THROWS_WITH(a.begin_capture(1, 3), Catch::Contains("belongs to a live graph"));
  CachingAllocator exact{"fake", fake.backend(), /*exact=*/true};
  CHECK_THROWS_WITH(exact.begin_capture(1, 3), Catch::Contains("PTL_NO_CUDA_MEMORY_CACHING"));
}
