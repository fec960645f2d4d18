#include "data/augment.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"

namespace ptl::data {

void hflip(Image& img) {
  const int c = img.c;
  for (int y = 0; y < img.h; ++y) {
    uint8_t* row = img.at(y, 0);
    for (int l = 0, r = img.w - 1; l < r; ++l, --r)
      for (int k = 0; k < c; ++k) std::swap(row[l * c + k], row[r * c + k]);
  }
}

void pad_random_crop(Image& img, int pad, Generator& rng) {
  PTL_CHECK(pad >= 0, "pad_random_crop: negative padding ", pad);
  if (pad == 0) return;
  // Offset of the crop inside the padded image; the source shift is (oy - pad, ox - pad).
  const int oy = static_cast<int>(rng.randint(2 * pad + 1));
  const int ox = static_cast<int>(rng.randint(2 * pad + 1));
  const int dy = oy - pad, dx = ox - pad;
  Image out(img.h, img.w, img.c);  // zero-filled
  const int x0 = std::max(0, -dx), x1 = std::min(img.w, img.w - dx);
  for (int y = 0; y < img.h; ++y) {
    const int sy = y + dy;
    if (sy < 0 || sy >= img.h || x1 <= x0) continue;
    std::copy(img.at(sy, x0 + dx), img.at(sy, x1 + dx), out.at(y, x0));
  }
  img = std::move(out);
}

Image convert_channels(const Image& img, int channels) {
  PTL_CHECK((img.c == 1 || img.c == 3) && (channels == 1 || channels == 3),
            "convert_channels: ", img.c, " to ", channels, " channels is not supported (1 or 3)");
  if (img.c == channels) return img;
  Image out(img.h, img.w, channels);
  const size_t n = static_cast<size_t>(img.h) * img.w;
  for (size_t p = 0; p < n; ++p) {
    const uint8_t* s = img.px.data() + p * img.c;
    if (channels == 3) {
      out.px[3 * p] = out.px[3 * p + 1] = out.px[3 * p + 2] = s[0];
    } else {
      out.px[p] = static_cast<uint8_t>((s[0] * 299 + s[1] * 587 + s[2] * 114 + 500) / 1000);
    }
  }
  return out;
}

void to_chw_normalised(const Image& img, const std::array<float, 3>& mean,
                       const std::array<float, 3>& std, float* out) {
  PTL_CHECK(img.c == 1 || img.c == 3, "to_chw_normalised: expected 1 or 3 channels, got ", img.c);
  // One lookup table per channel: 256 floats replace a divide and a subtract per value.
  const int channels = img.c;
  const size_t plane = static_cast<size_t>(img.h) * img.w;
  const uint8_t* src = img.px.data();
  for (int c = 0; c < channels; ++c) {
    float lut[256];
    for (int v = 0; v < 256; ++v) lut[v] = (static_cast<float>(v) / 255.f - mean[c]) / std[c];
    float* dst = out + c * plane;
    for (size_t i = 0; i < plane; ++i) dst[i] = lut[src[channels * i + c]];
  }
}

Erasing Erasing::release() {
  Erasing e;
  e.p = 0.5;
  return e;
}

Erasing Erasing::strong_baseline() {
  Erasing e;
  e.p = 0.5;
  e.fill = {0.485f, 0.456f, 0.406f};
  return e;
}

void random_erase(const Erasing& e, float* chw, int channels, int h, int w, Generator& rng) {
  if (e.p <= 0.0 || rng.uniform() >= e.p) return;
  const double area = static_cast<double>(h) * w;
  for (int a = 0; a < e.attempts; ++a) {
    const double target = (e.area_lo + (e.area_hi - e.area_lo) * rng.uniform()) * area;
    const double aspect = e.min_aspect + (1.0 / e.min_aspect - e.min_aspect) * rng.uniform();
    const int eh = static_cast<int>(std::lround(std::sqrt(target * aspect)));
    const int ew = static_cast<int>(std::lround(std::sqrt(target / aspect)));
    if (ew >= w || eh >= h) continue;
    const int y0 = static_cast<int>(rng.randint(h - eh + 1));
    const int x0 = static_cast<int>(rng.randint(w - ew + 1));
    for (int c = 0; c < channels; ++c)
      for (int y = y0; y < y0 + eh; ++y)
        std::fill(chw + (static_cast<size_t>(c) * h + y) * w + x0,
                  chw + (static_cast<size_t>(c) * h + y) * w + x0 + ew, e.fill[c]);
    return;
  }
}

}  // namespace ptl::data
