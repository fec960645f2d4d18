// CPU batch-hard triplet mining and the per-row gather; rows run in parallel, each scanned in
// index order. The declarations are the backend-neutral contract in kernels/contract/triplet.inc.
#pragma once
#include <cstdint>

namespace ptl::cpu {
#include "kernels/contract/triplet.inc"
}  // namespace ptl::cpu
