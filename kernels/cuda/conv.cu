// 2-d convolution through cuDNN (contract: kernels/contract/conv.inc), NCHW, groups = 1.
//
// Each shape gets a plan once (conv_plan_cache.h): tensor, filter and convolution descriptors
// and one algorithm per direction (forward, backward data, backward filter). Algorithms come
// from cuDNN's heuristics (cudnnGet*Algorithm_v7: no benchmarking, so the choice is cheap and
// repeatable from run to run). Of the heuristics' ranking we take the first algorithm that
// succeeded, whose workspace fits the memory the device could give (free memory plus the
// allocator's cached bytes, at plan time) and, when one such exists, that is deterministic:
// backward-filter and backward-data algorithms that sum with atomics make every run differ,
// which this project avoids wherever it can (docs/architecture.md, Determinism); only if no
// deterministic algorithm fits do we take the best non-deterministic one. With
// set_deterministic_convolutions(false) the first that fits, whatever its determinism (PyTorch's
// rule). With set_direct_convolutions(true) only deterministic algorithms that are neither FFT nor
// Winograd (the float32 accuracy tests). PTL_CUDNN_VERBOSE=1 prints each choice.
//
// Math: float computes in FP32 with CUDNN_FMA_MATH, not CUDNN_DEFAULT_MATH, which on Ampere and
// later lets cuDNN use TF32 tensor cores; with cuda::set_allow_tf32(true), CUDNN_TENSOR_OP_MATH.
// double computes in FP64 (CUDNN_DEFAULT_MATH). As in PyTorch, the math type that the chosen
// algorithm reports is set on that direction's convolution descriptor (cuDNN picks the kernel
// from algorithm and math type together), except that without TF32 a float algorithm may not
// report a tensor-op math type, and one reporting DEFAULT runs with FMA on the descriptor.
//
// bf16 (kernels/contract/conv_bf16.inc, bf16 precision): cuDNN's legacy API takes bf16 x and w
// only as its BFLOAT16 configuration, whose result (y, dx, dw) is bf16 too, computed in FP32
// (CUDNN_DATA_FLOAT on the convolution descriptor, tensor-op math, as PyTorch's bf16 convolutions):
// so each direction writes a bf16 result to a scratch buffer and a kernel widens it to the op's
// float32 output, adding the bias in float32 in the forward. The CPU keeps these results float32
// (docs/cuda.md, "bf16 on CUDA", names the difference). The bias gradient sums the bf16 grad_output
// in float64 per channel (a fixed tree), rounded to float32, as the CPU does. The algorithm rules
// above hold for bf16 too (deterministic first; direct excludes FFT and Winograd).
//
// Backend engines (set_cudnn_engine_heuristics, off by default): each plan also asks cuDNN's
// backend API for one engine per direction (conv_engines.h) under the rules above: no
// non-deterministic engine while determinism is on (with no fallback to one: the legacy choice
// stays the fallback), no FFT or Winograd when direct, tensor cores and down-converted inputs only
// where the legacy path allows tensor-op math (float32 with TF32; tensor cores for bf16), never a
// reduced-precision sum. A call runs the engine when its pointers are 16-byte aligned (the plan
// declares so), the legacy algorithm otherwise, and whenever no engine qualified or a backend
// call failed (stderr says why none, once per plan; PTL_CUDNN_VERBOSE=1 also names the engine).
//
// Workspaces come from the caching allocator for the call and are freed right after it: they
// are stream-ordered, so the next user of the block runs after the cuDNN kernels.
#include <atomic>
#include <climits>
#include <cstdio>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "base/error.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/conv_engines.h"
#include "kernels/cuda/conv_plan_cache.h"
#include "kernels/cuda/kernels.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/math_mode.h"
#include "kernels/cuda/memory.h"
#include "kernels/cuda/per_device.h"
#include "kernels/cuda/runtime.h"

