#include "pictures/cmc_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "base/error.h"
#include "pictures/canvas.h"

namespace ptl {

std::string cmc_plot_title(double mAP, bool reranked) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%smAP %.2f%%", reranked ? "re-ranked  " : "", 100 * mAP);
  return buf;
}

void write_cmc_plot(const std::string& path, const std::vector<double>& cmc,
                    const std::string& title, const std::string& source) {
  PTL_CHECK(!cmc.empty(), "write_cmc_plot: empty CMC curve");
  const int W = 800, H = 530, left = 70, right = 30, top = 80, bottom = 60;
  const int pw = W - left - right, ph = H - top - bottom;
  const Rgb black{0, 0, 0}, grid{220, 220, 220}, blue{31, 119, 180};
  Canvas cv(W, H, {255, 255, 255});
  const int K = int(cmc.size());
  const double y0 =
      std::min(90.0, std::floor(100 * cmc.front() / 10) * 10);  // percent at the bottom
  auto px = [&](double rank) {
    return left + (K == 1 ? pw / 2 : int(std::lround((rank - 1) * pw / (K - 1))));
  };
  auto py = [&](double pct) { return top + ph - int(std::lround((pct - y0) * ph / (100 - y0))); };

  for (double p = y0; p <= 100 + 1e-9; p += 10) {  // horizontal grid and y labels
    cv.line(left, py(p), left + pw, py(p), 1, grid);
    char buf[16];
    std::snprintf(buf, sizeof buf, "%d", int(p));
    cv.text(left - 8 - Canvas::text_width(buf, 2), py(p) - 7, buf, 2, black);
  }
  const int step = K <= 10 ? 1 : K <= 25 ? 5 : K <= 100 ? 10 : 50;  // x ticks
  for (int k = 1; k <= K; k += (k == 1 && step > 1 ? step - 1 : step)) {
    cv.line(px(k), top + ph, px(k), top + ph + 5, 1, black);
    const std::string s = std::to_string(k);
    cv.text(px(k) - Canvas::text_width(s, 2) / 2, top + ph + 10, s, 2, black);
  }
  cv.line(left, top, left, top + ph, 2, black);
  cv.line(left, top + ph, left + pw, top + ph, 2, black);
  for (int k = 1; k < K; ++k)
    cv.line(px(k), py(100 * cmc[k - 1]), px(k + 1), py(100 * cmc[k]), 3, blue);
  for (int k = 1; k <= K; ++k) cv.fill_rect(px(k) - 3, py(100 * cmc[k - 1]) - 3, 7, 7, blue);

  // The source line, its start cut to "..." when it is wider than the picture.
  const size_t fits = size_t((W - 16) / Canvas::text_width("x", 2));
  const std::string head = "features: " + source;
  cv.text(8, 12, head.size() <= fits ? head : "..." + head.substr(head.size() - (fits - 3)), 2,
          black);
  cv.text(left + pw / 2 - Canvas::text_width("rank", 2) / 2, H - 22, "rank", 2, black);
  cv.text(8, top - 30, "CMC (%)", 2, black);
  cv.text(left + pw - Canvas::text_width(title, 2), top - 30, title, 2, black);
  cv.save_png(path);
}

}  // namespace ptl
