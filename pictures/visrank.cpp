#include "pictures/visrank.h"

#include <cstdio>
#include <filesystem>

#include "base/error.h"
#include "data/image_decode.h"
#include "pictures/canvas.h"

namespace ptl {

namespace {
constexpr int kBorder = 5, kGap = 10, kQueryGap = 90, kLabel = 24;  // pixels
const Rgb kGreen{0, 200, 0}, kRed{220, 0, 0}, kWhite{255, 255, 255}, kBlack{0, 0, 0};

void draw_image(Canvas& cv, const std::string& path, int x, int y, const VisrankOptions& opt) {
  const data::Image im = data::load_image(path);
  cv.blit(im.px.data(), im.w, im.h, im.c, x, y, opt.cell_w, opt.cell_h);
}
}  // namespace

std::vector<std::string> write_ranked_results(
    const DistanceSource& dist, const ReidIds& query, const ReidIds& gallery,
    const std::vector<std::string>& q_images, const std::vector<std::string>& g_images,
    const std::vector<int64_t>& queries, const std::string& out_dir, const VisrankOptions& opt) {
  const int64_t Q = dist.rows(), G = dist.cols();
  PTL_CHECK(int64_t(q_images.size()) == Q, "visrank: ", q_images.size(), " query image paths for ",
            Q, " queries");
  PTL_CHECK(int64_t(g_images.size()) == G, "visrank: ", g_images.size(),
            " gallery image paths for ", G, " gallery images");
  PTL_CHECK(opt.topk > 0, "visrank: --topk must be at least 1, got ", opt.topk);
  PTL_CHECK(opt.cell_w > 2 * kBorder && opt.cell_h > 2 * kBorder,
            "visrank: --width and --height must exceed ", 2 * kBorder,
            " pixels (the borders), got ", opt.cell_w, "x", opt.cell_h);
  std::filesystem::create_directories(out_dir);
  std::vector<float> row(G);
  std::vector<std::string> written;
  for (int64_t q : queries) {
    PTL_CHECK(q >= 0 && q < Q, "visrank: query index ", q, " is outside [0, ", Q, ")");
    dist.fill_rows(q, q + 1, row.data());
    const std::vector<int64_t> top =
        top_ranked(row.data(), G, query.pids[q], query.camids[q], gallery, opt.topk);
    const int W = opt.cell_w + kQueryGap + int(top.size()) * (opt.cell_w + kGap);
    Canvas cv(W, opt.cell_h + kLabel, kWhite);
    draw_image(cv, q_images[q], 0, 0, opt);
    cv.text(opt.cell_w / 2 - Canvas::text_width("QUERY", 2) / 2, opt.cell_h + 5, "QUERY", 2,
            kBlack);
    for (size_t k = 0; k < top.size(); ++k) {
      const int x = opt.cell_w + kQueryGap + int(k) * (opt.cell_w + kGap);
      const bool match = gallery.pids[top[k]] == query.pids[q];
      draw_image(cv, g_images[top[k]], x, 0, opt);
      cv.frame(x, 0, opt.cell_w, opt.cell_h, kBorder, match ? kGreen : kRed);
      const std::string label = std::to_string(k + 1);
      cv.text(x + opt.cell_w / 2 - Canvas::text_width(label, 2) / 2, opt.cell_h + 5, label, 2,
              kBlack);
    }
    char name[32];
    std::snprintf(name, sizeof name, "%06lld_", (long long)q);
    const std::string out = (std::filesystem::path(out_dir) /
                             (name + std::filesystem::path(q_images[q]).stem().string() + ".png"))
                                .string();
    cv.save_png(out);
    written.push_back(out);
  }
  return written;
}

}  // namespace ptl