namespace ptl::cuda {

namespace {

template <class T>
constexpr cudnnDataType_t cudnn_type();
template <>
constexpr cudnnDataType_t cudnn_type<float>() {
  return CUDNN_DATA_FLOAT;
}
template <>
constexpr cudnnDataType_t cudnn_type<double>() {
  return CUDNN_DATA_DOUBLE;
}
template <>
constexpr cudnnDataType_t cudnn_type<bf16>() {
  return CUDNN_DATA_BFLOAT16;
}

// cuDNN's scaling factors have the compute type: double for double, float for float and bf16.
template <class T>
using Scale = std::conditional_t<std::is_same_v<T, double>, double, float>;

cudnnHandle_t cudnn_handle(int device) {
  return library_handle(device, cudnnCreate, cudnnSetStream, check_cudnn);
}

// Owners of cuDNN descriptors: Create makes one, Destroy frees it.
template <class D, cudnnStatus_t (*Create)(D*), cudnnStatus_t (*Destroy)(D)>
struct Desc {
  D d = nullptr;
  Desc() { PTL_CUDNN_CHECK(Create(&d)); }
  ~Desc() { Destroy(d); }
  Desc(const Desc&) = delete;
  Desc& operator=(const Desc&) = delete;
};
using TensorDesc =
    Desc<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor>;
using FilterDesc =
    Desc<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor>;
using ConvDesc = Desc<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor,
                      cudnnDestroyConvolutionDescriptor>;

// One direction's algorithm, on its own convolution descriptor (which carries its math type),
// and its backend engine when set_cudnn_engine_heuristics found one.
template <class Algo>
struct Choice {
  ConvDesc conv;
  Algo algo{};
  size_t workspace = 0;
  std::unique_ptr<ConvEngine> engine;
};

struct ConvPlan {
  TensorDesc x, y, bias;  // x (N,C,H,W), y (N,Cout,OH,OW), bias (1,Cout,1,1)
  FilterDesc w;           // (Cout,C,KH,KW)
  Choice<cudnnConvolutionFwdAlgo_t> forward;
  Choice<cudnnConvolutionBwdDataAlgo_t> backward_data;
  Choice<cudnnConvolutionBwdFilterAlgo_t> backward_filter;
};

// The three directions' cuDNN calls, for choose() below: a direction's heuristics and workspace
// queries take the plan's descriptors in the same order (arg_a, arg_b, conv, arg_d), so one
// definition serves the three; the checks still name the cuDNN function that failed.
#define PTL_CONV_DIRECTION(Dir, dir, label, member, Algo, PerfT, max_count_fn, heuristics_fn,   \
                           workspace_fn, arg_a, arg_b, arg_d)                                   \
  struct Dir {                                                                                  \
    using Perf = PerfT;                                                                         \
    static constexpr ConvDirection direction = ConvDirection::dir;                              \
    static constexpr const char* name = label;                                                  \
    static Choice<Algo>& choice(ConvPlan& p) { return p.member; }                               \
    static void max_count(cudnnHandle_t h, int* n) { PTL_CUDNN_CHECK(max_count_fn(h, n)); }     \
    static void heuristics(cudnnHandle_t h, const ConvPlan& p, cudnnConvolutionDescriptor_t c,  \
                           int requested, int* returned, Perf* perf) {                          \
      PTL_CUDNN_CHECK(                                                                          \
          heuristics_fn(h, p.arg_a.d, p.arg_b.d, c, p.arg_d.d, requested, returned, perf));     \
    }                                                                                           \
    static size_t workspace(cudnnHandle_t h, const ConvPlan& p, cudnnConvolutionDescriptor_t c, \
                            Algo algo) {                                                        \
      size_t bytes = 0;                                                                         \
      PTL_CUDNN_CHECK(workspace_fn(h, p.arg_a.d, p.arg_b.d, c, p.arg_d.d, algo, &bytes));       \
      return bytes;                                                                             \
    }                                                                                           \
  };
PTL_CONV_DIRECTION(Forward, forward, "forward", forward, cudnnConvolutionFwdAlgo_t,
                   cudnnConvolutionFwdAlgoPerf_t, cudnnGetConvolutionForwardAlgorithmMaxCount,
                   cudnnGetConvolutionForwardAlgorithm_v7, cudnnGetConvolutionForwardWorkspaceSize,
                   x, w, y)
PTL_CONV_DIRECTION(BackwardData, backward_data, "backward-data", backward_data,
                   cudnnConvolutionBwdDataAlgo_t, cudnnConvolutionBwdDataAlgoPerf_t,
                   cudnnGetConvolutionBackwardDataAlgorithmMaxCount,
                   cudnnGetConvolutionBackwardDataAlgorithm_v7,
                   cudnnGetConvolutionBackwardDataWorkspaceSize, w, y, x)
PTL_CONV_DIRECTION(BackwardFilter, backward_filter, "backward-filter", backward_filter,
                   cudnnConvolutionBwdFilterAlgo_t, cudnnConvolutionBwdFilterAlgoPerf_t,
                   cudnnGetConvolutionBackwardFilterAlgorithmMaxCount,
                   cudnnGetConvolutionBackwardFilterAlgorithm_v7,
                   cudnnGetConvolutionBackwardFilterWorkspaceSize, x, y, w)
#undef PTL_CONV_DIRECTION

struct Settings {
  DType dtype;              // the data's: float32, float64 or bfloat16 (for messages)
  cudnnDataType_t compute;  // CUDNN_DATA_FLOAT (float and bf16 data) or CUDNN_DATA_DOUBLE
  cudnnMathType_t math;
  size_t workspace_limit;
  bool deterministic;  // prefer deterministic algorithms (math_mode.h)
  bool direct;         // only deterministic algorithms that sum directly (math_mode.h)
};

// FFT and Winograd algorithms compute a convolution through transforms of its tiles, whose
// float32 rounding differs from (and can exceed) a direct sum's; set_direct_convolutions excludes
// them.
bool is_transform(cudnnConvolutionFwdAlgo_t a) {
  return a == CUDNN_CONVOLUTION_FWD_ALGO_FFT || a == CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING ||
         a == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD ||
         a == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED;
}
bool is_transform(cudnnConvolutionBwdDataAlgo_t a) {
  return a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT ||
         a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING ||
         a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD ||
         a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED;
}
bool is_transform(cudnnConvolutionBwdFilterAlgo_t a) {
  return a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT ||
         a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING ||
         a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED;
}

// PTL_CUDNN_VERBOSE=1: each plan's chosen algorithms go to stderr (the profile of a benchmark).
bool verbose_plans() {
  static const bool on = env_flag("PTL_CUDNN_VERBOSE");
  return on;
}

// The head of a PTL_CUDNN_VERBOSE line: the data type, shape and direction of a plan.
void print_plan_head(const ConvGeometry& g, const Settings& s, const char* direction) {
  std::fprintf(stderr,
               "ptl conv plan: %s input (%lld, %lld, %lld, %lld) weight (%lld, %lld, %lld, %lld) "
               "stride %lld %s: ",
               dtype_name(s.dtype), (long long)g.N, (long long)g.C, (long long)g.H, (long long)g.W,
               (long long)g.Cout, (long long)g.C, (long long)g.KH, (long long)g.KW, (long long)g.sh,
               direction);
}

bool is_tensor_op(cudnnMathType_t m) {
  return m == CUDNN_TENSOR_OP_MATH || m == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
}

void set_conv(cudnnConvolutionDescriptor_t c, const ConvGeometry& g, const Settings& s) {
  PTL_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(c, static_cast<int>(g.ph), static_cast<int>(g.pw),
                                                  static_cast<int>(g.sh), static_cast<int>(g.sw),
                                                  static_cast<int>(g.dh), static_cast<int>(g.dw),
                                                  CUDNN_CROSS_CORRELATION, s.compute));
  PTL_CUDNN_CHECK(cudnnSetConvolutionMathType(c, s.math));
}

