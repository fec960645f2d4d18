// The invariant of the targets whose parse yields tensors (safetensors, pth): what parsed must
// write to safetensors and parse back to the same names, shapes, dtypes and bytes, the path
// every checkpoint takes; a tensor whose data did not cover its shape shows here (or to ASan).
#pragma once
#include <cstring>

#include "engine/safetensors.h"
#include "tests/fuzz/fuzz_target.h"

namespace ptl::fuzz {

inline void expect_same_after_rewrite(const TensorMap& first) {
  const TensorMap again = parse_safetensors(serialize_safetensors(first), "rewritten");
  expect(again.size() == first.size(), "same tensor count after a rewrite");
  for (const auto& [name, t] : first) {
    auto it = again.find(name);
    expect(it != again.end() && it->second.shape() == t.shape() && it->second.dtype() == t.dtype(),
           "same names, shapes and dtypes after a rewrite");
    const size_t bytes = static_cast<size_t>(t.numel()) * dtype_size(t.dtype());
    expect(bytes == 0 || std::memcmp(it->second.raw_data(), t.raw_data(), bytes) == 0,
           "same data after a rewrite");
  }
}

}  // namespace ptl::fuzz
