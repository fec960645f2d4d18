// safetensors files. What parses must write back and parse again to the same tensors, the path
// every checkpoint takes.
#include "tests/fuzz/same_after_rewrite.h"

PTL_FUZZ_TARGET(safetensors) {
  ptl::fuzz::expect_same_after_rewrite(ptl::parse_safetensors(input, "fuzz.safetensors"));
}
