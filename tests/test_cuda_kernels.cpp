// The hand-written CUDA kernels (kernels/cuda/*.cu) against their CPU twins (kernels/cpu/*.cpp):
// the same random inputs through ptl::cpu:: and ptl::cuda::, compared element by element.
// Tolerances: float rtol 1e-5 element-wise, 1e-4 reductions; exact for copies, fills,
// converts, indices, max pooling and the optimizer updates (-fmad=false, kernels/optim_math.h).
//
// Tagged [cuda]: `ctest -L cuda` on a GPU machine. Without a device every case returns at once
// (tests/main.cpp says so in one line); a CPU-only build has a single case saying so.
#include <catch2/catch.hpp>

#include "engine/device.h"

#if PTL_WITH_CUDA

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>

#include "tests/cuda_device_vec.h"
#include "tests/cuda_test_util.h"
#include "tests/cuda_kernel_data.h"
#include "kernels/cpu/batchnorm.h"
#include "kernels/cpu/bconv.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/normalize.h"
#include "kernels/cpu/optim.h"
#include "kernels/cpu/pool.h"
#include "kernels/cpu/reduce.h"
#include "kernels/cpu/softmax.h"
#include "kernels/cpu/triplet.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/kernels.h"
#include "kernels/cuda/runtime.h"

using namespace ptl;
using test::device_sync;
using test::DeviceVec;

