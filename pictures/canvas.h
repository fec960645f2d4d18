// A small RGB raster for the pictures ptl writes (ranked results, CMC plots): rectangles,
// lines, resized image blits and a built-in 5x7 bitmap font (digits, A-Z, a-z, a few symbols;
// anything else is left blank), so no plotting library is needed.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ptl {

struct Rgb {
  uint8_t r, g, b;
};

class Canvas {
 public:
  Canvas(int w, int h, Rgb background);
  int width() const { return w_; }
  int height() const { return h_; }
  const uint8_t* pixels() const { return px_.data(); }  // (h, w, 3), top row first

  void set(int x, int y, Rgb c);  // ignores points outside
  void fill_rect(int x, int y, int w, int h, Rgb c);
  void frame(int x, int y, int w, int h, int thickness, Rgb c);  // border drawn inside the box
  void line(int x0, int y0, int x1, int y1, int thickness, Rgb c);
  // Text with its top-left corner at (x, y); each font pixel is scale x scale. A line is 7 rows
  // high, and the descenders of g, p, q and y reach 2 rows below it.
  void text(int x, int y, const std::string& s, int scale, Rgb c);
  static int text_width(const std::string& s, int scale) { return int(s.size()) * 6 * scale; }
  // The 7 rows of the glyph drawn for `c` (bit 4 the leftmost column; g, p, q and y are drawn 2
  // rows lower); nullptr: drawn blank.
  static const uint8_t* glyph_rows(char c);
  // Nearest-neighbour resize of an 8-bit image (channels 1, 3 or 4) into the box.
  void blit(const uint8_t* src, int sw, int sh, int channels, int x, int y, int w, int h);
  void save_png(const std::string& path) const;

 private:
  int w_, h_;
  std::vector<uint8_t> px_;
};

}  // namespace ptl
