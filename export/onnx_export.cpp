#include "export/onnx_export.h"

#include <onnx/checker.h>
#include <onnx/defs/schema.h>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "export/onnx_graph.h"
#include "layers/bconv_cell.h"

namespace ptl {

namespace {
constexpr int64_t kMinOpset = 13;  // Slice, Clip and ReduceL2 as the recorder writes them

// A float32 (batch, dims...) value description; batch 0: the symbolic "batch".
void describe(onnx::ValueInfoProto* v, const std::string& name, const Shape& dims,
              int64_t batch) {
  v->set_name(name);
  onnx::TypeProto_Tensor* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  onnx::TensorShapeProto* s = t->mutable_shape();
  if (batch > 0)
    s->add_dim()->set_dim_value(batch);
  else
    s->add_dim()->set_dim_param("batch");
  for (size_t i = 1; i < dims.size(); ++i) s->add_dim()->set_dim_value(dims[i]);
}

// The model in evaluation mode with zero cell states for the trace's lifetime; then as it was.
class ExportMode {
 public:
  explicit ExportMode(Model& m) : model_(m), training_(m.is_training()) {
    for (auto& [name, cell] : bconv_cells(m)) {
      inits_.emplace_back(cell, cell->spec().init);
      cell->spec().init = StateInit::Zeros;
    }
    model_.eval();
    model_.reset_state();
  }
  ~ExportMode() {
    for (auto& [cell, init] : inits_) cell->spec().init = init;
    model_.reset_state();
    model_.train(training_);
  }

 private:
  Model& model_;
  bool training_;
  std::vector<std::pair<BConvCell*, StateInit>> inits_;
};
}  // namespace

std::pair<int64_t, int64_t> onnx_opset_range() {
  const auto& ranges = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  return {kMinOpset, ranges.at(onnx::ONNX_DOMAIN).second};
}

std::string export_onnx(Model& model, const std::function<Tensor(const Tensor&)>& forward,
                        const OnnxExportSpec& spec) {
  const auto [lo, hi] = onnx_opset_range();
  PTL_CHECK(spec.opset >= lo && spec.opset <= hi, "ONNX export: opset ", spec.opset,
            " is outside what this build writes, ", lo, " to ", hi);
  PTL_CHECK(spec.input.size() == 3, "ONNX export: the input must be (C, H, W), got ",
            shape_str(spec.input));
  onnx::ModelProto proto;
  proto.set_ir_version(onnx::IR_VERSION);
  proto.set_producer_name("ptl");
  proto.set_producer_version(PTL_VERSION);
  onnx::OperatorSetIdProto* op = proto.add_opset_import();
  op->set_domain("");
  op->set_version(spec.opset);
  for (const auto& [k, v] : spec.metadata) {
    onnx::StringStringEntryProto* e = proto.add_metadata_props();
    e->set_key(k);
    e->set_value(v);
  }
  onnx::GraphProto& graph = *proto.mutable_graph();
  graph.set_name("ptl");

  OnnxGraphRecorder recorder(graph, spec.batch == 0);
  for (auto& [name, t] : model.named_parameters()) recorder.add_constant(name, t);
  for (auto& [name, t] : model.named_buffers()) recorder.add_constant(name, t);
  const Tensor x = zeros({spec.batch > 0 ? spec.batch : 1, spec.input[0], spec.input[1],
                          spec.input[2]},
                         DType::F32, model.device());
  recorder.add_input("input", x);
  Tensor y;
  {
    ExportMode mode(model);
    NoGradGuard ng;
    TraceScope scope(recorder);
    y = forward(x);
  }
  onnx::NodeProto* out = graph.add_node();
  out->set_op_type("Identity");
  out->set_name(spec.output_name);
  out->add_input(recorder.value_of(y, "output"));
  out->add_output(spec.output_name);
  describe(graph.add_input(), "input", x.shape(), spec.batch);
  describe(graph.add_output(), spec.output_name, y.shape(), spec.batch);
  try {
    onnx::checker::check_model(proto);
  } catch (const std::exception& e) {
    fail(str("ONNX export: ONNX's checker rejects the graph: ", e.what()));
  }
  std::string bytes;
  PTL_CHECK(proto.SerializeToString(&bytes), "ONNX export: the model does not serialize (",
            proto.ByteSizeLong(), " bytes; protobuf's limit is 2 GiB)");
  return bytes;
}

}  // namespace ptl