namespace {

// "" when every element agrees within atol + rtol * |want| (NaN matches NaN), else the first
// disagreement and the count.
template <class T>
std::string mismatch(const std::vector<T>& got, const std::vector<T>& want, double rtol, double atol) {
  if (got.size() != want.size()) return "sizes " + std::to_string(got.size()) + " vs " + std::to_string(want.size());
  size_t bad = 0;
  std::string first;
  for (size_t i = 0; i < got.size(); ++i) {
    const double g = static_cast<double>(got[i]), w = static_cast<double>(want[i]);
    const bool ok = (std::isnan(g) && std::isnan(w)) || g == w || std::fabs(g - w) <= atol + rtol * std::fabs(w);
    if (!ok && bad++ == 0)
      first = "element " + std::to_string(i) + ": cuda " + std::to_string(g) + ", cpu " + std::to_string(w);
  }
  return bad ? first + " (" + std::to_string(bad) + " of " + std::to_string(got.size()) + " differ)" : "";
}

// "" when the two vectors are the same bytes.
template <class T>
std::string difference(const std::vector<T>& got, const std::vector<T>& want) {
  if (got.size() != want.size()) return "sizes " + std::to_string(got.size()) + " vs " + std::to_string(want.size());
  for (size_t i = 0; i < got.size(); ++i)
    if (std::memcmp(&got[i], &want[i], sizeof(T)) != 0)
      return "element " + std::to_string(i) + " differs: cuda " + std::to_string(got[i]) + ", cpu " +
             std::to_string(want[i]);
  return "";
}

#define CHECK_CLOSE(got, want, rtol, atol)                   \
  do {                                                       \
    const std::string m_ = mismatch((got), (want), rtol, atol); \
    INFO(m_);                                                \
    CHECK(m_.empty());                                       \
  } while (0)
#define CHECK_SAME(got, want)                        \
  do {                                               \
    const std::string m_ = difference((got), (want)); \
    INFO(m_);                                        \
    CHECK(m_.empty());                               \
  } while (0)

// Tolerances by type: element-wise and reductions.
template <class T> struct Tol;
template <> struct Tol<float> {
  static constexpr double ew_r = 1e-5, ew_a = 1e-6, red_r = 1e-4, red_a = 1e-5;
};
template <> struct Tol<double> {
  static constexpr double ew_r = 1e-12, ew_a = 1e-13, red_r = 1e-10, red_a = 1e-11;
};

int64_t numel(const std::vector<int64_t>& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

// ---------------------------------------------------------------- element-wise

template <class T>
void check_unary() {
  struct Case {
    UnaryOp op;
    UnaryParams p;
    double lo, hi;
  };
  const Case cases[] = {
      {UnaryOp::Neg, {}, -2, 2},          {UnaryOp::Relu, {}, -2, 2},         {UnaryOp::Sigmoid, {}, -8, 8},
      {UnaryOp::Tanh, {}, -4, 4},         {UnaryOp::Exp, {}, -5, 5},          {UnaryOp::Log, {}, 0.01, 10},
      {UnaryOp::Sqrt, {}, 0.01, 10},      {UnaryOp::Abs, {}, -2, 2},          {UnaryOp::Pow, {2.5, 0}, 0.1, 3},
      {UnaryOp::Pow, {-1.5, 0}, 0.1, 3},  {UnaryOp::Clamp, {-0.5, 0.5}, -2, 2}, {UnaryOp::AddScalar, {0.3, 0}, -2, 2},
      {UnaryOp::MulScalar, {-1.7, 0}, -2, 2},
  };
  const size_t n = 100003;
  uint32_t seed = 100;
  for (const Case& c : cases) {
    INFO("unary op " << static_cast<int>(c.op));
    const auto x = test::random_vector<T>(n, seed++, c.lo, c.hi);
    const auto g = test::random_vector<T>(n, seed++);
    std::vector<T> y(n), gx(n);
    cpu::unary_forward(c.op, c.p, x.data(), y.data(), static_cast<int64_t>(n));
    cpu::unary_backward(c.op, c.p, g.data(), x.data(), y.data(), gx.data(), static_cast<int64_t>(n));
    DeviceVec<T> dx(x), dg(g), dy(y), dy_out(n), dgx(n);
    cuda::unary_forward(c.op, c.p, dx.get(), dy_out.get(), static_cast<int64_t>(n));
    cuda::unary_backward(c.op, c.p, dg.get(), dx.get(), dy.get(), dgx.get(), static_cast<int64_t>(n));
    CHECK_CLOSE(dy_out.host(), y, Tol<T>::ew_r, Tol<T>::ew_a);
    CHECK_CLOSE(dgx.host(), gx, Tol<T>::ew_r, Tol<T>::ew_a);
  }
}

// A random operand for a broadcast of `out`: its own shape (1 where broadcast), stored in a
// random dimension order; returns its element count and its strides in the output's
// dimensions (0 where broadcast).
int64_t random_operand(const std::vector<int64_t>& out, std::mt19937& gen, std::vector<int64_t>& strides) {
  const size_t nd = out.size();
  std::vector<int64_t> shape(nd);
  for (size_t d = 0; d < nd; ++d) shape[d] = gen() % 3 == 0 ? 1 : out[d];
  std::vector<size_t> order(nd);
  for (size_t d = 0; d < nd; ++d) order[d] = d;
  std::shuffle(order.begin(), order.end(), gen);
  std::vector<int64_t> st(nd);
  int64_t acc = 1;
  for (size_t k = nd; k-- > 0;) {
    st[order[k]] = acc;
    acc *= shape[order[k]];
  }
  strides.assign(nd, 0);
  for (size_t d = 0; d < nd; ++d) strides[d] = shape[d] == 1 ? 0 : st[d];
  return acc;
}

template <class T>
void check_binary() {
  std::mt19937 gen(5);
  const BinaryOp ops[] = {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div};
  for (int trial = 0; trial < 60; ++trial) {
    const size_t nd = gen() % 7;  // 0..6 dimensions
    std::vector<int64_t> shape(nd);
    for (auto& s : shape) s = 1 + gen() % 6;
    std::vector<int64_t> sa, sb;
    const int64_t na = random_operand(shape, gen, sa), nb = random_operand(shape, gen, sb);
    const auto a = test::random_vector<T>(static_cast<size_t>(na), 1000 + trial);
    const auto b = test::random_vector<T>(static_cast<size_t>(nb), 2000 + trial, 0.5, 2);
    const size_t n = static_cast<size_t>(numel(shape));
    const BinaryOp op = ops[trial % 4];
    INFO("trial " << trial << ", op " << static_cast<int>(op) << ", " << nd << " dimensions");
    std::vector<T> want(n);
    cpu::binary_forward(op, shape, a.data(), sa, b.data(), sb, want.data());
    DeviceVec<T> da(a), db(b), dout(n);
    cuda::binary_forward(op, shape, da.get(), sa, db.get(), sb, dout.get());
    CHECK_SAME(dout.host(), want);  // one correctly rounded operation per element on both sides
  }
  // A large contiguous case (beyond one pass of the grid-stride loop) and a row broadcast.
  const std::vector<int64_t> big = {4099, 4097};
  const size_t n = static_cast<size_t>(numel(big));
  const auto a = test::random_vector<T>(n, 31);
  const auto b = test::random_vector<T>(n, 32);
  const std::vector<int64_t> s = {4097, 1}, row = {0, 1};
  std::vector<T> want(n);
  DeviceVec<T> da(a), db(b), dout(n);
  cpu::binary_forward(BinaryOp::Mul, big, a.data(), s, b.data(), s, want.data());
  cuda::binary_forward(BinaryOp::Mul, big, da.get(), s, db.get(), s, dout.get());
  CHECK_SAME(dout.host(), want);
  cpu::binary_forward(BinaryOp::Sub, big, a.data(), s, b.data(), row, want.data());
  cuda::binary_forward(BinaryOp::Sub, big, da.get(), s, db.get(), row, dout.get());
  CHECK_SAME(dout.host(), want);
}

// Random strides for `shape`: a permuted dense layout, each dimension possibly reversed and
// spread by a gap; returns the buffer length and the offset of element 0 in it.
int64_t random_layout(const std::vector<int64_t>& shape, std::mt19937& gen, std::vector<int64_t>& strides,
                      int64_t& base) {
  const size_t nd = shape.size();
  std::vector<size_t> order(nd);
  for (size_t d = 0; d < nd; ++d) order[d] = d;
  std::shuffle(order.begin(), order.end(), gen);
  strides.assign(nd, 0);
  int64_t acc = 1;
  for (size_t k = nd; k-- > 0;) {
    strides[order[k]] = acc;
    acc *= shape[order[k]] * (gen() % 4 == 0 ? 2 : 1);
  }
  int64_t lo = 0, hi = 0;
  for (size_t d = 0; d < nd; ++d) {
    if (gen() % 3 == 0) strides[d] = -strides[d];
    const int64_t ext = (shape[d] - 1) * strides[d];
    (ext < 0 ? lo : hi) += ext;
  }
  base = -lo;
  return hi - lo + 1;
}

template <class W>
void check_strided_copy_words() {
  std::mt19937 gen(sizeof(W) * 17);
  for (int trial = 0; trial < 80; ++trial) {
    const size_t nd = gen() % 9;  // 0..8 dimensions
    std::vector<int64_t> shape(nd);
    for (auto& s : shape) s = 1 + gen() % 4;
    std::vector<int64_t> ss, ds;
    int64_t sbase = 0, dbase = 0;
    const int64_t slen = random_layout(shape, gen, ss, sbase);
    const int64_t dlen = random_layout(shape, gen, ds, dbase);
    std::vector<W> src(static_cast<size_t>(slen)), dst(static_cast<size_t>(dlen));
    for (auto& v : src) v = static_cast<W>(gen()) * 2654435761u + static_cast<W>(gen());
    for (size_t i = 0; i < dst.size(); ++i) dst[i] = static_cast<W>(i * 7 + 3);  // untouched slots stay
    DeviceVec<W> dsrc(src), ddst(dst);
    cpu::strided_copy(shape, sizeof(W), src.data() + sbase, ss, dst.data() + dbase, ds);
    cuda::strided_copy(shape, sizeof(W), dsrc.get() + sbase, ss, ddst.get() + dbase, ds);
    INFO("trial " << trial << ", " << nd << " dimensions");
    CHECK_SAME(ddst.host(), dst);
  }
}

}  // namespace

TEST_CASE("cuda unary element-wise kernels match the CPU", "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  check_unary<float>();
  check_unary<double>();
}

TEST_CASE("cuda binary kernels broadcast through strides like the CPU", "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  check_binary<float>();
  check_binary<double>();
}

TEST_CASE("cuda strided copy: up to 8 dimensions, permuted, gapped and negative strides", "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  check_strided_copy_words<uint32_t>();
  check_strided_copy_words<uint64_t>();
  // A large transpose (beyond one pass of the grid-stride loop).
  const std::vector<int64_t> shape = {4099, 4097}, src_st = {1, 4099}, dst_st = {4097, 1};
  const auto src = test::random_vector<float>(static_cast<size_t>(numel(shape)), 3);
  std::vector<float> want(src.size());
  cpu::strided_copy(shape, 4, src.data(), src_st, want.data(), dst_st);
  DeviceVec<float> dsrc(src), ddst(src.size());
  cuda::strided_copy(shape, 4, dsrc.get(), src_st, ddst.get(), dst_st);
  CHECK_SAME(ddst.host(), want);
}

TEST_CASE("cuda fill for every dtype", "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  for (size_t n : {size_t(1), size_t(1000), size_t(20000001)}) {
    DeviceVec<float> f(n);
    DeviceVec<double> d(n);
    DeviceVec<int64_t> l(n);
    DeviceVec<int32_t> i(n);
    cuda::fill(f.get(), static_cast<int64_t>(n), -1.25f);
    cuda::fill(d.get(), static_cast<int64_t>(n), 3.5e300);
    cuda::fill(l.get(), static_cast<int64_t>(n), -(int64_t(1) << 40));
    cuda::fill(i.get(), static_cast<int64_t>(n), int32_t(-7));
    CHECK_SAME(f.host(), std::vector<float>(n, -1.25f));
    CHECK_SAME(d.host(), std::vector<double>(n, 3.5e300));
    CHECK_SAME(l.host(), std::vector<int64_t>(n, -(int64_t(1) << 40)));
    CHECK_SAME(i.host(), std::vector<int32_t>(n, -7));
  }
}

