// SHA-256 (FIPS 180-4) of byte strings: the fingerprint the determinism test compares with its
// golden file (tests/golden/), so that any machine must reproduce the recorded bits.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace ptl {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t n);
  std::string hex();  // the digest as 64 lowercase hex digits; ends the computation

 private:
  void block(const uint8_t* p);  // one 64-byte block into the state
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t used_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace ptl