// Chooses Dir's algorithm for plan p (file comment), whose descriptors are set.
template <class Dir>
void choose(cudnnHandle_t h, ConvPlan& p, const ConvGeometry& g, const Settings& s) {
  auto& choice = Dir::choice(p);
  int requested = 0, returned = 0;
  Dir::max_count(h, &requested);
  std::vector<typename Dir::Perf> perf(static_cast<size_t>(requested));
  Dir::heuristics(h, p, choice.conv.d, requested, &returned, perf.data());
  const typename Dir::Perf* best = nullptr;
  for (int i = 0; i < returned; ++i) {
    const auto& r = perf[static_cast<size_t>(i)];
    if (r.status != CUDNN_STATUS_SUCCESS || r.memory > s.workspace_limit) continue;
    // Without TF32, a float algorithm must not run on tensor cores; FMA and DEFAULT math are
    // both plain FP32 once the descriptor says FMA (below).
    if (s.math == CUDNN_FMA_MATH && is_tensor_op(r.mathType)) continue;
    if (s.direct && (is_transform(r.algo) || r.determinism != CUDNN_DETERMINISTIC)) continue;
    if (!best) best = &r;
    if (!s.deterministic || r.determinism == CUDNN_DETERMINISTIC) {
      best = &r;
      break;
    }
  }
  PTL_CHECK(
      best, "conv2d: cuDNN offers no ", Dir::name, " algorithm for ", dtype_name(s.dtype),
      " input (", g.N, ", ", g.C, ", ", g.H, ", ", g.W, ") and weight (", g.Cout, ", ", g.C, ", ",
      g.KH, ", ", g.KW, ") within ", s.workspace_limit, " bytes of workspace",
      s.direct ? " among the deterministic direct-sum algorithms (set_direct_convolutions)" : "");
  choice.algo = best->algo;
  // DEFAULT math on a float descriptor lets cuDNN use TF32 on Ampere and later: while TF32 is
  // off the descriptor keeps FMA.
  const bool keep_fma = s.math == CUDNN_FMA_MATH && best->mathType == CUDNN_DEFAULT_MATH;
  PTL_CUDNN_CHECK(
      cudnnSetConvolutionMathType(choice.conv.d, keep_fma ? CUDNN_FMA_MATH : best->mathType));
  choice.workspace = Dir::workspace(h, p, choice.conv.d, choice.algo);
  if (verbose_plans()) {
    print_plan_head(g, s, Dir::name);
    std::fprintf(stderr,
                 "algorithm %d, math %d, %s, workspace %zu bytes (heuristics rank %d of %d)\n",
                 static_cast<int>(choice.algo), static_cast<int>(best->mathType),
                 best->determinism == CUDNN_DETERMINISTIC ? "deterministic" : "non-deterministic",
                 choice.workspace, static_cast<int>(best - perf.data()), returned);
  }
}

