// A sample's whole preprocessing, decoded image -> normalised (C, H, W) floats, in the recipes'
// order: channel conversion, resize, random horizontal flip, pad + random crop, ToTensor +
// Normalize, random erasing. The random draws are taken in that order from the caller's Generator.
#pragma once
#include <array>

#include "data/augment.h"
#include "data/image.h"
#include "data/resize.h"
#include "engine/rng.h"

namespace ptl::data {

struct Transform {
  int height = 256, width = 128;  // output size (resize target)
  int channels = 3;               // 3 (RGB) or 1 (grey); images are converted to it first
  Interp interp = Interp::Bilinear;
  double flip_p = 0.0;                                // probability of a horizontal flip
  int pad = 0;                                        // pad + random crop (0 = off)
  Erasing erasing;                                    // p = 0: off
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};  // ImageNet statistics
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};

  // A grey (1-channel) transform: the ImageNet statistics averaged over the three channels,
  // mean 0.449 and std 0.226, so a grey copy of an RGB image is normalised alike.
  Transform& grey();
  int64_t sample_size() const { return static_cast<int64_t>(channels) * height * width; }

  // Evaluation: resize and normalise only.
  static Transform eval(int h, int w, Interp interp = Interp::Bilinear);
  // The PTL release's training recipe: bicubic resize, flip 0.5, erasing p 0.5 fill 0.
  static Transform ptl_train(int h = 384, int w = 128);
  // reid-strong-baseline: bilinear resize, flip 0.5, pad 10 + crop, erasing with mean fill.
  static Transform strong_baseline_train(int h = 256, int w = 128);

  // Writes the sample_size() floats of `img`'s sample to `out`.
  void apply(const Image& img, Generator& rng, float* out) const;
};

}  // namespace ptl::data
