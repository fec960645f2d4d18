// The augmentations of the ReID recipes, on HWC uint8 images (before normalisation) or on a
// CHW float sample (after): flip, pad + random crop, normalisation and random erasing.
// Random choices come from a caller's Generator so a sample's augmentation depends only on
// its seed, never on which thread ran it.
#pragma once
#include <array>

#include "data/image.h"
#include "engine/rng.h"

namespace ptl::data {

// Mirror left-right in place.
void hflip(Image& img);

// torchvision Pad(pad, fill=0) then RandomCrop back to the input size: the crop's top-left is
// uniform in [0, 2*pad] on each axis (y drawn first). Pixels from the border are 0.
void pad_random_crop(Image& img, int pad, Generator& rng);

// `img` with `channels` channels (1 or 3): grey to RGB repeats the grey value; RGB to grey is
// PIL's convert("L"), L = (R * 299 + G * 587 + B * 114) / 1000 rounded to nearest.
Image convert_channels(const Image& img, int channels);

// ToTensor + Normalize: out[c][y][x] = (img(y, x, c) / 255 - mean[c]) / std[c], a (C, H, W)
// float block for the image's C = 1 or 3 channels (a grey image uses mean[0] and std[0]).
void to_chw_normalised(const Image& img, const std::array<float, 3>& mean,
                       const std::array<float, 3>& std, float* out);

// Random erasing (Zhong et al. 2017) as both ReID code bases implement it: with probability p,
// up to `attempts` tries of a target area uniform in [area_lo, area_hi] of the image and an
// aspect uniform in [min_aspect, 1/min_aspect]; h = round(sqrt(area * aspect)),
// w = round(sqrt(area / aspect)); the first box with h < H and w < W is filled with fill[c] at
// a uniform top-left (row first).
struct Erasing {
  double p = 0.0;  // 0 = off
  double area_lo = 0.02, area_hi = 0.4, min_aspect = 0.3;
  int attempts = 100;
  std::array<float, 3> fill{0.f, 0.f, 0.f};

  // The PTL/MGN release: p 0.5, fill 0 (after normalisation).
  static Erasing release();
  // reid-strong-baseline: p 0.5, fill with the ImageNet mean values (0.485, 0.456, 0.406).
  static Erasing strong_baseline();
};

// Applies `e` to a (c, h, w) float sample in place (channel k filled with fill[k]).
void random_erase(const Erasing& e, float* chw, int c, int h, int w, Generator& rng);

}  // namespace ptl::data