// Dir's backend engine for plan p (file comment), of data type `type`. The chosen engine goes to
// stderr under PTL_CUDNN_VERBOSE=1; why none qualified always does, once per plan, as the switch
// then has no effect on this shape.
template <class Dir>
void choose_engine(cudnnHandle_t h, ConvPlan& p, const ConvGeometry& g, const Settings& s,
                   cudnnDataType_t type, bool tf32) {
  const EngineRules rules = EngineRules::of(s.dtype, tf32, s.deterministic, s.direct);
  std::string why_not;
  auto& engine = Dir::choice(p).engine;
  engine = make_conv_engine(h, Dir::direction, g, type, rules, s.workspace_limit, &why_not);
  if (engine && !verbose_plans()) return;
  print_plan_head(g, s, Dir::name);
  if (engine)
    std::fprintf(stderr, "backend %s, workspace %zu bytes\n", engine->description().c_str(),
                 engine->workspace());
  else
    std::fprintf(stderr, "no backend engine, the legacy algorithm runs: %s\n", why_not.c_str());
}

// The largest workspace the device could give now: its free memory and the allocator's cache.
size_t workspace_limit(int device) {
  size_t free_bytes = 0, total_bytes = 0;
  {
    DeviceGuard guard(device);
    PTL_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  }
  const AllocatorStats s = memory_stats(device);
  return free_bytes + (s.reserved - s.allocated);
}

int to_int(int64_t v) {
  PTL_CHECK(v > 0 && v <= INT_MAX, "conv2d on CUDA: dimension ", v,
            " is not in [1, 2^31) as cuDNN requires");
  return static_cast<int>(v);
}