namespace {
template <class From, class To>
void check_convert_pair(const std::vector<From>& src) {
  std::vector<To> want(src.size());
  cpu::convert(src.data(), dtype_of<From>::value, want.data(), dtype_of<To>::value, static_cast<int64_t>(src.size()));
  DeviceVec<From> dsrc(src);
  DeviceVec<To> ddst(src.size());
  cuda::convert(dsrc.get(), dtype_of<From>::value, ddst.get(), dtype_of<To>::value, static_cast<int64_t>(src.size()));
  INFO(dtype_name(dtype_of<From>::value) << " -> " << dtype_name(dtype_of<To>::value));
  CHECK_SAME(ddst.host(), want);
}

template <class From>
void check_convert_from(const std::vector<From>& src) {
  check_convert_pair<From, float>(src);
  check_convert_pair<From, double>(src);
  check_convert_pair<From, int64_t>(src);
  check_convert_pair<From, int32_t>(src);
}
}  // namespace

TEST_CASE("cuda convert between every pair of dtypes", "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  // Values every target holds (truncation toward zero for floats to integers).
  const auto base = test::random_vector<double>(70001, 9, -3000, 3000);
  std::vector<float> f(base.begin(), base.end());
  std::vector<double> d(base.begin(), base.end());
  d[0] = 16777217.0;  // not a float: rounds to nearest even
  d[1] = -0.0;
  std::vector<int64_t> l;
  std::vector<int32_t> i;
  for (double v : base) {
    l.push_back(static_cast<int64_t>(v * 1000));
    i.push_back(static_cast<int32_t>(v * 1000));
  }
  l[0] = (int64_t(1) << 53) + 1;  // rounds when converted to double
  l[1] = 2147483647;
  check_convert_from(f);
  check_convert_from(d);
  check_convert_from(l);
  check_convert_from(i);
}

// ---------------------------------------------------------------- reductions

