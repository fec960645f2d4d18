// How CUDA launches cut their work, from the shapes alone (so the bits do not depend on the
// GPU): the (slot, begin) chunks of the multi-tensor optimizer kernels and the number of fixed
// pieces of a long reduction. Checked by tests/test_cuda_host_helpers.cpp.
#pragma once
#include <cstdint>
#include <vector>

#include "base/error.h"

namespace ptl::cuda {

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

}  // namespace ptl::cuda
