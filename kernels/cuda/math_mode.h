// Whether float GEMMs and convolutions of the CUDA backend may use TF32 tensor cores (10-bit
// mantissa products, FP32 accumulation), like PyTorch's torch.backends.*.allow_tf32. Off by
// default: float results then match the CPU kernels to float rounding. Free of CUDA headers.
#pragma once
#include <cstdint>

namespace ptl::cuda {

void set_allow_tf32(bool allow);
bool allow_tf32();

// Whether cuDNN convolutions must use deterministic algorithms where one fits (default: yes, so
// a seed gives the same bits on every run; conv.cu). Off: cuDNN's first-ranked algorithm, as
// PyTorch does without torch.backends.cudnn.deterministic; some backward algorithms then sum
// with atomics and results vary in the last bits from run to run.
void set_deterministic_convolutions(bool deterministic);
bool deterministic_convolutions();

// Whether cuDNN convolutions may use only algorithms that sum each output's products directly
// (implicit or explicit GEMM, direct), and only deterministic ones: never FFT or Winograd, whose
// transforms round float32 differently from a direct sum (default: no). The float32 accuracy
// tests set it, so their bound measures the summation, not the algorithm cuDNN's heuristics chose.
void set_direct_convolutions(bool direct);
bool direct_convolutions();

// Whether batch-norm statistics and gradient sums split a channel over several blocks
// (kernels/cuda/batchnorm_split.h) when the channels are too few to fill the GPU one block each
// (default: no, until a GPU run shows it faster and its tests pass). Either way the bits repeat
// from run to run; the two ways differ by rounding (another order of the same additions).
void set_split_batchnorm(bool split);
bool split_batchnorm();
// Whether cuDNN convolutions take their engines from the backend (graph) API's heuristics
// (conv_engines.h) under the same rules, the legacy algorithm staying the fallback (default: no;
// a speed switch not yet measured on a GPU, docs/cuda.md).
void set_cudnn_engine_heuristics(bool on);
bool cudnn_engine_heuristics();
// Convolution calls that ran a backend engine since the process started (conv.cu): the tests
// check with it that the switch took effect rather than the fallback.
uint64_t conv_engine_runs();

}  // namespace ptl::cuda
