// safetensors files. What parses must write back and parse again to the same tensors, the path
// every checkpoint takes.
#include <cstring>

#include "engine/safetensors.h"
#include "tests/fuzz/fuzz_target.h"

PTL_FUZZ_TARGET(safetensors) {
  const ptl::TensorMap first = ptl::parse_safetensors(input, "fuzz.safetensors");
  const ptl::TensorMap again =
      ptl::parse_safetensors(ptl::serialize_safetensors(first), "rewritten");
  ptl::fuzz::expect(again.size() == first.size(), "same tensor count after a rewrite");
  for (const auto& [name, t] : first) {
    auto it = again.find(name);
    ptl::fuzz::expect(
        it != again.end() && it->second.shape() == t.shape() && it->second.dtype() == t.dtype(),
        "same names, shapes and dtypes after a rewrite");
    const size_t bytes = static_cast<size_t>(t.numel()) * ptl::dtype_size(t.dtype());
    ptl::fuzz::expect(bytes == 0 || std::memcmp(it->second.raw_data(), t.raw_data(), bytes) == 0,
                      "same data after a rewrite");
  }
}
