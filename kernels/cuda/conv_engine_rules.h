// Which cuDNN backend engines a convolution plan may use (conv_engines.cu), from the notes an
// engine gives of itself and the algorithm rules of conv.cu. Free of CUDA headers, so the tests
// check the table on any machine.
#pragma once
#include "base/dtype.h"

namespace ptl::cuda {

// The numerical notes of an engine that the rules look at (cuDNN's CUDNN_NUMERICAL_NOTE_*).
struct EngineNotes {
  bool nondeterministic = false;   // NONDETERMINISTIC: sums with atomics
  bool transform = false;          // FFT or WINOGRAD (any tile)
  bool tensor_core = false;        // TENSOR_CORE
  bool down_convert = false;       // DOWN_CONVERT_INPUTS: float32 inputs rounded to TF32
  bool reduced_reduction = false;  // REDUCED_PRECISION_REDUCTION: sums below the compute type
};

struct EngineRules {
  bool deterministic;  // no non-deterministic engine
  bool direct;         // deterministic, and no FFT or Winograd engine
  bool tensor_cores;   // tensor-core engines allowed
  bool down_convert;   // down-converting engines allowed

  // The rules of a plan for data of type dtype: tensor cores where the legacy path allows
  // tensor-op math (float32 with TF32, bf16), down-converted inputs only for float32 with TF32
  // (bf16 inputs have nothing to round to; float64 never uses either).
  static EngineRules of(DType dtype, bool tf32, bool deterministic, bool direct) {
    const bool f32_tf32 = dtype == DType::F32 && tf32;
    return {deterministic, direct, f32_tf32 || dtype == DType::BF16, f32_tf32};
  }
};

// Whether the rules allow an engine with these notes. Sums in reduced precision never are: the
// legacy path sums in FP32 (FP64 for float64) throughout.
inline bool engine_allowed(const EngineNotes& n, const EngineRules& r) {
  if (n.nondeterministic && (r.deterministic || r.direct)) return false;
  if (n.transform && r.direct) return false;
  if (n.tensor_core && !r.tensor_cores) return false;
  if (n.down_convert && !r.down_convert) return false;
  return !n.reduced_reduction;
}

}  // namespace ptl::cuda
