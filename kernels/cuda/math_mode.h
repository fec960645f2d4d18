// Whether float GEMMs and convolutions of the CUDA backend may use TF32 tensor cores (10-bit
// mantissa products, FP32 accumulation), like PyTorch's torch.backends.*.allow_tf32. Off by
// default: float results then match the CPU kernels to float rounding. Free of CUDA headers.
#pragma once

namespace ptl::cuda {

void set_allow_tf32(bool allow);
bool allow_tf32();

}  // namespace ptl::cuda
