// ONNX export: a model's inference forward traced once (engine/trace.h) into an ONNX file that
// ONNX Runtime, OpenCV's DNN module, TensorRT or OpenVINO can run (docs/deploy.md).
//
// The trace runs the model in evaluation mode on a zero input, with every BConv-Cell started
// from a zero state: the release draws a fresh N(0, 0.001^2) state at every evaluation forward,
// and a graph must be deterministic, so it takes that draw's mean (docs/deploy.md measures the
// difference). The model's modes and cell settings are restored afterwards.
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "models/model.h"

namespace ptl {

struct OnnxExportSpec {
  Shape input;        // (C, H, W) of one image
  int64_t batch = 0;  // 0: a symbolic batch dimension ("batch"); else that fixed size
  int64_t opset = 17;
  std::string output_name = "feature";
  std::vector<std::pair<std::string, std::string>> metadata;  // metadata_props, in order
};

// The opsets the export writes: 13 to the newest the installed ONNX library knows.
std::pair<int64_t, int64_t> onnx_opset_range();

// The serialized ModelProto of `forward` (input (N, C, H, W) -> one float32 tensor) on `model`,
// whose parameters and buffers become initializers named by their state-dict keys. Checked by
// ONNX's own checker (onnx::checker::check_model) before it is returned.
std::string export_onnx(Model& model, const std::function<Tensor(const Tensor&)>& forward,
                        const OnnxExportSpec& spec);

}  // namespace ptl
