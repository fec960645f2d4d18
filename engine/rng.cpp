#include "engine/rng.h"

#include <cmath>

#include "base/parallel.h"

namespace ptl {

void Generator::philox(uint64_t seed, uint64_t c, uint32_t out[4]) {
  // Philox-4x32-10 (Salmon et al., SC'11): counter (c, 0), key = seed.
  uint32_t x0 = static_cast<uint32_t>(c), x1 = static_cast<uint32_t>(c >> 32), x2 = 0, x3 = 0;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    uint64_t p0 = 0xD2511F53ull * x0, p1 = 0xCD9E8D57ull * x2;
    uint32_t y0 = static_cast<uint32_t>(p1 >> 32) ^ x1 ^ k0, y1 = static_cast<uint32_t>(p1);
    uint32_t y2 = static_cast<uint32_t>(p0 >> 32) ^ x3 ^ k1, y3 = static_cast<uint32_t>(p0);
    x0 = y0;
    x1 = y1;
    x2 = y2;
    x3 = y3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  out[0] = x0;
  out[1] = x1;
  out[2] = x2;
  out[3] = x3;
}

namespace {
// A double in [0, 1) from two 32-bit words (53 random bits).
inline double to_unit(uint32_t hi, uint32_t lo) {
  uint64_t v = (static_cast<uint64_t>(hi) << 21) ^ (lo >> 11);
  return static_cast<double>(v & ((1ull << 53) - 1)) * (1.0 / 9007199254740992.0);
}

// Fills t[i] = f(words of counter base + i) in thread-count-independent chunks.
template <class F>
void fill_by_counter(Tensor& t, uint64_t seed, uint64_t base, const F& f) {
  PTL_CHECK(t.device().is_cpu() && t.is_contiguous() && is_float32_or_64(t.dtype()),
            "random fill needs a contiguous float32 or float64 CPU tensor, got ",
            dtype_name(t.dtype()), t.shape_str());
  const bool f32 = t.dtype() == DType::F32;
  float* pf = f32 ? t.data<float>() : nullptr;
  double* pd = f32 ? nullptr : t.data<double>();
  parallel_for(t.numel(), 1 << 14, [&](int64_t b, int64_t e) {
    uint32_t w[4];
    for (int64_t i = b; i < e; ++i) {
      Generator::philox(seed, base + static_cast<uint64_t>(i), w);
      double v = f(w);
      if (f32)
        pf[i] = static_cast<float>(v);
      else
        pd[i] = v;
    }
  });
}
}  // namespace

void Generator::uniform_(Tensor& t, double lo, double hi) {
  fill_by_counter(t, seed_, take(t.numel()),
                  [=](const uint32_t* w) { return lo + (hi - lo) * to_unit(w[0], w[1]); });
}

void Generator::normal_(Tensor& t, double mean, double std) {
  fill_by_counter(t, seed_, take(t.numel()), [=](const uint32_t* w) {
    double u1 = 1.0 - to_unit(w[0], w[1]);  // (0, 1]: log is finite
    double u2 = to_unit(w[2], w[3]);
    return mean + std * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  });
}

void Generator::bernoulli_(Tensor& t, double p) {
  fill_by_counter(t, seed_, take(t.numel()),
                  [=](const uint32_t* w) { return to_unit(w[0], w[1]) < p ? 1.0 : 0.0; });
}

uint64_t Generator::next_u64() {
  uint32_t w[4];
  philox(seed_, take(1), w);
  return (static_cast<uint64_t>(w[0]) << 32) | w[1];
}

double Generator::uniform() {
  uint32_t w[4];
  philox(seed_, take(1), w);
  return to_unit(w[0], w[1]);
}

int64_t Generator::randint(int64_t n) {
  PTL_CHECK(n > 0, "randint: the range must be positive, got ", n);
  // Rejection sampling removes the modulo bias.
  const uint64_t un = static_cast<uint64_t>(n);
  const uint64_t limit = UINT64_MAX - UINT64_MAX % un;
  uint64_t v;
  do v = next_u64();
  while (v >= limit);
  return static_cast<int64_t>(v % un);
}

std::vector<int64_t> Generator::permutation(int64_t n) {
  std::vector<int64_t> p(n);
  for (int64_t i = 0; i < n; ++i) p[i] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[randint(i + 1)]);
  return p;
}

Generator& default_generator() {
  static Generator g(0);
  return g;
}

void manual_seed(uint64_t seed) {
  default_generator().set_state(seed, 0);
}

Tensor randn(const Shape& shape, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  default_generator().normal_(t);
  return t;
}

Tensor rand(const Shape& shape, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  default_generator().uniform_(t);
  return t;
}

}  // namespace ptl
