#include "export/onnx_graph.h"

#include <set>

#include "engine/ops.h"

namespace ptl {

namespace {
void add_ints(onnx::NodeProto& n, const char* name, const std::vector<int64_t>& v) {
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}
void add_int(onnx::NodeProto& n, const char* name, int64_t v) {
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}
void add_float(onnx::NodeProto& n, const char* name, double v) {
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(static_cast<float>(v));
}
std::vector<int64_t> as_ints(const std::vector<double>& v) {
  return std::vector<int64_t>(v.begin(), v.end());
}

// float32 or int64 data of `t` as an initializer (raw little-endian bytes, as x86-64 holds them).
void to_proto(const std::string& name, const Tensor& t, onnx::TensorProto* p) {
  PTL_CHECK(t.dtype() == DType::F32 || t.dtype() == DType::I64, "ONNX export: constant ", name,
            " is ", dtype_name(t.dtype()), "; the export writes float32 models");
  const Tensor c = t.to(Device::cpu()).contiguous();
  p->set_name(name);
  for (int64_t d : c.shape()) p->add_dims(d);
  p->set_data_type(c.dtype() == DType::F32 ? onnx::TensorProto::FLOAT : onnx::TensorProto::INT64);
  p->set_raw_data(c.raw_data(), static_cast<size_t>(c.numel()) * dtype_size(c.dtype()));
}

const std::set<std::string>& mapped_ops() {
  static const std::set<std::string> ops{
      "conv2d",     "batch_norm", "batch_norm_relu", "relu",       "sigmoid",     "tanh",
      "exp",        "log",        "sqrt",            "abs",        "neg",         "add",
      "sub",        "mul",        "div",             "add_scalar", "mul_scalar",  "pow",
      "clamp",      "add_relu",   "max_pool2d",      "avg_pool2d", "matmul",      "reshape",
      "permute",    "narrow",     "cat",             "l2_normalize", "bconv_gates",
      "adaptive_avg_pool2d",      "adaptive_max_pool2d"};
  return ops;
}
}  // namespace

OnnxGraphRecorder::OnnxGraphRecorder(onnx::GraphProto& graph, bool dynamic_batch)
    : graph_(graph), dynamic_batch_(dynamic_batch) {}

void OnnxGraphRecorder::add_constant(const std::string& name, const Tensor& t) {
  known_[t.impl_ptr().get()] = {name, t};
  keep_.push_back(t);
}

void OnnxGraphRecorder::add_input(const std::string& name, const Tensor& x) {
  known_[x.impl_ptr().get()] = {name, Tensor()};
  keep_.push_back(x);
}

const OnnxGraphRecorder::Known* OnnxGraphRecorder::find(const Tensor& t) const {
  auto it = known_.find(t.impl_ptr().get());
  return it == known_.end() ? nullptr : &it->second;
}

std::string OnnxGraphRecorder::value_of(const Tensor& t, const char* what) const {
  const Known* k = find(t);
  PTL_CHECK(k && !k->constant.defined(), "ONNX export: the ", what, " ", t.shape_str(),
            " is not computed from the input by traced ops");
  return k->name;
}

std::string OnnxGraphRecorder::use(const Tensor& t, const TracedOp& op) {
  const Known* k = find(t);
  PTL_CHECK(k, "ONNX export: op ", op.op, " reads a tensor ", t.shape_str(),
            " that is neither the input, a parameter, a buffer nor the result of an op the "
            "trace saw (an op that does not report to engine/trace.h, or a tensor made inside "
            "the model)");
  if (k->constant.defined() && !emitted_[k->name]) {
    to_proto(k->name, k->constant, graph_.add_initializer());
    emitted_[k->name] = true;
  }
  return k->name;
}

std::string OnnxGraphRecorder::fresh(const std::string& hint) {
  return hint + "_" + std::to_string(counter_++);
}

onnx::NodeProto& OnnxGraphRecorder::node(const std::string& type,
                                         const std::vector<std::string>& inputs,
                                         const std::vector<std::string>& outputs) {
  onnx::NodeProto* n = graph_.add_node();
  n->set_op_type(type);
  n->set_name(outputs.at(0));
  for (const std::string& i : inputs) n->add_input(i);
  for (const std::string& o : outputs) n->add_output(o);
  return *n;
}

std::string OnnxGraphRecorder::ints(const std::vector<int64_t>& v) {
  const std::string name = fresh("ints");
  to_proto(name, from_vector(v, {static_cast<int64_t>(v.size())}), graph_.add_initializer());
  return name;
}

std::string OnnxGraphRecorder::scalar(double v) {
  const std::string name = fresh("scalar");
  to_proto(name, full({}, v), graph_.add_initializer());
  return name;
}

void OnnxGraphRecorder::record(TracedOp op) {
  PTL_CHECK(mapped_ops().count(op.op), "ONNX export: op '", op.op,
            "' has no ONNX mapping (export/onnx_graph.h lists the mapped ops)");
  for (const Tensor& t : op.inputs)
    if (t.defined()) keep_.push_back(t);
  for (const Tensor& t : op.outputs) {
    PTL_CHECK(t.dtype() == DType::F32, "ONNX export: op ", op.op, " gives ",
              dtype_name(t.dtype()), " ", t.shape_str(), "; the export writes float32 models");
    keep_.push_back(t);
  }
  const Tensor& y = op.outputs.at(0);
  if (std::string(op.op) == "bconv_gates") {
    const std::string out = fresh(op.op);
    map_bconv_gates(op, use(op.inputs[0], op), out);
    known_[y.impl_ptr().get()] = {out, Tensor()};
    return;
  }
  // An op on constants only (linear's transposed weight) is folded into a constant.
  bool constant = true;
  for (const Tensor& t : op.inputs) {
    const Known* k = t.defined() ? find(t) : nullptr;
    if (t.defined() && !(k && k->constant.defined())) constant = false;
  }
  if (constant) {
    known_[y.impl_ptr().get()] = {find(op.inputs.at(0))->name + "." + op.op + "_" +
                                      std::to_string(counter_++),
                                  y.contiguous()};
    return;
  }
  std::vector<std::string> in;
  for (const Tensor& t : op.inputs) in.push_back(t.defined() ? use(t, op) : std::string());
  const std::string out = fresh(op.op);
  map_op(op, in, out);
  known_[y.impl_ptr().get()] = {out, Tensor()};
}

void OnnxGraphRecorder::map_op(const TracedOp& op, const std::vector<std::string>& in,
                               const std::string& out) {
  const std::string name = op.op;
  const Tensor& x = op.inputs.at(0);
  const Tensor& y = op.outputs.at(0);
  static const std::map<std::string, std::string> unary{
      {"relu", "Relu"}, {"sigmoid", "Sigmoid"}, {"tanh", "Tanh"}, {"exp", "Exp"},
      {"log", "Log"},   {"sqrt", "Sqrt"},       {"abs", "Abs"},   {"neg", "Neg"}};
  static const std::map<std::string, std::string> binary{
      {"add", "Add"}, {"sub", "Sub"}, {"mul", "Mul"}, {"div", "Div"}, {"matmul", "MatMul"}};
  if (unary.count(name)) {
    node(unary.at(name), {in[0]}, {out});
  } else if (binary.count(name)) {
    node(binary.at(name), {in[0], in[1]}, {out});
  } else if (name == "add_scalar" || name == "mul_scalar" || name == "pow") {
    const char* type = name == "add_scalar" ? "Add" : name == "mul_scalar" ? "Mul" : "Pow";
    node(type, {in[0], scalar(op.attr("params")[0])}, {out});
  } else if (name == "clamp") {
    const std::vector<double>& p = op.attr("params");
    node("Clip", {in[0], scalar(p[0]), scalar(p[1])}, {out});
  } else if (name == "add_relu") {
    const std::string sum = fresh("add");
    node("Add", {in[0], in[1]}, {sum});
    node("Relu", {sum}, {out});
  } else if (name == "conv2d") {
    const Tensor& w = op.inputs.at(1);
    const std::vector<int64_t> s = as_ints(op.attr("stride")), p = as_ints(op.attr("padding"));
    std::vector<std::string> args{in[0], in[1]};
    if (op.inputs.at(2).defined()) args.push_back(in[2]);
    onnx::NodeProto& n = node("Conv", args, {out});
    add_ints(n, "kernel_shape", {w.size(2), w.size(3)});
    add_ints(n, "strides", s);
    add_ints(n, "pads", {p[0], p[1], p[0], p[1]});
    add_ints(n, "dilations", as_ints(op.attr("dilation")));
    add_int(n, "group", 1);
  } else if (name == "batch_norm" || name == "batch_norm_relu") {
    PTL_CHECK(op.attr("training")[0] == 0.0, "ONNX export: ", name,
              " runs in training mode; the export traces the model in evaluation mode");
    for (size_t i = 1; i < 5; ++i)
      PTL_CHECK(op.inputs[i].defined(), "ONNX export: ", name,
                " without weight, bias or running statistics has no mapping");
    const bool relu = name == "batch_norm_relu";
    const std::string bn = relu ? fresh("batch_norm") : out;
    onnx::NodeProto& n = node("BatchNormalization", {in[0], in[1], in[2], in[3], in[4]}, {bn});
    add_float(n, "epsilon", op.attr("eps")[0]);
    if (relu) node("Relu", {bn}, {out});
  } else if (name == "max_pool2d" || name == "avg_pool2d" || name == "adaptive_avg_pool2d" ||
             name == "adaptive_max_pool2d") {
    const bool is_max = name.find("max") != std::string::npos;
    const int64_t H = x.size(2), W = x.size(3);
    std::vector<int64_t> kernel, stride, pad{0, 0};
    bool ceil = false, count_pad = true;
    if (name.rfind("adaptive", 0) == 0) {
      const int64_t oh = y.size(2), ow = y.size(3);
      PTL_CHECK(H % oh == 0 && W % ow == 0, "ONNX export: ", name, " from ", H, "x", W, " to ", oh,
                "x", ow, " has windows of unequal sizes, which no ONNX pool computes");
      kernel = stride = {H / oh, W / ow};
    } else {
      kernel = as_ints(op.attr("kernel"));
      stride = as_ints(op.attr("stride"));
      pad = as_ints(op.attr("padding"));
      ceil = op.attr("ceil_mode")[0] != 0.0;
      count_pad = op.attr("count_include_pad")[0] != 0.0;
    }
    if (kernel[0] == H && kernel[1] == W && pad[0] == 0 && pad[1] == 0) {
      node(is_max ? "GlobalMaxPool" : "GlobalAveragePool", {in[0]}, {out});
    } else {
      onnx::NodeProto& n = node(is_max ? "MaxPool" : "AveragePool", {in[0]}, {out});
      add_ints(n, "kernel_shape", kernel);
      add_ints(n, "strides", stride);
      add_ints(n, "pads", {pad[0], pad[1], pad[0], pad[1]});
      add_int(n, "ceil_mode", ceil ? 1 : 0);
      if (!is_max) add_int(n, "count_include_pad", count_pad ? 1 : 0);
    }
  } else if (name == "reshape") {
    std::vector<int64_t> shape = y.shape();
    if (dynamic_batch_) {
      PTL_CHECK(x.dim() > 0 && y.dim() > 0 && x.size(0) == y.size(0), "ONNX export: reshape ",
                x.shape_str(), " -> ", y.shape_str(),
                " changes the batch dimension; export with a fixed --batch N");
      shape[0] = 0;  // ONNX Reshape: 0 copies the input's dimension (the symbolic batch)
    }
    node("Reshape", {in[0], ints(shape)}, {out});
  } else if (name == "permute") {
    add_ints(node("Transpose", {in[0]}, {out}), "perm", as_ints(op.attr("dims")));
  } else if (name == "narrow") {
    const int64_t dim = static_cast<int64_t>(op.attr("dim")[0]),
                  start = static_cast<int64_t>(op.attr("start")[0]),
                  length = static_cast<int64_t>(op.attr("length")[0]);
    PTL_CHECK(!(dynamic_batch_ && dim == 0), "ONNX export: narrow along the batch dimension of ",
              x.shape_str(), "; export with a fixed --batch N");
    node("Slice", {in[0], ints({start}), ints({start + length}), ints({dim})}, {out});
  } else if (name == "cat") {
    add_int(node("Concat", in, {out}), "axis", static_cast<int64_t>(op.attr("dim")[0]));
  } else if (name == "l2_normalize") {
    // x / max(||x||_2, eps), as the op (opset <= 17: ReduceL2 takes its axes as an attribute).
    const std::string norm = fresh("l2norm"), clamped = fresh("l2norm_clamped");
    onnx::NodeProto& n = node("ReduceL2", {in[0]}, {norm});
    add_ints(n, "axes", {static_cast<int64_t>(op.attr("dim")[0])});
    add_int(n, "keepdims", 1);
    node("Max", {norm, scalar(op.attr("eps")[0])}, {clamped});
    node("Div", {in[0], clamped}, {out});
  } else {
    fail(str("ONNX export: op '", name, "' has no ONNX mapping"));
  }
}

void OnnxGraphRecorder::map_bconv_gates(const TracedOp& op, const std::string& z,
                                        const std::string& out) {
  // With c_prev = 0: c = f * 0 + i * g = i * g and h = o * tanh(c); the forget gate drops out.
  const Tensor& c_prev = op.inputs.at(1);
  for (float v : c_prev.to_vector())
    PTL_CHECK(v == 0.0f, "ONNX export: bconv_gates with a nonzero state: the export takes the "
                         "mean of the cell's fresh N(0, 0.001^2) state, zero (StateInit::Zeros)");
  const int64_t C = op.inputs[0].size(1) / 4;
  auto gate = [&](int64_t k, const char* type) {
    const std::string slice = fresh("gate"), act = fresh(type);
    node("Slice", {z, ints({k * C}), ints({(k + 1) * C}), ints({1})}, {slice});
    node(type, {slice}, {act});
    return act;
  };
  const std::string i = gate(0, "Sigmoid"), o = gate(2, "Sigmoid"), g = gate(3, "Tanh");
  const std::string c = fresh("cell"), tc = fresh("Tanh");
  node("Mul", {i, g}, {c});
  node("Tanh", {c}, {tc});
  node("Mul", {o, tc}, {out});
}

}  // namespace ptl
