// Every differentiable op of the engine, as free functions (see engine/autograd.h).
//
// Each op: checks shapes/dtypes/devices and throws ptl::Error naming itself and the shapes;
// allocates its output; runs the kernel for the tensor's device (kernels/cpu, kernels/cuda);
// records a backward closure when an input requires grad. Floating ops work in float32 and
// float64 (float64 for gradient checks). Dimensions may be negative (counted from the end).
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "engine/tensor.h"

namespace ptl {

// ---- creation (no autograd) ----
Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
Tensor ones(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
Tensor full(const Shape& shape, double value, DType dtype = DType::F32,
            Device device = Device::cpu());
Tensor zeros_like(const Tensor& t);
Tensor from_vector(const std::vector<float>& v, const Shape& shape);
Tensor from_vector(const std::vector<double>& v, const Shape& shape);
Tensor from_vector(const std::vector<int64_t>& v, const Shape& shape);
Tensor arange(int64_t n, DType dtype = DType::F32);
Tensor scalar(double v, DType dtype = DType::F32);
void fill_(Tensor& t, double value);  // in place, no autograd
// In place into a (possibly strided) view; between devices from pinned host memory the copy is
// only queued on the device's stream (as Tensor::to), otherwise finished when it returns.
void copy_(Tensor& dst, const Tensor& src);

// ---- element-wise, numpy broadcasting ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double s);
Tensor mul(const Tensor& a, double s);
Tensor neg(const Tensor& a);
Tensor pow(const Tensor& a, double exponent);
Tensor relu(const Tensor& a);
// relu(add(a, b)) in one op, bit-identical to the two (a residual connection's join).
Tensor add_relu(const Tensor& a, const Tensor& b);
Tensor sigmoid(const Tensor& a);
Tensor tanh(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor sqrt(const Tensor& a);
Tensor abs(const Tensor& a);
Tensor clamp(const Tensor& a, double lo,
             double hi);  // gradient 1 inside or on a bound (as torch), 0 outside
inline Tensor operator+(const Tensor& a, const Tensor& b) {
  return add(a, b);
}
inline Tensor operator-(const Tensor& a, const Tensor& b) {
  return sub(a, b);
}
inline Tensor operator*(const Tensor& a, const Tensor& b) {
  return mul(a, b);
}
inline Tensor operator/(const Tensor& a, const Tensor& b) {
  return div(a, b);
}
inline Tensor operator*(const Tensor& a, double s) {
  return mul(a, s);
}
inline Tensor operator-(const Tensor& a) {
  return neg(a);
}
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Sums `g` down to `shape` over broadcast dimensions (the backward of broadcasting).
Tensor sum_to(const Tensor& g, const Shape& shape);

// ---- reductions ----
Tensor sum(const Tensor& a);  // all elements -> shape ()
Tensor sum(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor mean(const Tensor& a);
Tensor mean(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim = false);
struct ValuesIndices {
  Tensor values, indices;  // indices: int64; the first index of the extreme value wins
};
ValuesIndices max(const Tensor& a, int64_t dim, bool keepdim = false);
ValuesIndices min(const Tensor& a, int64_t dim, bool keepdim = false);
Tensor max(const Tensor& a);  // all elements -> shape ()
Tensor min(const Tensor& a);

// ---- shape and copy ----
Tensor reshape(const Tensor& a, Shape shape);  // one -1 allowed; a view when contiguous
Tensor flatten(const Tensor& a, int64_t start_dim = 1, int64_t end_dim = -1);
Tensor squeeze(const Tensor& a, int64_t dim);
Tensor unsqueeze(const Tensor& a, int64_t dim);
Tensor permute(const Tensor& a, const std::vector<int64_t>& dims);           // view
Tensor transpose(const Tensor& a, int64_t d0, int64_t d1);                   // view
Tensor narrow(const Tensor& a, int64_t dim, int64_t start, int64_t length);  // view
std::vector<Tensor> chunk(const Tensor& a, int64_t chunks, int64_t dim);     // views
std::vector<Tensor> split(const Tensor& a, const std::vector<int64_t>& sizes, int64_t dim);
Tensor cat(const std::vector<Tensor>& parts, int64_t dim);
Tensor flip(const Tensor& a, int64_t dim);  // flip(x, 3) is the horizontal flip of NCHW
Tensor index_select(const Tensor& a, int64_t dim, const Tensor& index);  // index: int64

// ---- linear algebra ----
Tensor matmul(const Tensor& a, const Tensor& b);  // (M,K)x(K,N); (B,M,K)x(B,K,N)
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());  // x W^T + b

// ---- convolution, normalisation, pooling (NCHW) ----
struct Conv2dOptions {
  std::array<int64_t, 2> stride{1, 1}, padding{0, 0}, dilation{1, 1};
};
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
              const Conv2dOptions& opt = {});
// x: (N,C) or (N,C,H,W). In training, normalises with batch statistics and updates
// running_mean/var in place (unbiased variance, momentum as PyTorch); in eval, uses them.
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                  Tensor running_var, bool training, double momentum = 0.1, double eps = 1e-5);
// relu(batch_norm(...)) in one op, bit-identical to the two ops (one pass less each way).
Tensor batch_norm_relu(const Tensor& x, const Tensor& weight, const Tensor& bias,
                       Tensor running_mean, Tensor running_var, bool training,
                       double momentum = 0.1, double eps = 1e-5);
// Synchronised batch norm (training, CPU or CUDA): batch_norm(_relu) over a batch whose rows are
// spread over processes, each calling this with its own rows. The statistics (and the running ones,
// with the whole batch's unbiased variance) are the whole batch's. The gradient of x is that of
// this process's loss divided by its share of the rows, n / N: the caller weights every
// process's gradients by that share before summing them (train/data_parallel.h), which makes
// them the whole batch's. `all_gather(v)` takes a 1-D float64 tensor on x's device (the same
// length everywhere) and returns every process's v concatenated in process order, on any device
// (it is read on the host, where the per-channel blocks are combined); every process calls it in
// the same order, once in forward and once in backward. Ranks are combined in that order, so
// every process gets the same bits.
using AllGatherDoubles = std::function<Tensor(const Tensor&)>;
Tensor sync_batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                       Tensor running_mean, Tensor running_var, double momentum, double eps,
                       bool relu, const AllGatherDoubles& all_gather);