namespace {
struct Dims3 {
  int64_t outer, size, inner;
};

// Reduction shapes: rows (inner 1) and columns, few and long (two-pass) and many and short.
const Dims3 kReduceShapes[] = {{1, 1000000, 1}, {37, 1000, 1}, {5000, 7, 1}, {3, 200000, 1},
                               {1, 300000, 3},  {8, 50, 129},  {2, 1, 5},    {4, 100, 33}};

template <class T>
void check_sum_dim() {
  uint32_t seed = 40;
  for (const Dims3& s : kReduceShapes) {
    INFO("sum_dim (" << s.outer << ", " << s.size << ", " << s.inner << ")");
    const auto x = test::random_vector<T>(static_cast<size_t>(s.outer * s.size * s.inner), seed++);
    std::vector<T> want(static_cast<size_t>(s.outer * s.inner));
    cpu::sum_dim(x.data(), want.data(), s.outer, s.size, s.inner);
    DeviceVec<T> dx(x), dout(want.size());
    cuda::sum_dim(dx.get(), dout.get(), s.outer, s.size, s.inner);
    const std::vector<T> got = dout.host();
    CHECK_CLOSE(got, want, Tol<T>::red_r, Tol<T>::red_a);
    cuda::sum_dim(dx.get(), dout.get(), s.outer, s.size, s.inner);
    CHECK_SAME(dout.host(), got);  // run to run: the same bits
  }
}

template <class T>
void check_extreme_dim() {
  const Dims3 shapes[] = {{64, 751, 1}, {8, 20, 1}, {4, 100, 33}, {3, 5000, 1}, {1, 33, 1}};
  uint32_t seed = 60;
  for (const Dims3& s : shapes)
    for (int nan_mode = 0; nan_mode < 2; ++nan_mode)
      for (bool is_max : {true, false}) {
        INFO("extreme_dim (" << s.outer << ", " << s.size << ", " << s.inner << "), max " << is_max << ", NaN "
                             << nan_mode);
        auto x = test::random_vector<T>(static_cast<size_t>(s.outer * s.size * s.inner), seed++, -4, 4);
        for (T& v : x) v = std::round(v);  // ties
        if (nan_mode) {
          std::mt19937 gen(seed);
          for (int k = 0; k < 40; ++k) x[gen() % x.size()] = std::numeric_limits<T>::quiet_NaN();
        }
        const size_t m = static_cast<size_t>(s.outer * s.inner);
        std::vector<T> val(m);
        std::vector<int64_t> idx(m);
        cpu::extreme_dim(x.data(), val.data(), idx.data(), s.outer, s.size, s.inner, is_max);
        DeviceVec<T> dx(x), dval(m);
        DeviceVec<int64_t> didx(m);
        cuda::extreme_dim(dx.get(), dval.get(), didx.get(), s.outer, s.size, s.inner, is_max);
        CHECK_SAME(didx.host(), idx);
        CHECK_SAME(dval.host(), val);

        // Backward through the CPU's indices.
        const auto g = test::random_vector<T>(m, seed++);
        std::vector<T> gx(x.size(), T(0));
        cpu::extreme_dim_backward(g.data(), idx.data(), gx.data(), s.outer, s.size, s.inner);
        DeviceVec<T> dg(g), dgx(std::vector<T>(x.size(), T(0)));
        DeviceVec<int64_t> didx_cpu(idx);
        cuda::extreme_dim_backward(dg.get(), didx_cpu.get(), dgx.get(), s.outer, s.size, s.inner);
        CHECK_SAME(dgx.host(), gx);
      }
}
}  // namespace

TEST_CASE("cuda sum_dim matches the CPU and is deterministic", "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  check_sum_dim<float>();
  check_sum_dim<double>();
}

TEST_CASE("cuda extreme_dim: first index on ties, NaN propagates; backward", "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  check_extreme_dim<float>();
  check_extreme_dim<double>();
}

// ---------------------------------------------------------------- softmax and cross-entropy

namespace {
// Row-wise kernels: warp rows (inner 1; short, long, of one element) and column loops (inner > 1).
const Dims3 kRowShapes[] = {{64, 751, 1}, {4, 10, 37}, {3, 5000, 1}, {5, 1, 1}, {2, 3, 4}};

template <class T>
void check_log_softmax() {
  uint32_t seed = 80;
  for (const Dims3& s : kRowShapes) {
    INFO("log_softmax (" << s.outer << ", " << s.size << ", " << s.inner << ")");
    const size_t n = static_cast<size_t>(s.outer * s.size * s.inner);
    const auto x = test::random_vector<T>(n, seed++, -6, 6);
    const auto g = test::random_vector<T>(n, seed++);
    std::vector<T> y(n), gx(n);
    cpu::log_softmax_forward(x.data(), y.data(), s.outer, s.size, s.inner);
    cpu::log_softmax_backward(g.data(), y.data(), gx.data(), s.outer, s.size, s.inner);
    DeviceVec<T> dx(x), dg(g), dy_cpu(y), dy(n), dgx(n);
    cuda::log_softmax_forward(dx.get(), dy.get(), s.outer, s.size, s.inner);
    cuda::log_softmax_backward(dg.get(), dy_cpu.get(), dgx.get(), s.outer, s.size, s.inner);
    CHECK_CLOSE(dy.host(), y, Tol<T>::ew_r, Tol<T>::ew_a);
    CHECK_CLOSE(dgx.host(), gx, Tol<T>::ew_r, Tol<T>::ew_a);
  }
}

template <class T>
void check_cross_entropy() {
  struct Case {
    int64_t N, K;
    double eps;
  };
  const Case cases[] = {{64, 751, 0.1}, {16, 10, 0.0}, {3, 5000, 0.2}, {300, 40, 0.1}};
  uint32_t seed = 90;
  for (const Case& c : cases) {
    INFO("cross_entropy N " << c.N << ", K " << c.K << ", eps " << c.eps);
    const size_t n = static_cast<size_t>(c.N * c.K);
    const auto logits = test::random_vector<T>(n, seed++, -5, 5);
    std::vector<int64_t> target(static_cast<size_t>(c.N));
    std::mt19937 gen(seed++);
    for (auto& t : target) t = static_cast<int64_t>(gen() % c.K);
    std::vector<T> prob(n), loss(1), gx(n);
    const std::vector<T> g = {T(0.75)};
    cpu::cross_entropy_forward(logits.data(), target.data(), prob.data(), loss.data(), c.N, c.K, c.eps);
    cpu::cross_entropy_backward(prob.data(), target.data(), g.data(), gx.data(), c.N, c.K, c.eps);
    DeviceVec<T> dlogits(logits), dprob(n), dloss(1), dg(g), dprob_cpu(prob), dgx(n);
    DeviceVec<int64_t> dtarget(target);
    cuda::cross_entropy_forward(dlogits.get(), dtarget.get(), dprob.get(), dloss.get(), c.N, c.K, c.eps);
    cuda::cross_entropy_backward(dprob_cpu.get(), dtarget.get(), dg.get(), dgx.get(), c.N, c.K, c.eps);
    CHECK_CLOSE(dprob.host(), prob, Tol<T>::ew_r, Tol<T>::ew_a);
    const std::vector<T> got_loss = dloss.host();
    CHECK_CLOSE(got_loss, loss, Tol<T>::red_r, Tol<T>::red_a);
    CHECK_CLOSE(dgx.host(), gx, Tol<T>::ew_r, Tol<T>::ew_a);
    cuda::cross_entropy_forward(dlogits.get(), dtarget.get(), dprob.get(), dloss.get(), c.N, c.K, c.eps);
    CHECK_SAME(dloss.host(), got_loss);  // run to run: the same bits

    // A target out of range makes the loss NaN.
    std::vector<int64_t> bad = target;
    bad[bad.size() / 2] = c.K;
    DeviceVec<int64_t> dbad(bad);
    cuda::cross_entropy_forward(dlogits.get(), dbad.get(), dprob.get(), dloss.get(), c.N, c.K, c.eps);
    CHECK(std::isnan(static_cast<double>(dloss.host()[0])));
  }
}
}  // namespace

