// The CPU kernels that run through parallel_for_isa (kernels/cpu/isa.h), compiled for AVX2+FMA
// and again for AVX-512F: element-wise forward ops, pooling and the optimizer updates must give
// the same bits on every path of the machine, at 1 and 2 threads. The inputs hold NaN,
// infinities, signed zeros and subnormals, and lengths that leave vector remainders. (The whole
// training run is checked on every path by the golden-bits test; this names the kernel that
// differs. It is how batch norm's backward was found one rounding apart between two
// compilations, and kept to one.)
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "isa_scope.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/optim.h"
#include "kernels/cpu/pool.h"
#include "kernels/pool_windows.h"
#include "tests/test_util.h"
#include "thread_scope.h"

namespace {

using ptl::test::random_values;

// Random values in [-1, 1) with the special values at the front.
template <class T>
std::vector<T> inputs(size_t n, unsigned seed) {
  auto v = random_values<T>(n, seed);
  const T special[] = {std::numeric_limits<T>::quiet_NaN(),
                       std::numeric_limits<T>::infinity(),
                       -std::numeric_limits<T>::infinity(),
                       T(-0.0),
                       std::numeric_limits<T>::denorm_min() * 3,
                       T(0),
                       T(1e3),
                       T(-1e3)};
  for (size_t i = 0; i < std::size(special) && i < n; ++i) v[i * 7 % n] = special[i];
  return v;
}

// Appends the bytes of v to out.
template <class T>
void append(std::vector<unsigned char>& out, const std::vector<T>& v) {
  const auto* p = reinterpret_cast<const unsigned char*>(v.data());
  out.insert(out.end(), p, p + v.size() * sizeof(T));
}

// compute() returns the bytes of every output; they must be those of the AVX2 path at 1 thread.
template <class F>
void same_on_every_path(const char* what, const F& compute) {
  INFO(what);
  std::vector<unsigned char> reference;
  {
    ptl::test::IsaScope path(ptl::cpu::Isa::avx2);
    ptl::test::ThreadScope scope(1);
    reference = compute();
  }
  REQUIRE(!reference.empty());
  ptl::test::on_every_path([&] { CHECK(compute() == reference); });
}

template <class T>
void check_kernels() {
  using namespace ptl;
  const int64_t n = 4099;  // not a multiple of any vector width
  const auto x = inputs<T>(n, 1), g = inputs<T>(n, 2), y0 = inputs<T>(n, 3);

  const std::pair<UnaryOp, UnaryParams> unary[] = {{UnaryOp::Neg, {}},
                                                   {UnaryOp::Relu, {}},
                                                   {UnaryOp::Sigmoid, {}},
                                                   {UnaryOp::Tanh, {}},
                                                   {UnaryOp::Exp, {}},
                                                   {UnaryOp::Log, {}},
                                                   {UnaryOp::Sqrt, {}},
                                                   {UnaryOp::Abs, {}},
                                                   {UnaryOp::Pow, {2.5, 0}},
                                                   {UnaryOp::Clamp, {-.5, .5}},
                                                   {UnaryOp::AddScalar, {.25, 0}},
                                                   {UnaryOp::MulScalar, {-3, 0}}};
  same_on_every_path("unary forward", [&] {
    std::vector<unsigned char> out;
    std::vector<T> y(n);
    for (const auto& [op, p] : unary) {
      cpu::unary_forward<T>(op, p, x.data(), y.data(), n);
      append(out, y);
    }
    return out;
  });

  same_on_every_path("binary (broadcast) and add_relu", [&] {
    std::vector<unsigned char> out;
    const std::vector<int64_t> shape{3, 29, 47}, sa{29 * 47, 47, 1}, sb{0, 1, 0};
    std::vector<T> y(3 * 29 * 47);
    for (auto op : {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div}) {
      cpu::binary_forward<T>(op, shape, x.data(), sa, g.data(), sb, y.data());
      append(out, y);
    }
    std::vector<T> r(n);
    cpu::add_relu_forward<T>(x.data(), g.data(), r.data(), n);
    append(out, r);
    return out;
  });

  // Pooling: 3x3 stride 2 pad 1 on 7 planes of 23x17 (max), 2x3 stride 2 ceil mode (average).
  same_on_every_path("max and average pooling", [&] {
    std::vector<unsigned char> out;
    const int64_t planes = 7, H = 23, W = 17;
    const PoolWindows maxw = fixed_pool_windows(H, W, 3, 3, 2, 2, 1, 1, false, false, false);
    const PoolWindows avgw = fixed_pool_windows(H, W, 2, 3, 2, 2, 0, 1, true, true, true);
    for (const PoolWindows* pw : {&maxw, &avgw}) {
      const int64_t outs = planes * pw->OH * pw->OW;
      std::vector<T> y(outs), gx(planes * H * W);
      std::vector<int64_t> idx(outs);
      if (pw == &maxw) {
        cpu::max_pool_forward<T>(x.data(), y.data(), idx.data(), planes, *pw);
        cpu::max_pool_backward<T>(g.data(), idx.data(), gx.data(), planes, *pw);
        append(out, idx);
      } else {
        cpu::avg_pool_forward<T>(x.data(), y.data(), planes, *pw);
        cpu::avg_pool_backward<T>(g.data(), gx.data(), planes, *pw);
      }
      append(out, y);
      append(out, gx);
    }
    return out;
  });

  same_on_every_path("SGD and Adam updates", [&] {
    std::vector<unsigned char> out;
    // Second moments are squares: a negative v would make Adam's sqrt(v) NaN, hiding the update.
    auto p = y0, buf = g, p2 = y0, m = x, v = random_values<T>(n, 6);
    for (T& e : v) e *= e;
    auto vmax = v;
    const SgdHyper sh{0.1, 0.9, 0.9, 1e-4, true, false};
    cpu::sgd_update<T>({SgdSlot<T>{p.data(), buf.data(), g.data(), n, sh}});
    const AdamHyper ah{0.9, 0.1, 0.999, 0.001, 1e-8, 1e-4, 1.0, 0.01, 0.5, true, false};
    cpu::adam_update<T>({AdamSlot<T>{p2.data(), m.data(), v.data(), vmax.data(), g.data(), n, ah}});
    for (const auto* t : {&p, &buf, &p2, &m, &v, &vmax}) append(out, *t);
    return out;
  });
}

}  // namespace

TEST_CASE(
    "element-wise forward, pooling and optimizer kernels give the same bits on every CPU path",
    "[determinism]") {
  check_kernels<float>();
  check_kernels<double>();
}
