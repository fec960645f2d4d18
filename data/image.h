// An 8-bit image in HWC layout (row-major, channels interleaved): the form decoders produce and
// the augmentations before normalisation work on.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ptl::data {

struct Image {
  int h = 0, w = 0, c = 3;
  std::vector<uint8_t> px;  // h * w * c bytes

  Image() = default;
  Image(int h_, int w_, int c_ = 3) : h(h_), w(w_), c(c_), px(static_cast<size_t>(h_) * w_ * c_) {}
  uint8_t* at(int y, int x) { return px.data() + (static_cast<size_t>(y) * w + x) * c; }
  const uint8_t* at(int y, int x) const { return px.data() + (static_cast<size_t>(y) * w + x) * c; }
};

}  // namespace ptl::data
