// Weights files, above all those of torch.save (engine/pth.h: zip, ZIP64, deflate, the legacy
// format, the restricted unpickler), recognised as engine/weights_file.h recognises them. What
// parses must write to safetensors and parse back to the same tensors.
#include "engine/weights_file.h"
#include "tests/fuzz/same_after_rewrite.h"

PTL_FUZZ_TARGET(pth) {
  ptl::fuzz::expect_same_after_rewrite(ptl::parse_weights_file(input, "fuzz.pth").tensors);
}
