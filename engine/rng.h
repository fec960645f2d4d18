// Seeded random numbers whose streams do not depend on the thread count.
//
// A Generator is a (seed, offset) pair over a counter-based generator (Philox-4x32-10): the
// value at position i of a draw is a pure function of (seed, offset + i), so a tensor can be
// filled in parallel chunks and still equal the serial fill. Each draw advances the offset.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace ptl {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void set_state(uint64_t seed, uint64_t offset) {
    seed_ = seed;
    offset_ = offset;
  }

  // Four 32-bit random words for counter `c` (stateless).
  static void philox(uint64_t seed, uint64_t c, uint32_t out[4]);

  // Fills (in parallel, thread-count independent) and advances the offset.
  void uniform_(Tensor& t, double lo = 0.0, double hi = 1.0);
  void normal_(Tensor& t, double mean = 0.0, double std = 1.0);
  void bernoulli_(Tensor& t, double p);  // 1 with probability p, else 0

  double uniform();                             // one value in [0, 1)
  uint64_t next_u64();                          // one 64-bit word
  int64_t randint(int64_t n);                   // uniform in [0, n)
  std::vector<int64_t> permutation(int64_t n);  // Fisher-Yates with randint

 private:
  uint64_t take(uint64_t n) {  // reserves n counters, returns the first
    uint64_t o = offset_;
    offset_ += n;
    return o;
  }
  uint64_t seed_;
  uint64_t offset_ = 0;
};

// The process-wide generator (seeded by ptl::manual_seed; 0 by default).
Generator& default_generator();
void manual_seed(uint64_t seed);

// Convenience: fresh tensors from the default generator.
Tensor randn(const Shape& shape, DType dtype = DType::F32);
Tensor rand(const Shape& shape, DType dtype = DType::F32);

}  // namespace ptl
