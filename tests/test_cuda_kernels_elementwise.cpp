// CUDA element-wise kernels against the CPU's (tests/cuda_kernel_compare.h says how).
#include <catch2/catch.hpp>

#include "engine/device.h"

#if PTL_WITH_CUDA
#include "kernels/cpu/elementwise.h"
#include "tests/cuda_kernel_compare.h"

using namespace ptl;
using namespace ptl::test;

namespace {

template <class T>
void check_unary() {
  struct Case {
    UnaryOp op;
    UnaryParams p;
    double lo, hi;
  };
  const Case cases[] = {
      {UnaryOp::Neg, {}, -2, 2},
      {UnaryOp::Relu, {}, -2, 2},
      {UnaryOp::Sigmoid, {}, -8, 8},
      {UnaryOp::Tanh, {}, -4, 4},
      {UnaryOp::Exp, {}, -5, 5},
      {UnaryOp::Log, {}, 0.01, 10},
      {UnaryOp::Sqrt, {}, 0.01, 10},
      {UnaryOp::Abs, {}, -2, 2},
      {UnaryOp::Pow, {2.5, 0}, 0.1, 3},
      {UnaryOp::Pow, {-1.5, 0}, 0.1, 3},
      {UnaryOp::Clamp, {-0.5, 0.5}, -2, 2},
      {UnaryOp::AddScalar, {0.3, 0}, -2, 2},
      {UnaryOp::MulScalar, {-1.7, 0}, -2, 2},
  };
  const size_t n = 100003;
  uint32_t seed = 100;
  for (const Case& c : cases) {
    INFO("unary op " << static_cast<int>(c.op));
    const auto x = test::random_values<T>(n, seed++, c.lo, c.hi);
    const auto g = test::random_values<T>(n, seed++);
    std::vector<T> y(n), gx(n);
    cpu::unary_forward(c.op, c.p, x.data(), y.data(), static_cast<int64_t>(n));
    cpu::unary_backward(c.op, c.p, g.data(), x.data(), y.data(), gx.data(),
                        static_cast<int64_t>(n));
    DeviceVec<T> dx(x), dg(g), dy(y), dy_out(n), dgx(n);
    cuda::unary_forward(c.op, c.p, dx.get(), dy_out.get(), static_cast<int64_t>(n));
    cuda::unary_backward(c.op, c.p, dg.get(), dx.get(), dy.get(), dgx.get(),
                         static_cast<int64_t>(n));
    CHECK_WITHIN(dy_out.host(), y, (Bound{Tol<T>::ew_r, Tol<T>::ew_a}));
    CHECK_WITHIN(dgx.host(), gx, (Bound{Tol<T>::ew_r, Tol<T>::ew_a}));
  }
}

// A random operand for a broadcast of `out`: its own shape (1 where broadcast), stored in a
// random dimension order; returns its element count and its strides in the output's
// dimensions (0 where broadcast).
int64_t random_operand(const std::vector<int64_t>& out, std::mt19937& gen,
                       std::vector<int64_t>& strides) {
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
    const auto a = test::random_values<T>(static_cast<size_t>(na), 1000 + trial);
    const auto b = test::random_values<T>(static_cast<size_t>(nb), 2000 + trial, 0.5, 2);
    const size_t n = static_cast<size_t>(numel(shape));
    const BinaryOp op = ops[trial % 4];
    INFO("trial " << trial << ", op " << static_cast<int>(op) << ", " << nd << " dimensions");
    std::vector<T> want(n);
    cpu::binary_forward(op, shape, a.data(), sa, b.data(), sb, want.data());
    DeviceVec<T> da(a), db(b), dout(n);
    cuda::binary_forward(op, shape, da.get(), sa, db.get(), sb, dout.get());
    CHECK_SAME_BITS(dout.host(),
                    want);  // one correctly rounded operation per element on both sides
  }
  // A large contiguous case (beyond one pass of the grid-stride loop) and a row broadcast.
  const std::vector<int64_t> big = {4099, 4097};
  const size_t n = static_cast<size_t>(numel(big));
  const auto a = test::random_values<T>(n, 31);
  const auto b = test::random_values<T>(n, 32);
  const std::vector<int64_t> s = {4097, 1}, row = {0, 1};
  std::vector<T> want(n);
  DeviceVec<T> da(a), db(b), dout(n);
  cpu::binary_forward(BinaryOp::Mul, big, a.data(), s, b.data(), s, want.data());
  cuda::binary_forward(BinaryOp::Mul, big, da.get(), s, db.get(), s, dout.get());
  CHECK_SAME_BITS(dout.host(), want);
  cpu::binary_forward(BinaryOp::Sub, big, a.data(), s, b.data(), row, want.data());
  cuda::binary_forward(BinaryOp::Sub, big, da.get(), s, db.get(), row, dout.get());
  CHECK_SAME_BITS(dout.host(), want);
}

