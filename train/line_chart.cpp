#include "train/line_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "engine/error.h"
#include "train/canvas.h"

namespace ptl {

namespace {
const Rgb kBlack{0, 0, 0}, kGrid{225, 225, 225};
const Rgb kColors[] = {{31, 119, 180}, {214, 39, 40}, {44, 160, 44}, {255, 127, 14}, {148, 103, 189}};

std::string tick(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, std::abs(v) >= 100 || v == std::floor(v) ? "%.0f" : "%.2g", v);
  return buf;
}

void draw_panel(Canvas& cv, const Panel& p, int x0, int y0, int w, int h) {
  const int left = x0 + 70, top = y0 + 50, pw = w - 100, ph = h - 120;
  double xmin = std::numeric_limits<double>::max(), xmax = -xmin, ymin = xmin, ymax = -xmin;
  for (const Series& s : p.series)
    for (size_t i = 0; i < s.x.size(); ++i) {
      xmin = std::min(xmin, s.x[i]);
      xmax = std::max(xmax, s.x[i]);
      ymin = std::min(ymin, s.y[i]);
      ymax = std::max(ymax, s.y[i]);
    }
  if (xmin > xmax) xmin = 0, xmax = 1, ymin = 0, ymax = 1;  // no data: empty axes
  if (xmax == xmin) xmax = xmin + 1;
  if (ymax == ymin) ymax = ymin + 1;
  const double pad = 0.05 * (ymax - ymin);
  ymin -= pad;
  ymax += pad;
  auto px = [&](double v) { return left + static_cast<int>(std::lround((v - xmin) / (xmax - xmin) * pw)); };
  auto py = [&](double v) { return top + ph - static_cast<int>(std::lround((v - ymin) / (ymax - ymin) * ph)); };
  for (int i = 0; i <= 4; ++i) {
    const double yv = ymin + (ymax - ymin) * i / 4, xv = xmin + (xmax - xmin) * i / 4;
    cv.line(left, py(yv), left + pw, py(yv), 1, kGrid);
    cv.text(left - 8 - Canvas::text_width(tick(yv), 2), py(yv) - 7, tick(yv), 2, kBlack);
    cv.line(px(xv), top + ph, px(xv), top + ph + 5, 1, kBlack);
    cv.text(px(xv) - Canvas::text_width(tick(xv), 2) / 2, top + ph + 10, tick(xv), 2, kBlack);
  }
  cv.line(left, top, left, top + ph, 2, kBlack);
  cv.line(left, top + ph, left + pw, top + ph, 2, kBlack);
  for (size_t k = 0; k < p.series.size(); ++k) {
    const Series& s = p.series[k];
    const Rgb c = kColors[k % 5];
    for (size_t i = 0; i + 1 < s.x.size(); ++i) cv.line(px(s.x[i]), py(s.y[i]), px(s.x[i + 1]), py(s.y[i + 1]), 3, c);
    for (size_t i = 0; i < s.x.size(); ++i) cv.fill_rect(px(s.x[i]) - 3, py(s.y[i]) - 3, 7, 7, c);
    cv.fill_rect(left + 10, top + 10 + 22 * static_cast<int>(k), 16, 12, c);
    cv.text(left + 32, top + 10 + 22 * static_cast<int>(k), s.name, 2, kBlack);
  }
  cv.text(left, y0 + 15, p.title, 2, kBlack);
  cv.text(left + pw / 2 - Canvas::text_width(p.x_label, 2) / 2, top + ph + 35, p.x_label, 2, kBlack);
}
}  // namespace

void write_line_chart(const std::string& path, const std::vector<Panel>& panels) {
  PTL_CHECK(!panels.empty(), "write_line_chart: no panel");
  const int w = 640, h = 480;
  Canvas cv(w * static_cast<int>(panels.size()), h, {255, 255, 255});
  for (size_t i = 0; i < panels.size(); ++i) draw_panel(cv, panels[i], w * static_cast<int>(i), 0, w, h);
  cv.save_png(path);
}

}  // namespace ptl
