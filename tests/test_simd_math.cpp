// The four-lane float sigmoid/tanh of kernels/cpu/simd_math.h against long-double references,
// and the float BConv-Cell gate kernels (which use them, four elements at a time plus a shorter
// tail) against the double kernels.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/cpu/bconv.h"
#include "kernels/cpu/simd_math.h"

using namespace ptl::cpu;

namespace {
// |got - exact| in units of the float spacing at exact (the subnormal spacing below FLT_MIN).
double ulp_error(float got, long double exact) {
  const float near = static_cast<float>(exact);
  if (std::isinf(near)) return got == near ? 0 : 1e30;
  const float a = std::fabs(near);
  const float spacing = a < std::numeric_limits<float>::min()
                            ? std::numeric_limits<float>::denorm_min()
                            : std::nextafter(a, std::numeric_limits<float>::infinity()) - a;
  return static_cast<double>(std::fabs(static_cast<long double>(got) - exact) / spacing);
}

// worst = max(worst, err), where a NaN error (a NaN result) becomes the worst and stays: the
// check below then fails, as std::max(worst, NaN) would not make it.
void worse(double& worst, double err) {
  if (!std::isnan(worst) && !(err <= worst)) worst = err;
}

float lane0_sigmoid(float x) {
  return simd::sigmoid(simd::f32x4{x, x, x, x})[0];
}
float lane0_tanh(float x) {
  return simd::tanh(simd::f32x4{x, x, x, x})[0];
}
}  // namespace

TEST_CASE("simd sigmoid and tanh are within 0.5 float ulp of the exact functions", "[simd]") {
  double worst_sigmoid = 0, worst_tanh = 0;
  // Every 7919th bit pattern of the finite floats, both signs: about 1.1 million inputs from
  // the subnormals to 3.4e38.
  for (uint32_t bits = 0; bits < 0x7f800000u; bits += 7919)
    for (uint32_t sign : {0u, 0x80000000u}) {
      const uint32_t b = bits | sign;
      float x;
      std::memcpy(&x, &b, sizeof x);
      const long double xl = x;
      worse(worst_sigmoid, ulp_error(lane0_sigmoid(x), 1 / (1 + std::exp(-xl))));
      worse(worst_tanh, ulp_error(lane0_tanh(x), std::tanh(xl)));
    }
  INFO("worst sigmoid " << worst_sigmoid << " ulp, worst tanh " << worst_tanh << " ulp");
  CHECK(worst_sigmoid <= 0.5001);
  CHECK(worst_tanh <= 0.5001);
}

TEST_CASE("simd sigmoid and tanh keep the special values", "[simd]") {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::nanf("");
  const simd::f32x4 x = {nan, inf, -inf, -0.0f};
  const simd::f32x4 s = simd::sigmoid(x), t = simd::tanh(x);
  CHECK(std::isnan(s[0]));
  CHECK(s[1] == 1.0f);
  CHECK(s[2] == 0.0f);
  CHECK(s[3] == 0.5f);
  CHECK(std::isnan(t[0]));
  CHECK(t[1] == 1.0f);
  CHECK(t[2] == -1.0f);
  CHECK(t[3] == 0.0f);
  CHECK(std::signbit(t[3]));  // tanh(-0) = -0, as torch
  CHECK(lane0_tanh(25.0f) == 1.0f);
  CHECK(lane0_tanh(-1e-30f) == -1e-30f);
  CHECK(lane0_sigmoid(-200.0f) == 0.0f);
}

TEST_CASE("simd load and store touch only the lanes asked for", "[simd]") {
  const float src[3] = {1, 2, 3};
  const simd::f32x4 v = simd::load(src, 3);
  CHECK(v[0] == 1);
  CHECK(v[2] == 3);
  CHECK(v[3] == 0);
  float dst[4] = {9, 9, 9, 9};
  simd::store(v * 2, dst, 2);
  CHECK(dst[0] == 2);
  CHECK(dst[1] == 4);
  CHECK(dst[2] == 9);
  CHECK(dst[3] == 9);
}

TEST_CASE("float BConv gate kernels agree with the double kernels, tails included",
          "[simd][bconv]") {
  // S = 7 per channel: one four-lane step and a three-lane tail per row.
  const int64_t N = 2, C = 3, S = 7, n = N * C * S;
  std::vector<double> z(4 * n), c_prev(n), gh(n);
  for (size_t i = 0; i < z.size(); ++i) z[i] = 6 * std::sin(0.7 * static_cast<double>(i) + 0.3);
  for (int64_t i = 0; i < n; ++i) {
    c_prev[i] = 2 * std::cos(1.3 * static_cast<double>(i));
    gh[i] = std::sin(2.1 * static_cast<double>(i) + 1);
  }
  std::vector<float> zf(z.begin(), z.end()), cf(c_prev.begin(), c_prev.end()),
      ghf(gh.begin(), gh.end());
  // The float inputs, widened, so both kernels see the same values.
  std::vector<double> zd(zf.begin(), zf.end()), cd(cf.begin(), cf.end()),
      ghd(ghf.begin(), ghf.end());

  std::vector<double> h(n), c(n), gz(4 * n);
  std::vector<float> hf(n), cff(n), gzf(4 * n);
  bconv_gates_forward<double>(zd.data(), cd.data(), h.data(), c.data(), N, C, S);
  bconv_gates_forward<float>(zf.data(), cf.data(), hf.data(), cff.data(), N, C, S);
  bconv_gates_backward<double>(zd.data(), cd.data(), ghd.data(), gz.data(), N, C, S);
  bconv_gates_backward<float>(zf.data(), cf.data(), ghf.data(), gzf.data(), N, C, S);
  // A few float roundings of values of order 1: 1e-6 absolute covers them.
  for (int64_t i = 0; i < n; ++i) {
    REQUIRE(hf[i] == Approx(h[i]).margin(1e-6));
    REQUIRE(cff[i] == Approx(c[i]).margin(1e-6));
  }
  for (int64_t i = 0; i < 4 * n; ++i) REQUIRE(gzf[i] == Approx(gz[i]).margin(1e-6));
}