// Random strides for `shape`: a permuted dense layout, each dimension possibly reversed and
// spread by a gap; returns the buffer length and the offset of element 0 in it.
int64_t random_layout(const std::vector<int64_t>& shape, std::mt19937& gen,
                      std::vector<int64_t>& strides, int64_t& base) {
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
    for (size_t i = 0; i < dst.size(); ++i)
      dst[i] = static_cast<W>(i * 7 + 3);  // untouched slots stay
    DeviceVec<W> dsrc(src), ddst(dst);
    cpu::strided_copy(shape, sizeof(W), src.data() + sbase, ss, dst.data() + dbase, ds);
    cuda::strided_copy(shape, sizeof(W), dsrc.get() + sbase, ss, ddst.get() + dbase, ds);
    INFO("trial " << trial << ", " << nd << " dimensions");
    CHECK_SAME_BITS(ddst.host(), dst);
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

TEST_CASE("cuda strided copy: up to 8 dimensions, permuted, gapped and negative strides",
          "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  check_strided_copy_words<uint32_t>();
  check_strided_copy_words<uint64_t>();
  // A large transpose (beyond one pass of the grid-stride loop).
  const std::vector<int64_t> shape = {4099, 4097}, src_st = {1, 4099}, dst_st = {4097, 1};
  const auto src = test::random_values<float>(static_cast<size_t>(numel(shape)), 3);
  std::vector<float> want(src.size());
  cpu::strided_copy(shape, 4, src.data(), src_st, want.data(), dst_st);
  DeviceVec<float> dsrc(src), ddst(src.size());
  cuda::strided_copy(shape, 4, dsrc.get(), src_st, ddst.get(), dst_st);
  CHECK_SAME_BITS(ddst.host(), want);
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
    CHECK_SAME_BITS(f.host(), std::vector<float>(n, -1.25f));
    CHECK_SAME_BITS(d.host(), std::vector<double>(n, 3.5e300));
    CHECK_SAME_BITS(l.host(), std::vector<int64_t>(n, -(int64_t(1) << 40)));
    CHECK_SAME_BITS(i.host(), std::vector<int32_t>(n, -7));
  }
}

namespace {
template <class From, class To>
void check_convert_pair(const std::vector<From>& src) {
  std::vector<To> want(src.size());
  cpu::convert(src.data(), dtype_of<From>::value, want.data(), dtype_of<To>::value,
               static_cast<int64_t>(src.size()));
  DeviceVec<From> dsrc(src);
  DeviceVec<To> ddst(src.size());
  cuda::convert(dsrc.get(), dtype_of<From>::value, ddst.get(), dtype_of<To>::value,
                static_cast<int64_t>(src.size()));
  INFO(dtype_name(dtype_of<From>::value) << " -> " << dtype_name(dtype_of<To>::value));
  CHECK_SAME_BITS(ddst.host(), want);
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
  const auto base = test::random_values<double>(70001, 9, -3000, 3000);
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

#else  // PTL_WITH_CUDA

TEST_CASE("cuda kernels are not built (CPU-only build)", "[cuda]") {
  WARN("CPU-only build: the CUDA kernel tests are left out");
}

#endif  // PTL_WITH_CUDA
