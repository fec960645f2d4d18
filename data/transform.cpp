#include "data/transform.h"

#include "base/error.h"

namespace ptl::data {

Transform Transform::eval(int h, int w, Interp interp) {
  Transform t;
  t.height = h;
  t.width = w;
  t.interp = interp;
  return t;
}

Transform Transform::ptl_train(int h, int w) {
  Transform t = eval(h, w, Interp::Bicubic);
  t.flip_p = 0.5;
  t.erasing = Erasing::release();
  return t;
}

Transform Transform::strong_baseline_train(int h, int w) {
  Transform t = eval(h, w, Interp::Bilinear);
  t.flip_p = 0.5;
  t.pad = 10;
  t.erasing = Erasing::strong_baseline();
  return t;
}

Transform& Transform::grey() {
  channels = 1;
  mean = {0.449f, 0.449f, 0.449f};
  std = {0.226f, 0.226f, 0.226f};
  return *this;
}

void Transform::apply(const Image& img, Generator& rng, float* out) const {
  PTL_CHECK(height > 0 && width > 0, "transform: bad output size ", height, "x", width);
  Image x = resize(convert_channels(img, channels), height, width, interp);
  if (flip_p > 0.0 && rng.uniform() < flip_p) hflip(x);
  pad_random_crop(x, pad, rng);
  to_chw_normalised(x, mean, std, out);
  random_erase(erasing, out, channels, height, width, rng);
}

}  // namespace ptl::data