TEST_CASE("cuda log_softmax forward and backward match the CPU", "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  check_log_softmax<float>();
  check_log_softmax<double>();
}

TEST_CASE("cuda cross-entropy: loss on the device, NaN for a bad target, backward from a device scalar",
          "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  check_cross_entropy<float>();
  check_cross_entropy<double>();
}

// ---------------------------------------------------------------- L2 normalisation and triplet mining

namespace {
template <class T>
void check_l2_normalize() {
  uint32_t seed = 95;
  for (const Dims3& s : kRowShapes) {
    INFO("l2_normalize (" << s.outer << ", " << s.size << ", " << s.inner << ")");
    const size_t n = static_cast<size_t>(s.outer * s.size * s.inner), rows = static_cast<size_t>(s.outer * s.inner);
    auto x = test::random_vector<T>(n, seed++, -2, 2);
    for (int64_t k = 0; k < s.size; ++k) x[static_cast<size_t>(k * s.inner)] = T(0);  // row 0 clamped at eps
    const auto g = test::random_vector<T>(n, seed++);
    const double eps = 1e-12;
    std::vector<T> y(n), norm(rows), gx(n);
    cpu::l2_normalize_forward(x.data(), y.data(), norm.data(), s.outer, s.size, s.inner, eps);
    cpu::l2_normalize_backward(g.data(), y.data(), norm.data(), gx.data(), s.outer, s.size, s.inner, eps);
    DeviceVec<T> dx(x), dg(g), dy_cpu(y), dnorm_cpu(norm), dy(n), dnorm(rows), dgx(n);
    cuda::l2_normalize_forward(dx.get(), dy.get(), dnorm.get(), s.outer, s.size, s.inner, eps);
    cuda::l2_normalize_backward(dg.get(), dy_cpu.get(), dnorm_cpu.get(), dgx.get(), s.outer, s.size, s.inner, eps);
    CHECK_CLOSE(dy.host(), y, Tol<T>::ew_r, Tol<T>::ew_a);
    CHECK_CLOSE(dnorm.host(), norm, Tol<T>::red_r, Tol<T>::red_a);
    CHECK_CLOSE(dgx.host(), gx, Tol<T>::red_r, Tol<T>::red_a);  // through the row's dot product
  }
}

template <class T>
void check_batch_hard_mine() {
  // Distances rounded to a coarse grid (ties), a few NaNs, and labels drawn from few classes;
  // the last case has an anchor alone in its class (no positive) and N = 1 (no negative).
  struct Case {
    int64_t N, classes;
    bool nan;
  };
  const Case cases[] = {{64, 16, false}, {100, 7, true}, {33, 2, false}, {5, 5, false}, {1, 1, false}};
  uint32_t seed = 97;
  for (const Case& c : cases) {
    INFO("batch_hard_mine N " << c.N << ", classes " << c.classes << ", nan " << c.nan);
    const size_t n = static_cast<size_t>(c.N * c.N), N = static_cast<size_t>(c.N);
    auto dist = test::random_vector<T>(n, seed++, 0, 4);
    for (T& d : dist) d = std::round(d * T(4)) / T(4);
    if (c.nan) dist[n / 3] = dist[n / 2] = std::numeric_limits<T>::quiet_NaN();
    std::vector<int64_t> labels(N);
    std::mt19937 gen(seed++);
    for (auto& l : labels) l = static_cast<int64_t>(gen() % c.classes);
    std::vector<T> pv(N), nv(N);
    std::vector<int64_t> pi(N), ni(N);
    cpu::batch_hard_mine(dist.data(), labels.data(), pv.data(), pi.data(), nv.data(), ni.data(), c.N);
    DeviceVec<T> ddist(dist), dpv(N), dnv(N);
    DeviceVec<int64_t> dlabels(labels), dpi(N), dni(N);
    cuda::batch_hard_mine(ddist.get(), dlabels.get(), dpv.get(), dpi.get(), dnv.get(), dni.get(), c.N);
    CHECK_SAME(dpi.host(), pi);
    CHECK_SAME(dni.host(), ni);
    CHECK_CLOSE(dpv.host(), pv, 0.0, 0.0);  // exact; NaN matches NaN
    CHECK_CLOSE(dnv.host(), nv, 0.0, 0.0);

    // The gather of the mined positives and its scatter backward.
    const auto g = test::random_vector<T>(N, seed++);
    std::vector<T> out(N), gx(n);
    cpu::gather_pairs_forward(dist.data(), pi.data(), out.data(), c.N, c.N);
    cpu::gather_pairs_backward(g.data(), pi.data(), gx.data(), c.N, c.N);
    DeviceVec<T> dout(N), dg(g), dgx(n);
    cuda::gather_pairs_forward(ddist.get(), dpi.get(), dout.get(), c.N, c.N);
    cuda::gather_pairs_backward(dg.get(), dpi.get(), dgx.get(), c.N, c.N);
    CHECK_CLOSE(dout.host(), out, 0.0, 0.0);
    CHECK_SAME(dgx.host(), gx);
  }
}
}  // namespace