void set_tensor(cudnnTensorDescriptor_t d, cudnnDataType_t t, int64_t n, int64_t c, int64_t h,
                int64_t w) {
  PTL_CHECK(n * c * h * w <= INT_MAX, "conv2d on CUDA: tensor (", n, ", ", c, ", ", h, ", ", w,
            ") has 2^31 or more elements, more than cuDNN's convolutions take");
  PTL_CUDNN_CHECK(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, t, to_int(n), to_int(c),
                                             to_int(h), to_int(w)));
}

template <class T>
std::unique_ptr<ConvPlan> make_plan(cudnnHandle_t h, const ConvGeometry& g,
                                    const ConvPlanKey& key) {
  constexpr cudnnDataType_t type = cudnn_type<T>();
  for (int64_t v : {g.sh, g.sw, g.dh, g.dw}) to_int(v);
  PTL_CHECK(g.ph >= 0 && g.pw >= 0 && g.ph <= INT_MAX && g.pw <= INT_MAX,
            "conv2d on CUDA: padding (", g.ph, ", ", g.pw, ") out of range");
  auto p = std::make_unique<ConvPlan>();
  set_tensor(p->x.d, type, g.N, g.C, g.H, g.W);
  set_tensor(p->y.d, type, g.N, g.Cout, g.OH, g.OW);
  set_tensor(p->bias.d, type, 1, g.Cout, 1, 1);
  PTL_CUDNN_CHECK(cudnnSetFilter4dDescriptor(p->w.d, type, CUDNN_TENSOR_NCHW, to_int(g.Cout),
                                             to_int(g.C), to_int(g.KH), to_int(g.KW)));
  // bf16 data computes in FP32 on tensor cores (cuDNN's BFLOAT16 configuration; TF32 does not
  // apply: bf16 products are exact in float32).
  const cudnnMathType_t math = type == CUDNN_DATA_FLOAT
                                   ? (key.tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH)
                               : type == CUDNN_DATA_DOUBLE ? CUDNN_DEFAULT_MATH
                                                           : CUDNN_TENSOR_OP_MATH;
  const Settings s{key.dtype,
                   type == CUDNN_DATA_DOUBLE ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT,
                   math,
                   workspace_limit(key.device),
                   key.deterministic,
                   key.direct};
  for (ConvDesc* c : {&p->forward.conv, &p->backward_data.conv, &p->backward_filter.conv})
    set_conv(c->d, g, s);
  // The geometry must be the one cuDNN derives, or the kernels would write past y.
  int n = 0, c = 0, oh = 0, ow = 0;
  PTL_CUDNN_CHECK(
      cudnnGetConvolution2dForwardOutputDim(p->forward.conv.d, p->x.d, p->w.d, &n, &c, &oh, &ow));
  PTL_CHECK(n == g.N && c == g.Cout && oh == g.OH && ow == g.OW,
            "conv2d on CUDA: the geometry says output (", g.N, ", ", g.Cout, ", ", g.OH, ", ", g.OW,
            ") but cuDNN computes (", n, ", ", c, ", ", oh, ", ", ow, ")");
  choose<Forward>(h, *p, g, s);
  choose<BackwardData>(h, *p, g, s);
  choose<BackwardFilter>(h, *p, g, s);
  if (key.engines) {
    choose_engine<Forward>(h, *p, g, s, type, key.tf32);
    choose_engine<BackwardData>(h, *p, g, s, type, key.tf32);
    choose_engine<BackwardFilter>(h, *p, g, s, type, key.tf32);
  }
  return p;
}

// What a call needs: the device's handle and the shape's plan.
struct Call {
  int device;
  cudnnHandle_t handle;
  const ConvPlan& plan;
};

template <class T>
Call prepare(const ConvGeometry& g) {
  using Cache = PlanCache<ConvPlanKey, ConvPlan, ConvPlanKeyHash>;
  static auto& plans = *new Cache;  // leaked: per_device.h
  const int device = current_device();
  cudnnHandle_t h = cudnn_handle(device);
  const ConvPlanKey key =
      ConvPlanKey::make(g, dtype_of<T>::value, allow_tf32(), deterministic_convolutions(),
                        direct_convolutions(), cudnn_engine_heuristics(), device);
  const ConvPlan& plan = plans.get(key, [&] { return make_plan<T>(h, g, key); });
  return {device, h, plan};
}

