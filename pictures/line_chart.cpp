#include "pictures/line_chart.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/error.h"
#include "pictures/canvas.h"
#include "pictures/ticks.h"

namespace ptl {

namespace {
const Rgb kBlack{0, 0, 0}, kGrid{225, 225, 225};
const Rgb kColors[] = {
    {31, 119, 180}, {214, 39, 40}, {44, 160, 44}, {255, 127, 14}, {148, 103, 189}};

// The legend: a row of colour keys and names above the plot area (wrapping to more rows when
// it is wider), so no line crosses it. Returns the rows' height.
int draw_legend(Canvas& cv, const std::vector<Series>& series, int left, int top, int width) {
  int x = left, y = top;
  for (size_t k = 0; k < series.size(); ++k) {
    const int w = 22 + Canvas::text_width(series[k].name, 2) + 24;
    if (x > left && x + w > left + width) {
      x = left;
      y += 22;
    }
    cv.fill_rect(x, y, 16, 12, kColors[k % 5]);
    cv.text(x + 22, y, series[k].name, 2, kBlack);
    x += w;
  }
  return series.empty() ? 0 : y - top + 22;
}

void draw_panel(Canvas& cv, const Panel& p, int x0, int y0, int w, int h) {
  const int left = x0 + 70, pw = w - 100;
  cv.text(left, y0 + 15, p.title, 2, kBlack);
  const int top = y0 + 45 + draw_legend(cv, p.series, left, y0 + 40, pw), ph = y0 + h - 70 - top;
  double xmin = std::numeric_limits<double>::max(), xmax = -xmin, ymin = xmin, ymax = -xmin;
  for (const Series& s : p.series)
    for (size_t i = 0; i < s.x.size(); ++i) {
      xmin = std::min(xmin, s.x[i]);
      xmax = std::max(xmax, s.x[i]);
      ymin = std::min(ymin, s.y[i]);
      ymax = std::max(ymax, s.y[i]);
    }
  if (xmin > xmax) xmin = 0, xmax = 1, ymin = 0, ymax = 1;  // no data: empty axes
  const Ticks xt = nice_ticks(xmin, xmax, 7, p.integer_x), yt = nice_ticks(ymin, ymax, 6);
  auto px = [&](double v) {
    return left + static_cast<int>(std::lround((v - xt.lo) / (xt.hi - xt.lo) * pw));
  };
  auto py = [&](double v) {
    return top + ph - static_cast<int>(std::lround((v - yt.lo) / (yt.hi - yt.lo) * ph));
  };
  for (size_t i = 0; i < yt.values.size(); ++i) {
    cv.line(left, py(yt.values[i]), left + pw, py(yt.values[i]), 1, kGrid);
    cv.text(left - 8 - Canvas::text_width(yt.labels[i], 2), py(yt.values[i]) - 7, yt.labels[i], 2,
            kBlack);
  }
  for (size_t i = 0; i < xt.values.size(); ++i) {
    cv.line(px(xt.values[i]), top + ph, px(xt.values[i]), top + ph + 5, 1, kBlack);
    cv.text(px(xt.values[i]) - Canvas::text_width(xt.labels[i], 2) / 2, top + ph + 10, xt.labels[i],
            2, kBlack);
  }
  cv.line(left, top, left, top + ph, 2, kBlack);
  cv.line(left, top + ph, left + pw, top + ph, 2, kBlack);
  for (size_t k = 0; k < p.series.size(); ++k) {
    const Series& s = p.series[k];
    const Rgb c = kColors[k % 5];
    for (size_t i = 0; i + 1 < s.x.size(); ++i)
      cv.line(px(s.x[i]), py(s.y[i]), px(s.x[i + 1]), py(s.y[i + 1]), 3, c);
    for (size_t i = 0; i < s.x.size(); ++i) cv.fill_rect(px(s.x[i]) - 3, py(s.y[i]) - 3, 7, 7, c);
  }
  cv.text(left + pw / 2 - Canvas::text_width(p.x_label, 2) / 2, top + ph + 35, p.x_label, 2,
          kBlack);
}
}  // namespace

void write_line_chart(const std::string& path, const std::vector<Panel>& panels) {
  PTL_CHECK(!panels.empty(), "write_line_chart: no panel");
  const int w = 640, h = 480;
  Canvas cv(w * static_cast<int>(panels.size()), h, {255, 255, 255});
  for (size_t i = 0; i < panels.size(); ++i)
    draw_panel(cv, panels[i], w * static_cast<int>(i), 0, w, h);
  cv.save_png(path);
}

}  // namespace ptl