TEST_CASE("cuda l2_normalize forward and backward match the CPU, a zero row included", "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  check_l2_normalize<float>();
  check_l2_normalize<double>();
}

TEST_CASE("cuda batch-hard mining picks the CPU's indices (ties, NaN, no positive or negative); gather_pairs",
          "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  check_batch_hard_mine<float>();
  check_batch_hard_mine<double>();
}

// ---------------------------------------------------------------- batch norm

namespace {
template <class T>
void check_batchnorm() {
  struct Case {
    int64_t N, C, S;
  };
  // S = 1 (BatchNorm1d, the flat path), small planes, planes wider than the block.
  const Case cases[] = {{32, 4, 1}, {8, 16, 49}, {2, 3, 1000}, {1, 5, 7}};
  uint32_t seed = 120;
  for (const Case& c : cases) {
    INFO("batchnorm N " << c.N << ", C " << c.C << ", S " << c.S);
    const size_t n = static_cast<size_t>(c.N * c.C * c.S), C = static_cast<size_t>(c.C);
    const auto x = test::random_vector<T>(n, seed++, -2, 3);
    const auto gy = test::random_vector<T>(n, seed++);
    const auto w = test::random_vector<T>(C, seed++, 0.5, 1.5);
    const auto b = test::random_vector<T>(C, seed++);
    const auto rm0 = test::random_vector<T>(C, seed++);
    const auto rv0 = test::random_vector<T>(C, seed++, 0.5, 2);

    // Statistics.
    std::vector<double> mean(C), var(C);
    cpu::batchnorm_stats(x.data(), c.N, c.C, c.S, mean.data(), var.data());
    DeviceVec<T> dx(x);
    DeviceVec<double> dmean(C), dvar(C);
    cuda::batchnorm_stats(dx.get(), c.N, c.C, c.S, dmean.get(), dvar.get());
    CHECK_CLOSE(dmean.host(), mean, 1e-10, 1e-12);
    CHECK_CLOSE(dvar.host(), var, 1e-10, 1e-12);

    // Prepare, training (with and without running statistics) and eval.
    const double momentum = 0.1, unbias = static_cast<double>(c.N * c.S) / std::max<int64_t>(1, c.N * c.S - 1),
                 eps = 1e-5;
    for (int mode = 0; mode < 3; ++mode) {
      INFO("prepare mode " << mode);
      const bool training = mode < 2, running = mode != 1;
      std::vector<double> m = mean, v = var;
      std::vector<T> rm = rm0, rv = rv0;
      cpu::batchnorm_prepare(training, m.data(), v.data(), running ? rm.data() : nullptr,
                             running ? rv.data() : nullptr, c.C, momentum, unbias, eps);
      DeviceVec<double> dm(mean), dv(var);
      DeviceVec<T> drm(rm0), drv(rv0);
      cuda::batchnorm_prepare(training, dm.get(), dv.get(), running ? drm.get() : nullptr,
                              running ? drv.get() : nullptr, c.C, momentum, unbias, eps);
      CHECK_CLOSE(dm.host(), m, 1e-14, 0.0);
      CHECK_CLOSE(dv.host(), v, 1e-14, 0.0);
      CHECK_CLOSE(drm.host(), rm, Tol<T>::ew_r, Tol<T>::ew_a);
      CHECK_CLOSE(drv.host(), rv, Tol<T>::ew_r, Tol<T>::ew_a);
    }

    // Apply and backward from the CPU's statistics, with and without affine parameters and the fused ReLU.
    std::vector<double> invstd(C);
    for (size_t k = 0; k < C; ++k) invstd[k] = 1.0 / std::sqrt(var[k] + eps);
    DeviceVec<double> dmean_c(mean), dinv(invstd);
    DeviceVec<T> dw(w), db(b), dgy(gy), dy(n), dgx(n), dgw(C), dgb(C);
    for (bool affine : {true, false})
      for (bool relu : {false, true}) {
        INFO("affine " << affine << ", relu " << relu);
        std::vector<T> y(n);
        cpu::batchnorm_apply(x.data(), mean.data(), invstd.data(), affine ? w.data() : nullptr,
                             affine ? b.data() : nullptr, y.data(), c.N, c.C, c.S, relu);
        cuda::batchnorm_apply(dx.get(), dmean_c.get(), dinv.get(), affine ? dw.get() : nullptr,
                              affine ? db.get() : nullptr, dy.get(), c.N, c.C, c.S, relu);
        CHECK_CLOSE(dy.host(), y, Tol<T>::ew_r, Tol<T>::ew_a);
        DeviceVec<T> dmask(y);  // the fused ReLU's backward masks gy with the CPU's output on both sides
        for (bool training : {true, false}) {
          INFO("backward training " << training);
          std::vector<T> gx(n), gw(C), gb(C);
          cpu::batchnorm_backward(gy.data(), relu ? y.data() : nullptr, x.data(), mean.data(), invstd.data(),
                                  affine ? w.data() : nullptr, gx.data(), affine ? gw.data() : nullptr,
                                  affine ? gb.data() : nullptr, c.N, c.C, c.S, training);
          cuda::batchnorm_backward(dgy.get(), relu ? dmask.get() : nullptr, dx.get(), dmean_c.get(), dinv.get(),
                                   affine ? dw.get() : nullptr, dgx.get(), affine ? dgw.get() : nullptr,
                                   affine ? dgb.get() : nullptr, c.N, c.C, c.S, training);
          CHECK_CLOSE(dgx.host(), gx, Tol<T>::red_r, Tol<T>::red_a);  // through batch sums
          if (affine) {
            CHECK_CLOSE(dgw.host(), gw, Tol<T>::red_r, Tol<T>::red_a);
            CHECK_CLOSE(dgb.host(), gb, Tol<T>::red_r, Tol<T>::red_a);
          }
        }
      }
  }
}
}  // namespace