// Device memory for one call (a cuDNN workspace, a bf16 result), from the caching allocator.
class Workspace {
 public:
  Workspace(size_t nbytes, int device)
      : ptr_(device_alloc(nbytes, device)), nbytes_(nbytes), device_(device) {}
  ~Workspace() { device_free(ptr_, nbytes_, device_); }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  void* ptr() const { return ptr_; }
  size_t nbytes() const { return nbytes_; }

 private:
  void* ptr_;
  size_t nbytes_;
  int device_;
};

// Runs a direction's backend engine on (x, w, y) as conv_engines.h orders them, when there is
// one and the pointers have the alignment its plan declares; false (also when the engine
// failed): the caller runs the legacy algorithm.
std::atomic<uint64_t> engine_runs{0};

bool run_engine(const Call& c, const ConvEngine* engine, const void* x, const void* w,
                const void* y) {
  if (!engine || !ConvEngine::aligned(x) || !ConvEngine::aligned(w) || !ConvEngine::aligned(y))
    return false;
  const Workspace ws(engine->workspace(), c.device);
  if (!engine->run(c.handle, x, w, y, ws.ptr())) return false;
  ++engine_runs;
  return true;
}

// Each direction's cuDNN call on the plan of c, scaled by 1 and 0: y = conv(x, w), dx from
// (w, dy), dw from (x, dy); the pointers hold T (float, double or bf16).
template <class T>
void forward(const Call& c, const void* x, const void* w, void* y) {
  const ConvPlan& p = c.plan;
  if (run_engine(c, p.forward.engine.get(), x, w, y)) return;
  const Workspace ws(p.forward.workspace, c.device);
  const Scale<T> one = 1, zero = 0;
  PTL_CUDNN_CHECK(cudnnConvolutionForward(c.handle, &one, p.x.d, x, p.w.d, w, p.forward.conv.d,
                                          p.forward.algo, ws.ptr(), ws.nbytes(), &zero, p.y.d, y));
}

template <class T>
void backward_data(const Call& c, const void* gy, const void* w, void* gx) {
  const ConvPlan& p = c.plan;
  if (run_engine(c, p.backward_data.engine.get(), gx, w, gy)) return;
  const Workspace ws(p.backward_data.workspace, c.device);
  const Scale<T> one = 1, zero = 0;
  PTL_CUDNN_CHECK(cudnnConvolutionBackwardData(c.handle, &one, p.w.d, w, p.y.d, gy,
                                               p.backward_data.conv.d, p.backward_data.algo,
                                               ws.ptr(), ws.nbytes(), &zero, p.x.d, gx));
}

template <class T>
void backward_filter(const Call& c, const void* gy, const void* x, void* gw) {
  const ConvPlan& p = c.plan;
  if (run_engine(c, p.backward_filter.engine.get(), x, gw, gy)) return;
  const Workspace ws(p.backward_filter.workspace, c.device);
  const Scale<T> one = 1, zero = 0;
  PTL_CUDNN_CHECK(cudnnConvolutionBackwardFilter(c.handle, &one, p.x.d, x, p.y.d, gy,
                                                 p.backward_filter.conv.d, p.backward_filter.algo,
                                                 ws.ptr(), ws.nbytes(), &zero, p.w.d, gw));
}

// dst[i] (n elements of a (.., C, P) tensor) = the bf16 src[i] as float32, plus bias[c] in
// float32 when there is a bias.
__global__ void widen_kernel(const bf16* __restrict__ src, const float* __restrict__ bias,
                             int64_t C, int64_t P, float* __restrict__ dst, int64_t n) {
  PTL_GRID_LOOP(int64_t, i, n) {
    const float v = to_float(src[i]);
    dst[i] = bias ? v + bias[(i / P) % C] : v;
  }
}

