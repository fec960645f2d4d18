// cuDNN backend execution plans for one convolution direction (conv_engines.h). The graph has
// three NCHW tensors, packed and declared 16-byte aligned, with unique ids 1 (x or dx), 2 (w or
// dw) and 3 (y or dy), and one convolution operation (alpha 1, beta 0, cross-correlation,
// symmetric padding). Backend calls that must succeed go through PTL_CUDNN_CHECK, whose error
// make_conv_engine turns into its why_not; an engine configuration that does not finalize is
// simply skipped, as cuDNN's heuristics may rank engines the device cannot run.
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/conv_engines.h"

namespace ptl::cuda {

namespace {

// Owner of one backend descriptor.
struct Backend {
  cudnnBackendDescriptor_t d = nullptr;
  explicit Backend(cudnnBackendDescriptorType_t type) {
    PTL_CUDNN_CHECK(cudnnBackendCreateDescriptor(type, &d));
  }
  ~Backend() {
    if (d) cudnnBackendDestroyDescriptor(d);
  }
  Backend(Backend&& o) noexcept : d(o.d) { o.d = nullptr; }
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;
  cudnnBackendDescriptor_t release() {
    cudnnBackendDescriptor_t r = d;
    d = nullptr;
    return r;
  }
};

void set(cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t name,
         cudnnBackendAttributeType_t type, int64_t count, const void* values) {
  PTL_CUDNN_CHECK(cudnnBackendSetAttribute(d, name, type, count, values));
}
void set_desc(cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t name,
              cudnnBackendDescriptor_t value) {
  set(d, name, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &value);
}

// The operation graph and the execution plan take the cuDNN handle, as cuDNN 8 required. cuDNN 9
// marks these two attributes deprecated (a device-properties descriptor may stand in) but still
// declares them; whether the machine's release accepts them is seen at the first GPU run (a
// refusal is a why_not line and the legacy fallback). They are the only deprecated names used.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#pragma nv_diag_suppress 1444
#pragma nv_diag_suppress 1215
constexpr cudnnBackendAttributeName_t kGraphHandle = CUDNN_ATTR_OPERATIONGRAPH_HANDLE;
constexpr cudnnBackendAttributeName_t kPlanHandle = CUDNN_ATTR_EXECUTION_PLAN_HANDLE;
#pragma nv_diag_default 1215
#pragma nv_diag_default 1444
#pragma GCC diagnostic pop

// A packed NCHW tensor of dims (a, b, c, e) with unique id uid.
Backend tensor(cudnnDataType_t type, int64_t uid, int64_t a, int64_t b, int64_t c, int64_t e) {
  Backend t(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
  const int64_t dims[4] = {a, b, c, e}, strides[4] = {b * c * e, c * e, e, 1}, alignment = 16;
  set(t.d, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &type);
  set(t.d, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, dims);
  set(t.d, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, strides);
  set(t.d, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid);
  set(t.d, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &alignment);
  PTL_CUDNN_CHECK(cudnnBackendFinalize(t.d));
  return t;
}

Backend convolution(const ConvGeometry& g, cudnnDataType_t compute) {
  Backend c(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR);
  const int64_t dims = 2, stride[2] = {g.sh, g.sw}, pad[2] = {g.ph, g.pw},
                dilation[2] = {g.dh, g.dw};
  const cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  set(c.d, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &compute);
  set(c.d, CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode);
  set(c.d, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &dims);
  set(c.d, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 2, stride);
  set(c.d, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 2, pad);
  set(c.d, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 2, pad);
  set(c.d, CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 2, dilation);
  PTL_CUDNN_CHECK(cudnnBackendFinalize(c.d));
  return c;
}

// Each direction's operation type and its attributes for (x, w, y, conv, alpha, beta).
struct OpAttrs {
  cudnnBackendDescriptorType_t type;
  cudnnBackendAttributeName_t x, w, y, conv, alpha, beta;
};
OpAttrs op_attrs(ConvDirection dir) {
  switch (dir) {
    case ConvDirection::forward:
      return {CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR,
              CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X,
              CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W,
              CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y,
              CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC,
              CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA,
              CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA};
    case ConvDirection::backward_data:
      return {CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_W,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DY,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_CONV_DESC,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_ALPHA,
              CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_BETA};
    case ConvDirection::backward_filter:
      break;
  }
  return {CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR,
          CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_X,
          CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW,
          CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DY,
          CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_CONV_DESC,
          CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_ALPHA,
          CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_BETA};
}

// The operation graph of direction dir's one convolution, with the descriptors it refers to.
struct Graph {
  Backend x, w, y, conv, op, graph;
};

Graph operation_graph(cudnnHandle_t h, ConvDirection dir, const ConvGeometry& g,
                      cudnnDataType_t data) {
  const cudnnDataType_t compute = data == CUDNN_DATA_DOUBLE ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
  const OpAttrs a = op_attrs(dir);
  Graph gr{tensor(data, 1, g.N, g.C, g.H, g.W),
           tensor(data, 2, g.Cout, g.C, g.KH, g.KW),
           tensor(data, 3, g.N, g.Cout, g.OH, g.OW),
           convolution(g, compute),
           Backend(a.type),
           Backend(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR)};
  set_desc(gr.op.d, a.x, gr.x.d);
  set_desc(gr.op.d, a.w, gr.w.d);
  set_desc(gr.op.d, a.y, gr.y.d);
  set_desc(gr.op.d, a.conv, gr.conv.d);
  // The scaling factors have the compute type.
  const double one_d = 1, zero_d = 0;
  const float one_f = 1, zero_f = 0;
  const bool dbl = compute == CUDNN_DATA_DOUBLE;
  const cudnnBackendAttributeType_t st = dbl ? CUDNN_TYPE_DOUBLE : CUDNN_TYPE_FLOAT;
  set(gr.op.d, a.alpha, st, 1, dbl ? static_cast<const void*>(&one_d) : &one_f);
  set(gr.op.d, a.beta, st, 1, dbl ? static_cast<const void*>(&zero_d) : &zero_f);
  PTL_CUDNN_CHECK(cudnnBackendFinalize(gr.op.d));
  set(gr.graph.d, kGraphHandle, CUDNN_TYPE_HANDLE, 1, &h);
  set_desc(gr.graph.d, CUDNN_ATTR_OPERATIONGRAPH_OPS, gr.op.d);
  PTL_CUDNN_CHECK(cudnnBackendFinalize(gr.graph.d));
  return gr;
}

// The engine configurations cuDNN's heuristics rank for graph, best first.
std::vector<Backend> heuristics(cudnnBackendDescriptor_t graph) {
  Backend heur(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
  const cudnnBackendHeurMode_t mode = CUDNN_HEUR_MODE_A;
  set_desc(heur.d, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, graph);
  set(heur.d, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode);
  PTL_CUDNN_CHECK(cudnnBackendFinalize(heur.d));
  int64_t count = 0;
  PTL_CUDNN_CHECK(cudnnBackendGetAttribute(heur.d, CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                           CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &count, nullptr));
  std::vector<Backend> configs;
  std::vector<cudnnBackendDescriptor_t> raw;
  for (int64_t i = 0; i < count; ++i) {
    configs.emplace_back(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
    raw.push_back(configs.back().d);
  }
  int64_t returned = 0;
  PTL_CUDNN_CHECK(cudnnBackendGetAttribute(heur.d, CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                           CUDNN_TYPE_BACKEND_DESCRIPTOR, count, &returned,
                                           raw.data()));
  while (static_cast<int64_t>(configs.size()) > returned) configs.pop_back();
  return configs;
}

// What an engine configuration's engine says of itself.
struct Notes : EngineNotes {
  int64_t index = -1;  // the engine's global index
  bool runtime_compiled = false;
};

Notes notes_of(cudnnBackendDescriptor_t config) {
  Backend engine(CUDNN_BACKEND_ENGINE_DESCRIPTOR);
  int64_t n = 0;
  PTL_CUDNN_CHECK(cudnnBackendGetAttribute(config, CUDNN_ATTR_ENGINECFG_ENGINE,
                                           CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n, &engine.d));
  Notes out;
  PTL_CUDNN_CHECK(cudnnBackendGetAttribute(engine.d, CUDNN_ATTR_ENGINE_GLOBAL_INDEX,
                                           CUDNN_TYPE_INT64, 1, &n, &out.index));
  cudnnBackendNumericalNote_t numerical[CUDNN_NUMERICAL_NOTE_TYPE_COUNT];
  PTL_CUDNN_CHECK(cudnnBackendGetAttribute(engine.d, CUDNN_ATTR_ENGINE_NUMERICAL_NOTE,
                                           CUDNN_TYPE_NUMERICAL_NOTE,
                                           CUDNN_NUMERICAL_NOTE_TYPE_COUNT, &n, numerical));
  for (int64_t i = 0; i < n && i < CUDNN_NUMERICAL_NOTE_TYPE_COUNT; ++i) {
    switch (numerical[i]) {
      case CUDNN_NUMERICAL_NOTE_NONDETERMINISTIC:
        out.nondeterministic = true;
        break;
      case CUDNN_NUMERICAL_NOTE_FFT:
      case CUDNN_NUMERICAL_NOTE_WINOGRAD:
      case CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_4x4:
      case CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_6x6:
      case CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_13x13:
        out.transform = true;
        break;
      case CUDNN_NUMERICAL_NOTE_TENSOR_CORE:
        out.tensor_core = true;
        break;
      case CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS:
        out.down_convert = true;
        break;
      case CUDNN_NUMERICAL_NOTE_REDUCED_PRECISION_REDUCTION:
        out.reduced_reduction = true;
        break;
      default:
        break;
    }
  }
  cudnnBackendBehaviorNote_t behavior[CUDNN_BEHAVIOR_NOTE_TYPE_COUNT];
  PTL_CUDNN_CHECK(cudnnBackendGetAttribute(engine.d, CUDNN_ATTR_ENGINE_BEHAVIOR_NOTE,
                                           CUDNN_TYPE_BEHAVIOR_NOTE, CUDNN_BEHAVIOR_NOTE_TYPE_COUNT,
                                           &n, behavior));
  for (int64_t i = 0; i < n && i < CUDNN_BEHAVIOR_NOTE_TYPE_COUNT; ++i)
    if (behavior[i] == CUDNN_BEHAVIOR_NOTE_RUNTIME_COMPILATION) out.runtime_compiled = true;
  return out;
}

std::string describe(const Notes& n) {
  std::string s = "engine " + std::to_string(n.index);
  if (n.nondeterministic) s += ", non-deterministic";
  if (n.transform) s += ", FFT/Winograd";
  if (n.tensor_core) s += ", tensor cores";
  if (n.down_convert) s += ", down-converted inputs";
  if (n.runtime_compiled) s += ", runtime-compiled";
  return s;
}

}  // namespace

ConvEngine::~ConvEngine() {
  for (auto it = descriptors_.rbegin(); it != descriptors_.rend(); ++it)
    cudnnBackendDestroyDescriptor(*it);
}

bool ConvEngine::run(cudnnHandle_t h, const void* x, const void* w, const void* y, void* ws) const {
  if (failed_) return false;
  try {
    Backend pack(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
    const int64_t uids[3] = {1, 2, 3};
    // cuDNN takes the pointers as void*; it writes only the direction's result.
    void* ptrs[3] = {const_cast<void*>(x), const_cast<void*>(w), const_cast<void*>(y)};
    set(pack.d, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 3, uids);
    set(pack.d, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 3, ptrs);
    set(pack.d, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &ws);
    PTL_CUDNN_CHECK(cudnnBackendFinalize(pack.d));
    PTL_CUDNN_CHECK(cudnnBackendExecute(h, descriptors_.back(), pack.d));
    return true;
  } catch (const Error& e) {
    if (!failed_.exchange(true))
      std::fprintf(stderr, "ptl conv engine: %s failed, the legacy algorithm runs instead: %s\n",
                   description_.c_str(), e.what());
    return false;
  }
}

std::unique_ptr<ConvEngine> make_conv_engine(cudnnHandle_t h, ConvDirection dir,
                                             const ConvGeometry& g, cudnnDataType_t data,
                                             const EngineRules& rules, size_t workspace_limit,
                                             std::string* why_not) {
  try {
    Graph gr = operation_graph(h, dir, g, data);
    std::vector<Backend> configs = heuristics(gr.graph.d);
    int forbidden = 0, unfinalized = 0, too_big = 0;
    for (Backend& config : configs) {
      const Notes notes = notes_of(config.d);
      if (!engine_allowed(notes, rules)) {
        ++forbidden;
        continue;
      }
      Backend plan(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
      set(plan.d, kPlanHandle, CUDNN_TYPE_HANDLE, 1, &h);
      set_desc(plan.d, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, config.d);
      if (cudnnBackendFinalize(plan.d) != CUDNN_STATUS_SUCCESS) {
        ++unfinalized;
        continue;
      }
      int64_t workspace = 0, n = 0;
      PTL_CUDNN_CHECK(cudnnBackendGetAttribute(plan.d, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE,
                                               CUDNN_TYPE_INT64, 1, &n, &workspace));
      if (workspace < 0 || static_cast<size_t>(workspace) > workspace_limit) {
        ++too_big;
        continue;
      }
      std::vector<cudnnBackendDescriptor_t> keep;
      for (Backend* b : {&gr.x, &gr.w, &gr.y, &gr.conv, &gr.op, &gr.graph, &config, &plan})
        keep.push_back(b->release());
      return std::make_unique<ConvEngine>(std::move(keep), static_cast<size_t>(workspace),
                                          describe(notes));
    }
    *why_not = "of " + std::to_string(configs.size()) + " engine configurations, " +
               std::to_string(forbidden) + " forbidden by the rules, " +
               std::to_string(unfinalized) + " did not finalize, " + std::to_string(too_big) +
               " need more than " + std::to_string(workspace_limit) + " bytes of workspace";
  } catch (const Error& e) {
    *why_not = e.what();
  }
  return nullptr;
}

}  // namespace ptl::cuda