TEST_CASE("cuda batch norm: statistics, prepare, apply and backward match the CPU", "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  check_batchnorm<float>();
  check_batchnorm<double>();
}

// ---------------------------------------------------------------- pooling

namespace {
template <class T>
void check_pool() {
  const PoolWindows geometries[] = {
      test::fixed_pool_windows(32, 16, 3, 2, 1, false, false, false),  // ResNet stem max pool
      test::fixed_pool_windows(9, 7, 3, 2, 1, true, true, true),       // ceil mode, count_include_pad
      test::fixed_pool_windows(8, 8, 2, 2, 0, false, true, false),
      test::fixed_pool_windows(10, 11, 2, 3, 0, false, true, false),  // stride > kernel: gaps
      test::adaptive_pool_windows(24, 8, 6, 1),                       // MGN stripes
      test::adaptive_pool_windows(7, 5, 3, 4),
      test::adaptive_pool_windows(24, 8, 1, 1),  // global
      test::fixed_pool_windows(32, 16, 3, 2, 1, false, false, false),  // a cached geometry again
  };
  const int64_t planes = 2 * 64;
  uint32_t seed = 150;
  int case_no = 0;
  for (PoolWindows pw : geometries) {
    INFO("pool geometry " << case_no++ << ": " << pw.H << "x" << pw.W << " -> " << pw.OH << "x" << pw.OW);
    const size_t in = static_cast<size_t>(planes * pw.H * pw.W), out = static_cast<size_t>(planes * pw.OH * pw.OW);
    auto x = test::random_vector<T>(in, seed++, 0, 6);
    for (T& v : x) v = std::floor(v);  // ties
    x[in / 3] = std::numeric_limits<T>::quiet_NaN();
    const auto gy = test::random_vector<T>(out, seed++);
    DeviceVec<T> dx(x), dgy(gy), dy(out), dgx(in);

    std::vector<T> y(out), gx(in);
    std::vector<int64_t> idx(out);
    cpu::max_pool_forward(x.data(), y.data(), idx.data(), planes, pw);
    cpu::max_pool_backward(gy.data(), idx.data(), gx.data(), planes, pw);
    DeviceVec<int64_t> didx(out), didx_cpu(idx);
    cuda::max_pool_forward(dx.get(), dy.get(), didx.get(), planes, pw);
    cuda::max_pool_backward(dgy.get(), didx_cpu.get(), dgx.get(), planes, pw);
    CHECK_SAME(didx.host(), idx);
    CHECK_SAME(dy.host(), y);
    CHECK_SAME(dgx.host(), gx);  // the CPU's additions in the CPU's order

    if (pw.divisor.empty()) continue;
    cpu::avg_pool_forward(x.data(), y.data(), planes, pw);
    cpu::avg_pool_backward(gy.data(), gx.data(), planes, pw);
    cuda::avg_pool_forward(dx.get(), dy.get(), planes, pw);
    cuda::avg_pool_backward(dgy.get(), dgx.get(), planes, pw);
    CHECK_CLOSE(dy.host(), y, Tol<T>::ew_r, Tol<T>::ew_a);
    CHECK_CLOSE(dgx.host(), gx, Tol<T>::ew_r, Tol<T>::ew_a);
  }
}
}  // namespace

TEST_CASE("cuda max and average pooling through windows match the CPU", "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  check_pool<float>();
  check_pool<double>();
}

// ---------------------------------------------------------------- BConv-Cell gates

namespace {
template <class T>
void check_bconv(int64_t N, int64_t C, int64_t S) {
  INFO("N " << N << ", C " << C << ", S " << S);
  const size_t n = static_cast<size_t>(N * C * S);
  const auto z = test::random_vector<T>(4 * n, 170, -3, 3);
  const auto c_prev = test::random_vector<T>(n, 171);
  const auto gh = test::random_vector<T>(n, 172);
  std::vector<T> h(n), c(n), gz(4 * n);
  cpu::bconv_gates_forward(z.data(), c_prev.data(), h.data(), c.data(), N, C, S);
  cpu::bconv_gates_backward(z.data(), c_prev.data(), gh.data(), gz.data(), N, C, S);
  DeviceVec<T> dz(z), dc_prev(c_prev), dgh(gh), dh(n), dc(n), dgz(4 * n);
  cuda::bconv_gates_forward(dz.get(), dc_prev.get(), dh.get(), dc.get(), N, C, S);
  cuda::bconv_gates_backward(dz.get(), dc_prev.get(), dgh.get(), dgz.get(), N, C, S);
  CHECK_CLOSE(dh.host(), h, Tol<T>::ew_r, Tol<T>::ew_a);
  CHECK_CLOSE(dc.host(), c, Tol<T>::ew_r, Tol<T>::ew_a);
  CHECK_CLOSE(dgz.host(), gz, Tol<T>::ew_r, Tol<T>::ew_a);
}
}  // namespace

