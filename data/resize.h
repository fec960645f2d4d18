// Resizing 8-bit images the way PIL's Image.resize does (Pillow's Resample.c, which torchvision's
// transforms.Resize calls on PIL images): separable convolution with the filter stretched by the
// scale factor when shrinking (antialiasing), coefficients normalised per output pixel and
// rounded to 22-bit fixed point, horizontal pass first with the intermediate rounded to 8 bits.
// For the same input the output matches Pillow's byte for byte.
#pragma once
#include "data/image.h"

namespace ptl::data {

enum class Interp { Bilinear, Bicubic };

// Returns `src` resized to out_h x out_w (any channel count).
Image resize(const Image& src, int out_h, int out_w, Interp interp);

}  // namespace ptl::data