void widen(const Workspace& src, const float* bias, int64_t C, int64_t P, float* dst, int64_t n) {
  if (n == 0) return;
  widen_kernel<<<grid_for(n), kBlock, 0, stream()>>>(static_cast<const bf16*>(src.ptr()), bias, C,
                                                     P, dst, n);
  PTL_CUDA_CHECK_LAUNCH();
}

// gb[c] = the float64 sum of the bf16 gy (N, C, P) over n and p, rounded to float32: one block
// per channel, a fixed tree (launch.cuh block_sum), so the same bits on every run.
__global__ void bias_grad_kernel(const bf16* __restrict__ gy, int64_t N, int64_t C, int64_t P,
                                 float* __restrict__ gb) {
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    double s = 0;
    for (int64_t j = threadIdx.x; j < N * P; j += blockDim.x) {
      const int64_t n = j / P, p = j - n * P;
      s += static_cast<double>(to_float(gy[(n * C + c) * P + p]));
    }
    s = block_sum(s);
    if (threadIdx.x == 0) gb[c] = static_cast<float>(s);
  }
}

}  // namespace

uint64_t conv_engine_runs() {
  return engine_runs;
}

template <class T>
void conv2d_forward(const T* x, const T* w, const T* bias, T* y, const ConvGeometry& g) {
  const Call c = prepare<T>(g);
  forward<T>(c, x, w, y);
  const T one = 1;
  if (bias)
    PTL_CUDNN_CHECK(cudnnAddTensor(c.handle, &one, c.plan.bias.d, bias, &one, c.plan.y.d, y));
}

template <class T>
void conv2d_backward_input(const T* gy, const T* w, T* gx, const ConvGeometry& g) {
  backward_data<T>(prepare<T>(g), gy, w, gx);
}

template <class T>
void conv2d_backward_weight(const T* gy, const T* x, T* gw, T* gb, const ConvGeometry& g) {
  const Call c = prepare<T>(g);
  backward_filter<T>(c, gy, x, gw);
  const T one = 1, zero = 0;
  if (gb)  // gb (Cout) = sum of gy over n, h, w
    PTL_CUDNN_CHECK(
        cudnnConvolutionBackwardBias(c.handle, &one, c.plan.y.d, gy, &zero, c.plan.bias.d, gb));
}

void conv2d_forward_bf16(const bf16* x, const bf16* w, const float* bias, float* y,
                         const ConvGeometry& g) {
  const Call c = prepare<bf16>(g);
  const int64_t n = g.N * g.Cout * g.OH * g.OW;
  const Workspace y16(static_cast<size_t>(n) * sizeof(bf16), c.device);
  forward<bf16>(c, x, w, y16.ptr());
  widen(y16, bias, g.Cout, g.OH * g.OW, y, n);
}

void conv2d_backward_input_bf16(const bf16* gy, const bf16* w, float* gx, const ConvGeometry& g) {
  const Call c = prepare<bf16>(g);
  const int64_t n = g.N * g.C * g.H * g.W;
  const Workspace gx16(static_cast<size_t>(n) * sizeof(bf16), c.device);
  backward_data<bf16>(c, gy, w, gx16.ptr());
  widen(gx16, nullptr, 1, 1, gx, n);
}

void conv2d_backward_weight_bf16(const bf16* gy, const bf16* x, float* gw, float* gb,
                                 const ConvGeometry& g) {
  const Call c = prepare<bf16>(g);
  const int64_t n = g.Cout * g.C * g.KH * g.KW;
  const Workspace gw16(static_cast<size_t>(n) * sizeof(bf16), c.device);
  backward_filter<bf16>(c, gy, x, gw16.ptr());
  widen(gw16, nullptr, 1, 1, gw, n);
  if (gb && g.Cout > 0) {
    bias_grad_kernel<<<grid_for(g.Cout, 1), kBlock, 0, stream()>>>(gy, g.N, g.Cout, g.OH * g.OW,
                                                                   gb);
    PTL_CUDA_CHECK_LAUNCH();
  }
}

#include "kernels/contract/conv_instances.inc"
PTL_INSTANTIATE_CONV()

}  // namespace ptl::cuda