struct Pool2dOptions {
  std::array<int64_t, 2> kernel{2, 2}, stride{0, 0}, padding{0, 0};  // stride 0 = kernel
  bool ceil_mode = false;
  bool count_include_pad = true;  // average pooling only
};
Tensor max_pool2d(const Tensor& x, const Pool2dOptions& opt);
Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& opt);
Tensor adaptive_avg_pool2d(const Tensor& x, std::array<int64_t, 2> output_size);
Tensor adaptive_max_pool2d(const Tensor& x, std::array<int64_t, 2> output_size);

// ---- losses and distances ----
Tensor log_softmax(const Tensor& x, int64_t dim);
Tensor softmax(const Tensor& x, int64_t dim);
// logits (N,K), targets (N) int64 in [0,K). Mean over the batch; targets (1-eps)*onehot + eps/K.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, double label_smoothing = 0.0);
// Euclidean distances between rows: x (M,D), y (N,D) -> (M,N); sqrt(max(d2, 1e-12)).
Tensor pairwise_distance(const Tensor& x, const Tensor& y);
// Squared Euclidean distances between rows, (M,N).
Tensor pairwise_sqdistance(const Tensor& x, const Tensor& y);
// x / max(||x||_2 over dim, eps), as torch.nn.functional.normalize.
Tensor l2_normalize(const Tensor& x, int64_t dim = 1, double eps = 1e-12);
// Batch-hard mining over dist (N, N) (any float dtype) with int64 labels (N) on its device: for
// each anchor i the hardest positive (largest dist[i, j], j != i, same label) and the hardest
// negative (smallest dist[i, j], other label). The first index wins a tie, NaN propagates; a row
// without a positive or a negative gets index -1 and value NaN. Not differentiable.
struct BatchHardMined {
  Tensor pos_value, pos_index, neg_value, neg_index;  // (N) each; indices int64
};
BatchHardMined batch_hard_mine(const Tensor& dist, const Tensor& labels);
// out[i] = x[i, index[i]] for x (N, M) and int64 index (N) on x's device, in [0, M) (NaN
// elsewhere); the gradient of x is zero except at the gathered elements.
Tensor gather_pairs(const Tensor& x, const Tensor& index);

// ---- BConv-Cell ----
// The fused gate math of a BConv-Cell (docs/method.md): z (N, 4C, H, W) holds the gate
// pre-activations in the order i, f, o, g along channels; c_prev (N, C, H, W) is the latent
// state of the previous mini-batch and takes no gradient. h = o * tanh(c) is differentiable
// w.r.t. z; the new state c = f * c_prev + i * g is returned detached.
struct BConvGates {
  Tensor h, c;
};
BConvGates bconv_gates(const Tensor& z, const Tensor& c_prev);

}  // namespace ptl
