// One convolution direction run through cuDNN's backend (graph) API: an operation graph of one
// convolution, the engine configurations of cuDNN's heuristics (CUDNN_HEUR_MODE_A), filtered by
// the algorithm rules of conv.cu, and the first that finalizes with a workspace that fits, kept as
// an execution plan. conv.cu caches one per direction in each shape's plan and uses it instead of
// the legacy algorithm while set_cudnn_engine_heuristics(true) (math_mode.h); when no engine
// qualifies or a backend call fails, make_conv_engine says why and conv.cu keeps the legacy one.
#pragma once
#include <cudnn.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kernels/conv_geometry.h"
#include "kernels/cuda/conv_engine_rules.h"

namespace ptl::cuda {

enum class ConvDirection { forward, backward_data, backward_filter };

// One direction's finalized execution plan. Its tensors are NCHW and packed, their pointers
// 16-byte aligned (aligned() tells whether a call's are).
class ConvEngine {
 public:
  // descriptors: the plan's graph, engine configuration and execution plan (the last), all
  // kept until the engine is destroyed, as the plan may refer to them.
  ConvEngine(std::vector<cudnnBackendDescriptor_t> descriptors, size_t workspace,
             std::string description)
      : descriptors_(std::move(descriptors)),
        workspace_(workspace),
        description_(std::move(description)) {}
  ~ConvEngine();
  ConvEngine(const ConvEngine&) = delete;
  ConvEngine& operator=(const ConvEngine&) = delete;

  size_t workspace() const { return workspace_; }
  // The engine's global index and notes, for PTL_CUDNN_VERBOSE.
  const std::string& description() const { return description_; }
  static bool aligned(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }
  // Runs the direction on its tensors: forward (x, w, y), backward data (dx, w, dy), backward
  // filter (x, dw, dy); the result is overwritten (alpha 1, beta 0). ws holds workspace() bytes.
  // False when a backend call failed: stderr says why the first time, and the engine refuses
  // every later call, so that the caller's legacy algorithm runs from then on.
  bool run(cudnnHandle_t h, const void* x, const void* w, const void* y, void* ws) const;

 private:
  std::vector<cudnnBackendDescriptor_t> descriptors_;  // owned; the EXECUTION_PLAN last
  size_t workspace_;
  std::string description_;
  mutable std::atomic<bool> failed_{false};
};

// The engine for direction dir of geometry g, its data of type data (FLOAT, DOUBLE or BFLOAT16;
// bf16 and float compute in FLOAT), or nullptr with *why_not saying why none qualifies.
std::unique_ptr<ConvEngine> make_conv_engine(cudnnHandle_t h, ConvDirection dir,
                                             const ConvGeometry& g, cudnnDataType_t data,
                                             const EngineRules& rules, size_t workspace_limit,
                                             std::string* why_not);

}  // namespace ptl::cuda
