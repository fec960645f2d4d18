// Reading text back off a picture: whether the pixels at (x, y) are exactly `s` drawn in black
// at `scale` on white by Canvas::text (the font's pixels black, the cells between them white).
#pragma once
#include <string>

#include "data/image.h"
#include "pictures/canvas.h"

namespace ptl::test {

inline bool shows_text(const data::Image& img, int x, int y, const std::string& s, int scale) {
  const int w = Canvas::text_width(s, scale), h = 9 * scale;  // with the descenders
  if (x < 0 || y < 0 || x + w > img.w || y + h > img.h) return false;
  Canvas want(w, h, {255, 255, 255});
  want.text(0, 0, s, scale, {0, 0, 0});
  for (int yy = 0; yy < h; ++yy)
    for (int xx = 0; xx < w; ++xx)
      for (int c = 0; c < 3; ++c)
        if (img.at(y + yy, x + xx)[c] != want.pixels()[(yy * w + xx) * 3 + c]) return false;
  return true;
}

}  // namespace ptl::test
