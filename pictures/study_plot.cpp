#include "pictures/study_plot.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "base/text.h"
#include "pictures/canvas.h"
#include "pictures/ticks.h"

namespace ptl {

void write_study_plot(const std::string& path, const StudySpec& spec,
                      const std::vector<MetricReport>& reports) {
  PTL_CHECK(!reports.empty() && spec.arms.size() >= 2,
            "study plot: needs a report with at least two arms");
  const int rows = static_cast<int>(spec.arms.size()) - 1, row_h = 60;
  const int W = 900, left = 260, right = 30, top = 60, bottom = 60;
  const int panel_h = top + rows * row_h + bottom, H = panel_h * static_cast<int>(reports.size());
  const int pw = W - left - right;
  const Rgb black{0, 0, 0}, grid{220, 220, 220}, blue{31, 119, 180}, grey{120, 120, 120};
  Canvas cv(W, H, {255, 255, 255});
  for (size_t r = 0; r < reports.size(); ++r) {
    const MetricReport& m = reports[r];
    const int y0 = static_cast<int>(r) * panel_h;
    double lo = 0, hi = 0;  // the axis always shows zero
    for (size_t a = 0; a < m.paired.size(); ++a) {
      const PairedStats& p = m.paired[a];
      lo = std::min({lo, p.t_lo, p.boot_lo});
      hi = std::max({hi, p.t_hi, p.boot_hi});
      for (size_t s = 0; s < m.values[a + 1].size(); ++s) {
        const double d = m.values[a + 1][s] - m.values[0][s];
        lo = std::min(lo, d);
        hi = std::max(hi, d);
      }
    }
    const Ticks t = nice_ticks(lo, hi, 7);
    auto px = [&](double v) {
      return left + static_cast<int>(std::lround((v - t.lo) / (t.hi - t.lo) * pw));
    };
    const int axis_y = y0 + top + rows * row_h;
    for (size_t i = 0; i < t.values.size(); ++i) {
      cv.line(px(t.values[i]), y0 + top, px(t.values[i]), axis_y, 1, grid);
      cv.line(px(t.values[i]), axis_y, px(t.values[i]), axis_y + 5, 1, black);
      cv.text(px(t.values[i]) - Canvas::text_width(t.labels[i], 2) / 2, axis_y + 10, t.labels[i], 2,
              black);
    }
    cv.line(px(0), y0 + top, px(0), axis_y, 2, grey);
    cv.line(left, axis_y, left + pw, axis_y, 2, black);
    const std::string title = m.metric + " minus " + spec.arms[0].name + " (percentage points), " +
                              count_of(int64_t(spec.seeds.size()), "seed");
    cv.text(8, y0 + 15, title, 2, black);
    for (int a = 0; a < rows; ++a) {
      const PairedStats& p = m.paired[static_cast<size_t>(a)];
      const int cy = y0 + top + a * row_h + row_h / 2;
      cv.text(8, cy - 7, spec.arms[static_cast<size_t>(a) + 1].name, 2, black);
      cv.line(px(p.t_lo), cy + 12, px(p.t_hi), cy + 12, 1, black);
      cv.fill_rect(px(p.boot_lo), cy + 8, std::max(2, px(p.boot_hi) - px(p.boot_lo)), 9, blue);
      cv.fill_rect(px(p.mean) - 2, cy + 4, 5, 17, black);
      for (size_t s = 0; s < m.values[static_cast<size_t>(a) + 1].size(); ++s) {
        const double d = m.values[static_cast<size_t>(a) + 1][s] - m.values[0][s];
        cv.fill_rect(px(d) - 3, cy - 12, 7, 7, grey);
      }
    }
  }
  cv.text(8, H - 22, "dots: seeds   bar: bootstrap 95%   line: t 95%   tick: mean", 2, grey);
  cv.save_png(path);
}

}  // namespace ptl