TEST_CASE("cuda BConv-Cell gates forward and backward match the CPU", "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  // Planes (C*S) of 280 elements run 16-byte packs (4 floats, 2 doubles); of 99, one per thread.
  for (int64_t C : {8, 3}) {
    const int64_t S = C == 8 ? 35 : 33;
    check_bconv<float>(4, C, S);
    check_bconv<double>(4, C, S);
  }
}

// ---------------------------------------------------------------- optimizers

namespace {
// One parameter's host and device state.
template <class T>
struct OptState {
  std::vector<T> p, g, a, b, c;  // a, b, c: momentum buffer or m, v, vmax
  std::unique_ptr<DeviceVec<T>> dp, dg, da, db, dc;
  OptState(size_t n, uint32_t seed)
      : p(test::random_vector<T>(n, seed)),
        g(test::random_vector<T>(n, seed + 1)),
        a(test::random_vector<T>(n, seed + 2)),
        b(test::random_vector<T>(n, seed + 3, 0, 0.1)),
        c(test::random_vector<T>(n, seed + 4, 0, 0.1)) {
    dp = std::make_unique<DeviceVec<T>>(p);
    dg = std::make_unique<DeviceVec<T>>(g);
    da = std::make_unique<DeviceVec<T>>(a);
    db = std::make_unique<DeviceVec<T>>(b);
    dc = std::make_unique<DeviceVec<T>>(c);
  }
};

const size_t kSlotSizes[] = {1, 0, 16384, 16389, 70000, 3};

template <class T>
void check_sgd() {
  std::vector<OptState<T>> st;
  uint32_t seed = 200;
  for (size_t n : kSlotSizes) st.emplace_back(n, seed += 10);
  for (int step = 0; step < 3; ++step) {
    INFO("sgd step " << step);
    std::vector<SgdSlot<T>> cpu_slots, gpu_slots;
    for (size_t k = 0; k < st.size(); ++k) {
      // Slot 3 has no momentum (no buffer); the others alternate plain and Nesterov momentum.
      const bool momentum = k != 3;
      SgdHyper h{0.05 + 0.01 * k, momentum ? 0.9 : 0.0, 1.0 - 0.1 * (k % 2), 5e-4 * (k % 3), k % 2 == 0 && momentum,
                 step == 0};
      auto& s = st[k];
      cpu_slots.push_back({s.p.data(), momentum ? s.a.data() : nullptr, s.g.data(), static_cast<int64_t>(s.p.size()), h});
      gpu_slots.push_back({s.dp->get(), momentum ? s.da->get() : nullptr, s.dg->get(), static_cast<int64_t>(s.p.size()), h});
    }
    cpu::sgd_update(cpu_slots);
    cuda::sgd_update(gpu_slots);
    for (auto& s : st) {
      CHECK_SAME(s.dp->host(), s.p);
      CHECK_SAME(s.da->host(), s.a);
    }
  }
}

template <class T>
void check_adam() {
  for (int variant = 0; variant < 4; ++variant) {
    const bool amsgrad = variant & 1, decoupled = variant & 2;
    INFO("adam amsgrad " << amsgrad << ", decoupled " << decoupled);
    std::vector<OptState<T>> st;
    uint32_t seed = 300 + 100 * variant;
    for (size_t n : kSlotSizes) st.emplace_back(n, seed += 10);
    const double lr = 3e-4, beta1 = 0.9, beta2 = 0.999, wd = 5e-4;
    for (int step = 1; step <= 3; ++step) {
      AdamHyper h{beta1, 1 - beta1, beta2, 1 - beta2, 1e-8, wd, decoupled ? 1 - lr * wd : 1.0,
                  lr / (1 - std::pow(beta1, step)), std::sqrt(1 - std::pow(beta2, step)), amsgrad, decoupled};
      std::vector<AdamSlot<T>> cpu_slots, gpu_slots;
      for (auto& s : st) {
        const int64_t n = static_cast<int64_t>(s.p.size());
        cpu_slots.push_back({s.p.data(), s.a.data(), s.b.data(), amsgrad ? s.c.data() : nullptr, s.g.data(), n, h});
        gpu_slots.push_back({s.dp->get(), s.da->get(), s.db->get(), amsgrad ? s.dc->get() : nullptr, s.dg->get(), n, h});
      }
      cpu::adam_update(cpu_slots);
      cuda::adam_update(gpu_slots);
      for (auto& s : st) {
        CHECK_SAME(s.dp->host(), s.p);
        CHECK_SAME(s.da->host(), s.a);
        CHECK_SAME(s.db->host(), s.b);
        CHECK_SAME(s.dc->host(), s.c);
      }
    }
  }
}
}  // namespace

TEST_CASE("cuda multi-tensor SGD and Adam/AMSGrad round like the CPU, bit for bit", "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  check_sgd<float>();
  check_sgd<double>();
  check_adam<float>();
  check_adam<double>();
}

#else  // PTL_WITH_CUDA

TEST_CASE("cuda kernels are not built (CPU-only build)", "[cuda]") {
  WARN("CPU-only build: the CUDA kernel tests are left out");
}

#endif  // PTL_WITH_CUDA
