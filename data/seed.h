// Derives independent generator seeds from a base seed and indices (epoch, batch, sample,
// identity), so each random stream is a pure function of its position, not of thread timing.
#pragma once
#include <cstdint>

namespace ptl::data {

// splitmix64's finaliser over (a, b): a well-mixed 64-bit seed.
inline uint64_t mix_seed(uint64_t a, uint64_t b) {
  uint64_t z = a + 0x9E3779B97F4A7C15ull * (b + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace ptl::data
