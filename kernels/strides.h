// Row-major strides of a contiguous tensor of `shape` (the last dimension moves fastest), in
// elements: one definition for the tensor, the CPU kernels and the CUDA host planning.
#pragma once
#include <cstdint>
#include <vector>

namespace ptl {

inline std::vector<int64_t> row_major_strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size());
  int64_t acc = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

}  // namespace ptl
